"""The report as text for a terminal or a ticket: the host, the verdict, problems first with their details;
passes and skips collapsed unless asked for in full."""

from __future__ import annotations

import textwrap
from dataclasses import replace

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


def _problems(report: Report, colour: bool) -> list[str]:
    lines = [f"Problems ({len(report.problems)}, most severe first):", ""] if report.problems else []
    for f in report.problems:
        lines += [verdict_line(f, colour), *_details(f), ""]
    return lines


def _notes(report: Report, colour: bool) -> list[str]:
    lines = [f"Notes ({len(report.notes)}):"] if report.notes else []
    for f in report.notes:
        lines.append(verdict_line(f, colour))
        lines += _wrap(f.summary, " " * 7)
    return [*lines, ""] if lines else []


def _passes(report: Report, colour: bool, verbose: bool) -> list[str]:
    groups = report.passes_by_group
    if not groups:
        return []
    total = sum(len(g) for g in groups.values())
    lines = [f"Passed ({total}):"]
    for group, found in groups.items():
        if verbose:
            lines += [verdict_line(f, colour) for f in found]
        else:
            names = ", ".join(f.check.split(".", 1)[1] for f in found)
            lines += _wrap(f"{_paint('[PASS]', _COLOUR['pass'], colour)} {group} ({len(found)}): {names}", "")
    return [*lines, ""]


def _skips(report: Report, colour: bool, verbose: bool) -> list[str]:
    groups = report.skip_groups
    if not groups:
        return []
    total = sum(len(g.checks) for g in groups)
    lines = [f"Skipped for lack of evidence ({total}), by what is missing:"]
    for group in groups:
        lines += _wrap(f"{_paint('[SKIP]', _COLOUR['skipped'], colour)} {group.reason}", "")
        if verbose or len(group.checks) <= 3:
            lines += _wrap(", ".join(group.checks), " " * 7)
        else:
            lines += _wrap(f"{len(group.checks)} checks: {', '.join(group.checks)}", " " * 7)
    return [*lines, ""]


def render_text(report: Report, colour: bool = False, verbose: bool = False) -> str:
    """Problems first (most severe first, with evidence, causes and fixes), then notes, then passes collapsed
    to one line per group and skips grouped by the evidence they miss (`verbose` lists each check)."""
    counts = report.counts
    head = _paint(f"Verdict: {report.verdict}", "31;1" if report.problems else "32;1", colour)
    lines = [
        f"wmidoctor {report.tool_version} diagnosis of {report.target or 'unknown host'} "
        f"({report.source}) at {report.generated_at}" + (" [quick]" if report.quick else ""),
        f"Host: {(report.host if report.host.name else replace(report.host, name=report.target)).line}",
    ]
    if report.host.layout:
        lines.append(f"Evidence layout: {report.host.layout}")
    if report.host.events_from:
        lines.append(f"Event logs read: {report.host.events_from[:19]} .. {report.host.events_until[:19]} UTC")
    lines += [head, "Checks: " + ", ".join(f"{n} {status}" for status, n in counts.items() if n), ""]
    lines += _problems(report, colour) + _notes(report, colour)
    lines += _passes(report, colour, verbose) + _skips(report, colour, verbose)
    if report.code_tally:
        lines += ["Error codes seen (tally):"]
        for c in report.code_tally:
            lines.append(
                f"  {c.code}  {c.count:>7}  {c.symbol or '?':<34} {c.meaning}"
                + (f"  [{c.seen_in}]" if c.seen_in else "")
            )
        lines.append("")
    missing = report.not_collected
    if missing:
        lines += ["Not collected (checks that need it were skipped, not passed):"]
        for s in missing:
            lines.append(f"  {s['section']:<14} {s['status']}" + (f": {s['reason']}" if s.get("reason") else ""))
        lines.append("")
    slowest = sorted(report.timings, key=lambda t: -t.ms)[:3]
    lines += [
        f"Checks ran in {report.total_ms:.0f} ms; slowest: " + ", ".join(f"{t.check} {t.ms:.1f} ms" for t in slowest)
    ]
    return "\n".join(lines) + "\n"
