"""Render the `trace` report: text for people, JSON for machines, one self-contained HTML file."""

from __future__ import annotations

from typing import Any

from wmidoctor.output import cut_table

CELL_CAP = 90  # a longer cell is cut: the JSON holds it whole


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        from wmidoctor.output import dumps_json

        return dumps_json(report)
    if fmt == "html":
        return render_html(report)
    return render_text(report)


def render_html(report: dict[str, Any]) -> str:
    import jinja2

    from wmidoctor.trace.svg import timeline_svg

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("wmidoctor.trace", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("trace.html.j2").render(
        r=report, svg=jinja2.utils.markupsafe.Markup(timeline_svg(report["timeline"], report["concurrency"]))
    )


def _table(title: str, rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> list[str]:
    if not rows:
        return []
    cells = ([_cell(row.get(field)) for _, field in columns] for row in rows)
    return ["", title, *cut_table([label for label, _ in columns], cells, [CELL_CAP] * len(columns), indent="  ")]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} x{v}" for k, v in value.items())
    return str(value)


def _share(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "share": f"{row['share']:.0%}"} for row in rows]


TALLY = [
    ("count", "count"),
    ("WMI s", "busy_s"),
    ("share", "share"),
    ("p50 ms", "p50_ms"),
    ("p95 ms", "p95_ms"),
    ("max ms", "max_ms"),
    ("failures", "failures"),
]


def _seconds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "busy_s": round(row["busy_ms"] / 1000, 1)} for row in _share(rows)]


def render_text(report: dict[str, Any]) -> str:
    s = report["summary"]
    lines = [
        "WMI-Activity trace",
        f"  {len(report['files'])} file(s), {s['events']} trace event(s)"
        + (
            f", {s['first_seen'][:19].replace('T', ' ')} .. {s['last_seen'][:19].replace('T', ' ')} UTC"
            if s["first_seen"]
            else ""
        ),
        f"  {s['operations']} operation(s): {s['completed']} completed ({s['failed']} failed), "
        f"{s['unfinished']} never finished; {s['busy_s']:g} s of WMI time in {s['span_s']:g} s; "
        f"at most {s['peak_concurrency']} at once",
    ]
    if not s["events"]:
        lines.append(
            "  No WMI-Activity Trace events (ids 1-23) in these files: capture them with "
            "Collect-WmiDoctor.ps1 -TraceSeconds N."
        )
    lines += ["", "Findings"]
    for f in report["findings"]:
        lines.append(f"  [{f['status']}] {f['title']}: {f['summary']}")
        lines += [f"      cause: {c}" for c in f["causes"][:3]]
        lines += [
            f"      fix: {x['step']}" + (f"\n           {x['command']}" if x["command"] else "") for x in f["fixes"][:4]
        ]
    lines += _table(
        "Top consumers of WMI time (client processes)",
        _seconds(report["clients"]),
        [("client", "key"), ("user", "user"), *TALLY],
    )
    lines += _table("Requests (method and class)", _seconds(report["requests"]), [("request", "key"), *TALLY])
    lines += _table("Namespaces", _seconds(report["namespaces"]), [("namespace", "key"), *TALLY])
    lines += _table("Providers (operations they served)", _seconds(report["providers"]), [("provider", "key"), *TALLY])
    lines += _table(
        "Provider loads (provider events)",
        report["provider_loads"],
        [("provider", "provider"), ("host pid", "host_process_id"), ("events", "events"), ("path", "path")],
    )
    lines += _table("Failures by result code", report["failures"], [("code", "code"), ("operations", "count")])
    lines += _table(
        "Slowest operations",
        report["slowest"][:10],
        [("ms", "duration_ms"), ("client", "client"), ("started", "started"), ("operation", "operation")],
    )
    lines += _table(
        "Never finished",
        report["unfinished"],
        [("open ms", "open_ms"), ("client", "client"), ("by design", "open_by_design"), ("operation", "operation")],
    )
    lines += _table(
        "Files",
        report["files"],
        [("kind", "kind"), ("records", "records_read"), ("trace events", "trace_events"), ("path", "path")],
    )
    for file in report["files"]:
        lines += [f"  {file['path']}: {p}" for p in file["problems"]]
    return "\n".join(lines) + "\n"
