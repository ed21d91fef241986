"""Pick the renderer for a `logs` report format (each imported only when asked for)."""

from __future__ import annotations

from typing import Any


def render(report: dict[str, Any], fmt: str, colour: bool = False) -> str:
    if fmt == "json":
        from wmidoctor.output import dumps_json

        return dumps_json(report)
    if fmt == "csv":
        from wmidoctor.logs.render_csv import render_csv

        return render_csv(report)
    if fmt == "html":
        from wmidoctor.logs.render_html import render_html

        return render_html(report)
    from wmidoctor.logs.render_text import render_text

    return render_text(report, colour)
