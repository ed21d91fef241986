"""Every check's whole finding, pinned: status, severity, summary, evidence, causes, fixes, codes and items.

The table tests pin each branch's status and severity; this pins what an administrator reads — the sentence,
the evidence lines, the exact command of every fix and its undo — on the hand-made hosts of the factories (a
healthy host, each check's sick host, the most broken host) and on the project's example bundles. A changed
word anywhere in a finding fails here; when the change is meant, rewrite the snapshots and review their diff:

    WMIDOCTOR_UPDATE_SNAPSHOTS=1 python -m pytest tests/checks/test_finding_snapshots.py

Hand-made evidence, except the example bundles (the project's own, built by tests/sources/make_examples.py):
the real corpus is pinned by tests/verdicts against the expert's reading instead, and is never copied here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from diagnose_factories import SICK, healthy, sick, worst

from snapshots import compare as compare_snapshot
from snapshots import findings_data
from wmidoctor.sources.bundle import load

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).with_name("snapshots")
EXAMPLES = sorted(p.name for p in (ROOT / "examples" / "bundles").iterdir() if p.is_dir())


def compare(name: str, actual: dict) -> None:
    compare_snapshot(SNAPSHOTS / f"{name}.json", actual)


@pytest.fixture(scope="module")
def healthy_findings() -> dict[str, dict]:
    return findings_data(healthy())


def test_healthy_host(healthy_findings):
    compare("healthy", healthy_findings)


def test_most_broken_host():
    compare("worst", findings_data(worst()))


@pytest.mark.parametrize("check_id", sorted(SICK))
def test_sick_host(check_id, healthy_findings):
    """The findings that differ from the healthy host's: the sick check's own, and any it drags along."""
    changed = {check: data for check, data in findings_data(sick(check_id)).items() if data != healthy_findings[check]}
    compare(f"sick-{check_id}", changed)


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_bundle(example, monkeypatch):
    monkeypatch.chdir(ROOT)  # a relative path: messages cut at a length cut at the same place in every checkout
    compare(f"example-{example}", findings_data(load(Path("examples", "bundles", example))))
