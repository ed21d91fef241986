"""The report as text for a terminal or a ticket: a verdict line per check, details under the failing ones."""

from __future__ import annotations

import textwrap

from wmidoctor.findings import Finding
from wmidoctor.report.model import Report

_LABEL = {"fail": "FAIL", "warn": "WARN", "pass": "PASS", "skipped": "SKIP", "info": "INFO"}
_COLOUR = {"fail": "31;1", "warn": "33;1", "pass": "32", "skipped": "2", "info": "36"}
_WIDTH = 100


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH, initial_indent=indent, subsequent_indent=indent + "  ") or [indent]


def _details(f: Finding) -> list[str]:
    pad = " " * 7
    lines = _wrap(f.summary, pad)
    if f.evidence:
        lines.append(f"{pad}Evidence:")
        for e in f.evidence:
            lines += _wrap(f"- {e.source}" + (f": {e.detail}" if e.detail else ""), pad + "  ")
    if f.causes:
        lines.append(f"{pad}Likely causes (most likely first):")
        for i, cause in enumerate(f.causes, 1):
            lines += _wrap(f"{i}. {cause}", pad + "  ")
    if f.fixes:
        lines.append(f"{pad}Fixes (least invasive first):")
        for i, fix in enumerate(f.fixes, 1):
            lines += _wrap(f"{i}. {fix.step} [risk: {fix.risk}]", pad + "  ")
            if fix.command:
                lines.append(f"{pad}     > {fix.command}")
            if fix.undo:
                lines += _wrap(f"undo: {fix.undo}", pad + "     ")
    if f.codes:
        lines.append(f"{pad}Codes: {', '.join(f.codes)} (wmidoctor explain CODE)")
    return lines


def verdict_line(f: Finding, colour: bool = False) -> str:
    label = _paint(f"[{_LABEL.get(f.status, f.status.upper())}]", _COLOUR.get(f.status, "0"), colour)
    severity = f.severity if f.status in ("fail", "warn") else ""
    # A title states what a healthy host looks like; on a problem say it does not hold.
    title = f"not met: {f.title}" if f.status in ("fail", "warn") else f.title
    line = f"{label} {severity:<8} {f.check:<36} {title}"
    if f.status == "skipped":
        line += f" -- skipped: {f.summary}"
    return line


def render_text(report: Report, colour: bool = False) -> str:
    counts = report.counts
    head = _paint(f"Verdict: {report.verdict}", "31;1" if report.problems else "32;1", colour)
    lines = [f"wmidoctor {report.tool_version} diagnosis of {report.target or 'unknown host'} "
             f"({report.source}) at {report.generated_at}" + (" [quick]" if report.quick else ""),
             head,
             "Checks: " + ", ".join(f"{n} {status}" for status, n in counts.items() if n), ""]
    for f in report.findings:
        lines.append(verdict_line(f, colour))
        if f.status in ("fail", "warn"):
            lines += _details(f)
            lines.append("")
        elif f.status == "info" and (f.evidence or f.fixes):
            lines += _wrap(f.summary, " " * 7)
    if report.code_tally:
        lines += ["", "Error codes seen (tally):"]
        for c in report.code_tally:
            lines.append(f"  {c.code}  {c.count:>7}  {c.symbol or '?':<34} {c.meaning}"
                         + (f"  [{c.seen_in}]" if c.seen_in else ""))
    missing = report.not_collected
    if missing:
        lines += ["", "Not collected (checks that need it were skipped, not passed):"]
        for s in missing:
            lines.append(f"  {s['section']:<14} {s['status']}" + (f": {s['reason']}" if s.get("reason") else ""))
    slowest = sorted(report.timings, key=lambda t: -t.ms)[:3]
    lines += ["", f"Checks ran in {report.total_ms:.0f} ms; slowest: "
              + ", ".join(f"{t.check} {t.ms:.1f} ms" for t in slowest)]
    return "\n".join(lines) + "\n"
