"""Facts for reading WMI-Activity traces: the event templates, known costly requests, operations that stay
open by design, and the thresholds the trace checks use (each with its reason)."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from wmidoctor.knowledge import data_text

# One client is "dominant" when it holds at least this share of all WMI operation time ...
DOMINANT_SHARE = 0.5
# ... and the trace shows real load, not a handful of calls: at least this many operations by that client
# or this much WMI time in total. Below both, a big share of a quiet trace says nothing about load.
DOMINANT_MIN_OPERATIONS = 500
DOMINANT_MIN_BUSY_SECONDS = 60.0
# An operation still open this long after it started, when the trace ends, is reported as not finishing:
# ordinary queries return in milliseconds to seconds; minutes point to a provider that hangs or a client
# that never reads its results. (Event queries are exempt: see trace_expected_open.tsv.)
UNFINISHED_AFTER_SECONDS = 120.0
# Completed operations this slow are listed as long-running.
SLOW_OPERATION_SECONDS = 10.0


@dataclass(frozen=True)
class Offender:
    pattern: re.Pattern[str]
    name: str
    why: str
    fix: str
    source: str


@dataclass(frozen=True)
class ExpectedOpen:
    pattern: re.Pattern[str]
    why: str
    source: str


def _rows(name: str) -> list[dict[str, str]]:
    text = data_text(name)
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


@cache
def templates() -> dict[str, Any]:
    """The WMI-Activity event table (knowledge/wmi_activity_trace.json)."""
    text = data_text("wmi_activity_trace.json")
    table: dict[str, Any] = json.loads(text)
    return table


@cache
def roles() -> dict[int, str]:
    """Event id -> its part in an operation's life (start, stop, provider, ...)."""
    return {int(event_id): entry["role"] for event_id, entry in templates()["events"].items()}


@cache
def offenders() -> tuple[Offender, ...]:
    return tuple(
        Offender(re.compile(r["pattern"], re.I), r["name"], r["why"], r["fix"], r["source"])
        for r in _rows("trace_offenders.tsv")
    )


@cache
def expected_open() -> tuple[ExpectedOpen, ...]:
    return tuple(
        ExpectedOpen(re.compile(r["pattern"], re.I), r["why"], r["source"]) for r in _rows("trace_expected_open.tsv")
    )


def offender_for(text: str) -> Offender | None:
    """The known costly request that `text` (a class name or query) is, if any."""
    return next((o for o in offenders() if o.pattern.search(text)), None)


def open_by_design(operation: str) -> ExpectedOpen | None:
    return next((e for e in expected_open() if e.pattern.search(operation)), None)
