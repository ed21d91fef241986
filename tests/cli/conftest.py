"""Helpers for the end-to-end CLI tests: bad inputs made on the fly, a mounted volume made of corpus links."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the helper is imported as tests.corpus_volume

from tests.corpus_volume import link_volume


@pytest.fixture
def bad_inputs(tmp_path: Path) -> dict[str, Path]:
    """Paths a user may pass by mistake: each must end in one error line and exit 2."""
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "unrelated-dir").mkdir()
    (tmp_path / "unrelated-dir" / "notes.txt").write_text("nothing to see\n")
    (tmp_path / "empty.evtx").write_bytes(b"")
    (tmp_path / "garbage.bin").write_bytes(os.urandom(70_000))
    (tmp_path / "not-a-zip.zip").write_text("hello\n")
    return {
        "nonexistent": tmp_path / "no-such-thing",
        "empty folder": tmp_path / "empty-dir",
        "unrelated folder": tmp_path / "unrelated-dir",
        "empty file": tmp_path / "empty.evtx",
        "binary garbage": tmp_path / "garbage.bin",
        "zip that is not a zip": tmp_path / "not-a-zip.zip",
    }


def _assert_one_line_error(result, code: int = 2) -> None:
    assert result.returncode == code, (result.returncode, result.stdout[-500:], result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wmidoctor: error: "), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


@pytest.fixture
def one_line_error():
    """Assert a CompletedProcess ended with exit 2 (or `code`) and exactly one 'wmidoctor: error:' line."""
    return _assert_one_line_error


@pytest.fixture
def mounted_volume(corpus: Path, tmp_path: Path) -> Path:
    """A Windows volume as a forensic mount shows it, made of links to corpus files (nothing copied)."""
    return link_volume(tmp_path / "volume", corpus, software_hive="ntuser_software_partial")
