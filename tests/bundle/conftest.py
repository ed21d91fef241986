"""Fixtures for bundle tests: the sample bundles, and a mounted-volume layout built from the corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bundles"


@pytest.fixture(scope="session")
def examples() -> Path:
    return EXAMPLES


@pytest.fixture
def volume(corpus: Path, tmp_path: Path) -> Path:
    """A Windows volume as a mounted disk image shows it, made of links to real corpus artifacts (odd
    letter case on purpose: lookups must not depend on it)."""
    root = tmp_path / "mnt"
    config = root / "WINDOWS" / "system32" / "Config"
    logs = root / "WINDOWS" / "system32" / "winevt" / "logs"
    wbem = root / "WINDOWS" / "system32" / "WBEM"
    for folder in (config, logs, wbem):
        folder.mkdir(parents=True)
    (config / "SYSTEM").symlink_to(corpus / "registry" / "SYSTEM")
    for log in (corpus / "evtx" / "hosts" / "dfirmuseum-win10-aptsimulator").iterdir():
        (logs / log.name).symlink_to(log)
    (wbem / "Repository").symlink_to(corpus / "repository" / "win10-dfirmuseum-aptsimulator")
    return root
