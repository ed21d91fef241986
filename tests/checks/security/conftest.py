"""Fixtures of the security tests (helpers in security_bundles, a module name no other test folder uses)."""

from __future__ import annotations

import pytest
from security_bundles import link_bundle


@pytest.fixture
def bundle_of(tmp_path, corpus):
    def make(name: str, logs: dict[str, str] | None = None, repository: str = ""):
        return link_bundle(tmp_path / name, corpus, logs, repository)

    return make
