"""The report as one self-contained HTML page (inline CSS and script, no network): summary first."""

from __future__ import annotations

from wmidoctor.report.model import Report

_STATUS_ORDER = ("fail", "warn", "info", "skipped", "pass")


def render_html(report: Report) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("wmidoctor.report", "templates"),
                             autoescape=jinja2.select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    ordered = sorted(report.findings, key=lambda f: (_STATUS_ORDER.index(f.status)
                                                       if f.status in _STATUS_ORDER else 9))
    return env.get_template("report.html.j2").render(report=report, findings=ordered)
