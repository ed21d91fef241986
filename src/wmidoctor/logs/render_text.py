"""The `logs` report as readable text: what went wrong first, then the detail views, then damage."""

from __future__ import annotations

from typing import Any

import click

from wmidoctor.logs.chains import render_text as render_chains

MAX_ROWS = 15


def _short(text: str, width: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _day(iso: str) -> str:
    return iso[:16].replace("T", " ") if iso else "?"


def _table(lines: list[str], title: str, rows: list[dict[str, Any]], cells, style) -> None:
    if not rows:
        return
    lines += ["", style(title, bold=True)]
    lines += ["  " + cells(row) for row in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        lines.append(f"  … and {len(rows) - MAX_ROWS} more (see --format json)")


def _codes(codes: dict[str, int]) -> str:
    return ", ".join(f"{c} x{n}" for c, n in codes.items())


def render_text(report: dict[str, Any], colour: bool = False) -> str:
    def style(text: str, **kw: Any) -> str:
        return click.style(text, **kw) if colour else text

    s = report["summary"]
    lines = [
        style("WMI event logs", bold=True) + f": {s['files']} file(s), {s['records_read']:,} records read, "
        f"{s['wmi_events']:,} WMI-related events"
        + (f", {_day(s['first_seen'])} .. {_day(s['last_seen'])} UTC" if s["first_seen"] else "")
    ]
    window = report["window"]
    if window["since"] or window["until"]:
        lines.append(f"time window: {window['since'] or '…'} .. {window['until'] or '…'} UTC")
    problems = [a for a in report["attention"] if a["level"] != "info"]
    infos = [a for a in report["attention"] if a["level"] == "info"]
    lines += ["", style(f"Problems ({len(problems)}, most severe first)", bold=True, fg="red" if problems else "green")]
    lines += [f"  {style('!', fg='red')} {a['level']:<8} {a['topic']}: {_short(a['text'], 140)}" for a in problems] or [
        "  none found"
    ]
    if infos:
        lines += ["", style("Notes", bold=True)] + [f"  - {a['topic']}: {_short(a['text'], 140)}" for a in infos]

    lines += render_chains(report.get("subscriptions", []), style)
    _table(
        lines,
        "Client failures by result code (WMI-Activity 5858)",
        report["failures_by_code"],
        lambda r: f"{r['count']:>6}  {r['code']:<11} {r['symbol']:<28} {_short(r['meaning'], 60)}",
        style,
    )
    _table(
        lines,
        "Top failing operations per namespace",
        report["operations"],
        lambda r: (
            f"{r['count']:>6}  {r['namespace']}  {r['method']}  {_short(r['target'], 60)}  [{_codes(r['codes'])}]"
        ),
        style,
    )
    _table(
        lines,
        "Clients with failures",
        report["clients"],
        lambda r: (
            f"{r['count']:>6}  pid {r['process_id'] or '?'}"
            f" ({'/'.join(r['process_names']) or 'name unknown'})  {r['user']}@{r['machine']}"
            f"  [{_codes(r['codes'])}]"
        ),
        style,
    )
    _table(
        lines,
        "Providers loaded (5857)",
        report["providers"],
        lambda r: (
            f"{r['loads']:>6}  {r['provider']:<32} in {r['host_process']:<14} {r['code']:<10} {_short(r['path'], 60)}"
        ),
        style,
    )
    _table(
        lines,
        "Provider failures",
        report["provider_failures"],
        lambda r: (
            f"{r['count']:>6}  {r.get('provider', '')}  {r.get('code', '')} {r.get('symbol', '')} "
            f"{_short(r.get('fields', r.get('path', '')), 80)}"
        ),
        style,
    )
    _table(
        lines,
        "Quota kills (5612)",
        report["quota_kills"],
        lambda r: (
            f"{r['count']:>6}  {r['quota']} (max {r['maximum']}) pid {r['process_id']}"
            f"  providers: {r['providers'] or 'unknown'}"
        ),
        style,
    )
    _table(
        lines,
        "Permanent event consumers and bindings",
        report["bindings"],
        lambda r: (
            f"{r['count']:>6}  {r['namespace']}  {_short(r['filter'], 40)} -> {_short(r['consumer'], 50)}"
            f"  ({r['verdict']})"
        ),
        style,
    )
    _table(
        lines,
        "DCOM (System log)",
        report["dcom"],
        lambda r: (
            f"{r['count']:>6}  {r['event_id']}  "
            + (f"no {r['locality']} {r['permission']} permission".replace("  ", " ") if r["permission"] else r["kind"])
            + f"  CLSID {r['clsid'] or '-'}"
            + (f"  AppID {r['appid']}" if r["appid"] else "")
            + (f"  for {r['account']}" if r["account"] else "")
            + ("  [WMI]" if r["wmi_related"] else "")
        ),
        style,
    )
    _table(
        lines,
        "Service Control Manager (WMI-related services)",
        report["services"],
        lambda r: (
            f"{r['count']:>6}  {r['event_id']}  {r['service']}  "
            f"{_short(', '.join(v for k, v in r['fields'].items() if k not in ('Service',)), 80)}"
        ),
        style,
    )
    _table(
        lines,
        "WMI service events (Application log)",
        report["winmgmt"],
        lambda r: (
            f"{r['count']:>6}  {r['event_id']:<5} {r['kind']:<30} "
            f"{_short(', '.join(f'{k}={v}' for k, v in r['fields'].items()), 70)}"
        ),
        style,
    )
    hourly = report["hourly"]
    if hourly:
        busiest = sorted(hourly.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        lines += [
            "",
            style("Activity", bold=True),
            f"  {len(hourly)} hour(s) with WMI-related events; busiest: "
            + ", ".join(f"{h.replace('T', ' ')}h ({n})" for h, n in busiest),
        ]
    lines += ["", style("Files", bold=True)]
    for f in report["files"]:
        state = (
            "unreadable"
            if f["unreadable"]
            else (
                f"{f['chunks_skipped']} chunk(s), {f['records_skipped']} record(s) skipped"
                if f["chunks_skipped"] or f["records_skipped"]
                else "intact"
            )
        )
        lines.append(f"  {f['records_read']:>8,}  {f['path']}  [{state}]")
        lines += [f"            {_short(p, 120)}" for p in f["problems"][:3]]
    return "\n".join(lines)
