"""CONTRIBUTING.md's example check is real: the block is executed, registers a check, and that check passes,
warns and skips on the evidence that should make it do so (hand-made evidence: a start type is all it reads)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wmidoctor.checks.runner import run_one
from wmidoctor.checks.spec import CHECKS
from wmidoctor.evidence.model import Evidence, Service

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def example_check():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    block = re.search(r"## Adding a check.*?```python\n(.*?)```", text, re.S).group(1)
    exec(compile(block, "CONTRIBUTING.md", "exec"), {})
    try:
        yield CHECKS["example.winmgmt-start"]
    finally:
        del CHECKS["example.winmgmt-start"]


@pytest.mark.parametrize(
    ("start_type", "status", "severity"),
    [("auto", "pass", "warning"), ("demand", "warn", "warning"), (None, "skipped", "info")],
)
def test_the_documented_example_check_runs(example_check, start_type, status, severity):
    ev = Evidence()
    ev.services.services["Winmgmt"] = Service("Winmgmt", start_type=start_type, source="test")
    ev.services.mark_collected("test")
    finding = run_one(example_check, ev).finding
    assert (finding.status, finding.severity) == (status, severity)


def test_the_example_check_is_skipped_when_services_were_not_collected(example_check):
    assert run_one(example_check, Evidence()).finding.status == "skipped"


def test_documents_link_only_inside_the_repository():
    for name in ("README.md", "CONTRIBUTING.md", "docs/ARCHITECTURE.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "../shared/DESIGN.md" not in text, f"{name} points outside the repository"
