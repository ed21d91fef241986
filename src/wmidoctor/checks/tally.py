"""The per-code tally WMIDiag ended with, taken from the evidence: which error codes were seen, how often, where."""

from __future__ import annotations

from collections import Counter

from wmidoctor.checks.events import activity_events, client_failures, field
from wmidoctor.evidence.model import Evidence
from wmidoctor.knowledge.codes import parse_code


def code_tally(ev: Evidence) -> list[tuple[int, int, str]]:
    """(code, count, where seen) for every failure code in the events and probes, most frequent first."""
    counts: Counter[tuple[int, str]] = Counter()
    if ev.events.collected:
        for code, group in client_failures(ev):
            counts[(code, "WMI-Activity 5858")] += group.count
        for group in activity_events(ev, 5857):
            result = parse_code(field(group, "Code", "ResultCode"))
            if result:
                counts[(result, "WMI-Activity 5857")] += group.count
    if ev.connectivity.collected:
        for probe in ev.connectivity.probes:
            if probe.code:
                counts[(probe.code & 0xFFFFFFFF, "probe")] += 1
    return [(code, n, where) for (code, where), n in counts.most_common()]
