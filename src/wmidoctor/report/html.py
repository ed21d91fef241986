"""The report as one self-contained HTML page (inline CSS and script, no network): a verdict banner naming the
host, a navigation list of the problem categories, the problems in full, and passes and skips collapsed."""

from __future__ import annotations

from dataclasses import replace

from wmidoctor.report.model import Report


def _banner(report: Report) -> str:
    severities = {f.severity for f in report.problems}
    if severities & {"critical", "error"}:
        return "bad"
    return "warn" if severities else "good"


def render_html(report: Report) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("wmidoctor.report", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    groups: dict[str, list] = {}
    for f in report.problems:  # most severe first; a category is listed where its worst problem ranks
        groups.setdefault(f.check.split(".", 1)[0], []).append(f)
    host = report.host if report.host.name else replace(report.host, name=report.target)
    return env.get_template("report.html.j2").render(
        report=report, problem_groups=groups, banner=_banner(report), host_name=host.name, host_line=host.line
    )
