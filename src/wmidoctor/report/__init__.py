"""Reports: renderers of a diagnosis (findings plus metadata) as text, JSON or one self-contained HTML page.

They know findings, not WMI: everything they show comes from the Report they are given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the model is imported by whoever builds a report; `diagnose --help` needs only FORMATS
    from wmidoctor.report.model import Report

FORMATS = ("text", "json", "jsonl", "html")


def render(report: Report, fmt: str, colour: bool = False, verbose: bool = False) -> str:
    """The report in `fmt` (text, json, jsonl or html); renderers are imported only when used. `verbose` lists every
    passed and skipped check in text (by default they are collapsed to one line per group)."""
    if fmt == "json":
        from wmidoctor.report.json_report import render_json

        return render_json(report)
    if fmt == "jsonl":
        from wmidoctor.report.jsonl_report import render_jsonl

        return render_jsonl(report)
    if fmt == "html":
        from wmidoctor.report.html import render_html

        return render_html(report)
    if fmt == "text":
        from wmidoctor.report.text import render_text

        return render_text(report, colour=colour, verbose=verbose)
    raise ValueError(f"unknown report format {fmt!r} (formats: {', '.join(FORMATS)})")


__all__ = ["FORMATS", "render"]
