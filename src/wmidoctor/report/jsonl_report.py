"""Findings as JSON lines for a SIEM: one finding a line, the same fields in the same order on every line.

Passed and skipped checks are left out (they are not events). Each line carries the report's host, time and
source, the finding's own fields, and `attack` / `indicators` gathered from its items (empty when it has
none), so a SIEM can index technique ids and indicators without walking the items.
"""

from __future__ import annotations

import json
from typing import Any

from wmidoctor.findings import Finding
from wmidoctor.report.model import Report

LINE_SCHEMA = "wmidoctor.finding/1"
LEFT_OUT = ("pass", "skipped")


def _gathered(finding: Finding) -> tuple[list[str], dict[str, list[str]]]:
    attack: list[str] = []
    indicators: dict[str, list[str]] = {}
    for item in finding.items:
        attack += [t for t in item.get("attack", []) if t not in attack]
        for kind, values in (item.get("indicators") or {}).items():
            known = indicators.setdefault(kind, [])
            known += [v for v in values if v not in known]
    return attack, indicators


def _host(report: Report, finding: Finding) -> str:
    """The report's host; when the evidence did not name one, the hosts the finding's items name."""
    if report.target:
        return report.target
    named = [item.get("host", "") for item in finding.items] + [
        h for item in finding.items for h in item.get("hosts", [])
    ]
    return ", ".join(sorted({h for h in named if h}))


def finding_line(report: Report, finding: Finding) -> dict[str, Any]:
    attack, indicators = _gathered(finding)
    return {
        "schema": LINE_SCHEMA,
        "generated_at": report.generated_at,
        "host": _host(report, finding),
        "source": report.source,
        "check": finding.check,
        "status": finding.status,
        "severity": finding.severity,
        "title": finding.title,
        "summary": finding.summary,
        "attack": attack,
        "indicators": indicators,
        "codes": finding.codes,
        "evidence": [e.__dict__ for e in finding.evidence],
        "fixes": [f.__dict__ for f in finding.fixes],
        "references": finding.references,
        "items": finding.items,
    }


def render_jsonl(report: Report) -> str:
    lines = [
        json.dumps(finding_line(report, f), ensure_ascii=False, default=str)
        for f in report.findings
        if f.status not in LEFT_OUT
    ]
    return "\n".join(lines) + ("\n" if lines else "")
