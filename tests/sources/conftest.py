"""Fixtures for bundle tests: the sample bundles, and a mounted-volume layout built from the corpus."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the helper is imported as tests.corpus_volume

from tests.corpus_volume import link_volume

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bundles"


@pytest.fixture(scope="session")
def examples() -> Path:
    return EXAMPLES


@pytest.fixture
def volume(corpus: Path, tmp_path: Path) -> Path:
    """A Windows volume as a mounted disk image shows it, made of links to real corpus artifacts (odd
    letter case on purpose: lookups must not depend on it)."""
    return link_volume(
        tmp_path / "mnt", corpus, system32="WINDOWS/system32", config="Config", logs="winevt/logs", wbem="WBEM"
    )
