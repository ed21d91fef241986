"""docs/checks.md is the catalogue the check registry generates, and lists every check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from snapshots import compare
from wmidoctor.checks import CHECKS
from wmidoctor.checks.catalogue import REGENERATE, as_document, as_text, render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "checks.md"
SNAPSHOT = Path(__file__).with_name("snapshots") / "check-list.json"


def test_docs_checks_md_is_what_the_registry_generates() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(), (
        f"docs/checks.md is stale: regenerate it with `{REGENERATE}` and commit it"
    )


def test_the_catalogue_names_every_check_with_its_severity_and_needs() -> None:
    text = render()
    for spec in CHECKS.values():
        (row,) = [line for line in text.splitlines() if line.startswith(f"| `{spec.id}` |")]
        assert f"| {spec.severity} |" in row
        assert all(f"`{name}`" in row for name in (*spec.needs, *spec.needs_any))


def test_the_regenerate_command_prints_the_catalogue() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wmidoctor.checks.catalogue"], capture_output=True, text=True, check=True
    )
    assert done.stdout == render()


def test_the_check_list_is_pinned_whole() -> None:
    """`diagnose --list-checks` text and JSON, in-process (the CLI tests run a subprocess the mutation run cannot
    reach)."""
    compare(SNAPSHOT, {"text": as_text().splitlines(), "document": as_document()})
