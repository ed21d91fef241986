"""The closing per-code tally (`code_tally`, the table WMIDiag ended with), judged exactly.

Hand-made evidence: the corpus holds no probe results, and the real logs' tallies are pinned with the corpus
findings (tests/verdicts/test_finding_digests.py)."""

from __future__ import annotations

from diagnose_factories import group, healthy

from wmidoctor.checks.tally import code_tally
from wmidoctor.evidence.model import NOT_COLLECTED, Probe, Stage

ACTIVITY = "Microsoft-Windows-WMI-Activity"


def _evidence():
    ev = healthy()
    ev.events.groups = [
        group(ACTIVITY, 5858, 4, ResultCode="0x80041010"),
        group(ACTIVITY, 5858, 7, ResultCode="0x80041003"),
        group(ACTIVITY, 5858, 2, ResultCode="0x80041010"),
        group(ACTIVITY, 5858, 9, ResultCode="not a code"),
        group(ACTIVITY, 5857, 3, ResultCode="0x80041013"),
        group(ACTIVITY, 5857, 5, Code="0x80041010"),
        group(ACTIVITY, 5857, 50, ResultCode="0x0"),
        group("Microsoft-Windows-WMI", 5858, 40, ResultCode="0x80041001"),
    ]
    failed = Stage("tcp135", "failed", code=0x800706BA)
    ev.connectivity.probes = [
        Probe("A", "dcom", [failed], failing_stage="tcp135", code=-2147023174),  # 0x800706BA as a signed int
        Probe("B", "dcom", [failed], failing_stage="tcp135", code=0x800706BA),
        Probe("C", "dcom", [Stage("tcp135", "ok")]),
    ]
    return ev


def test_codes_are_counted_per_place_most_frequent_first() -> None:
    assert code_tally(_evidence()) == [
        (0x80041003, 7, "WMI-Activity 5858"),
        (0x80041010, 6, "WMI-Activity 5858"),
        (0x80041010, 5, "WMI-Activity 5857"),
        (0x80041013, 3, "WMI-Activity 5857"),
        (0x800706BA, 2, "probe"),
    ]


def test_sections_not_collected_add_nothing() -> None:
    ev = _evidence()
    ev.events.status = NOT_COLLECTED
    assert code_tally(ev) == [(0x800706BA, 2, "probe")]
    ev.connectivity.status = NOT_COLLECTED
    assert code_tally(ev) == []


def test_a_host_without_failures_has_an_empty_tally() -> None:
    ev = healthy()
    ev.events.groups, ev.connectivity.probes = [], []
    assert code_tally(ev) == []
