"""The `logs` report as one self-contained HTML file (inline CSS, no scripts, nothing fetched)."""

from __future__ import annotations

from typing import Any


def render_html(report: dict[str, Any]) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("wmidoctor.logs", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    hourly = report["hourly"]
    peak = max(hourly.values(), default=0)
    return env.get_template("logs.html.j2").render(r=report, peak=peak)
