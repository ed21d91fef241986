"""Capture findings as text or a self-contained HTML page. Works from the findings' data only."""

from __future__ import annotations

from typing import Any

from wmidoctor.remote.model import ProbeResult


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return str(count)


def _users(finding: dict[str, Any]) -> str:
    users = [
        f"{u['domain']}\\{u['user']} ({u['mechanism']})" if u["domain"] else f"{u['user']} ({u['mechanism']})"
        for u in finding["users"]
        if u["user"]
    ]
    stations = sorted({u["workstation"] for u in finding["users"] if u["workstation"]})
    if users:
        text = ", ".join(dict.fromkeys(users))
        if stations:
            text += f" from workstation {', '.join(stations)}"
        if finding["local_account"]:
            text += "; a local account of the target"
        return text
    if any(u["mechanism"] == "NTLM" for u in finding["users"]):
        return "anonymous (NTLM null session)"
    if finding["kerberos_services"]:
        return f"not visible (Kerberos: ticket for {', '.join(finding['kerberos_services'][:2])})"
    return "not visible"


def _target_names(names: dict[str, str]) -> str:
    parts = [names.get("netbios", ""), names.get("dns", "")]
    text = " / ".join(dict.fromkeys(p for p in parts if p))
    if names.get("domain"):
        text += f", domain {names['domain']}"
    if names.get("os_version"):
        text += f", OS version {names['os_version']} (from the NTLM CHALLENGE)"
    return text


def _connection(c: dict[str, Any]) -> str:
    if c["answered"]:
        timing = f"handshake {c['handshake_ms']:g} ms" if c["handshake_ms"] is not None else "handshake not captured"
        state = f"{timing}, {c['ended_by']}"
    elif c["refused"]:
        state = "refused (RST)"
    else:
        state = f"{c['syns']} SYN{'s' if c['syns'] != 1 else ''}, no answer"
    extras = [f"{c[k]} {k.replace('_', ' ')}" for k in ("retransmitted", "out_of_order") if c[k]]
    if c["missing"]:
        extras.append(f"{c['missing']} bytes not captured")
    return f"TCP {c['port']}: {state}" + (f" ({', '.join(extras)})" if extras else "")


def _call(c: dict[str, Any]) -> str:
    text = f"{c['interface']}::{c['method']}"
    if c["outcome"] == "fault":
        text += f" -> fault 0x{c['fault']:08x}"
    elif c["outcome"] == "response":
        text += " -> " + ("sealed" if c["sealed"] else f"0x{c['status']:08x}" if c["status"] is not None else "ok")
    else:
        text += " -> no reply"
    if c["latency_ms"] is not None:
        text += f" in {c['latency_ms']:g} ms"
    if c["detail"]:
        text += f" [{c['detail']}]"
    return text


def _bind(b: dict[str, Any]) -> str:
    auth = f" {b['auth_type']}/{b['auth_level']}" if b["auth_type"] else " unauthenticated"
    result = b["result"] if b["result"] != "bind_nak" else f"bind_nak reason {b['nak_reason']}"
    return f"{b['kind']} {', '.join(b['interfaces'][:2])}{auth} -> {result}"


def _http(h: dict[str, Any]) -> str:
    text = f"{h['request'] or '(request not captured)'} -> {h['status'] if h['status'] is not None else 'no answer'}"
    tokens = " / ".join(t for t in (h["client_token"], h["server_token"]) if t)
    if tokens:
        text += f" [{h['scheme']}: {tokens}]"
    elif h["scheme"]:
        text += f" [{h['scheme']}]"
    if h["encrypted"]:
        text += " (encrypted)"
    return text


def lines_of(finding: dict[str, Any], limit: int = 12) -> list[tuple[str, str]]:
    """(label, value) rows describing one attempt, for both renderers."""
    rows = [("user", _users(finding))]
    if finding["target_names"]:
        rows.append(("target", _target_names(finding["target_names"])))
    if finding["authentication"]:
        levels = f"; levels {', '.join(finding['authentication_levels'])}" if finding["authentication_levels"] else ""
        rows.append(("auth", ", ".join(finding["authentication"]) + levels))
    for answer in finding["dns"][:3]:
        rows.append(("dns", f"{answer['name']} -> {', '.join(answer['addresses'])}"))
    for connection in finding["connections"][:limit]:
        rows.append(("tcp", _connection(connection)))
    for bind in finding["binds"][:limit]:
        rows.append(("bind", _bind(bind)))
    for call in finding["calls"][:limit]:
        rows.append(("call", _call(call)))
    for exchange in finding["http"][:limit]:
        rows.append(("http", _http(exchange)))
    for event in finding["tls"][:limit]:
        side = "client" if event["from_client"] else "server"
        rows.append(("tls", f"{event['kind']} {event['detail']} from the {side}".replace("  ", " ")))
    for fault in finding["faults"][:limit]:
        rows.append(("fault", fault))
    for error in finding["kdc_errors"][:limit]:
        rows.append(("kdc", error))
    shown = {k: len(finding[k]) - limit for k in ("connections", "binds", "calls", "http") if len(finding[k]) > limit}
    if shown or finding["events_not_kept"]:
        more = [f"{n} more {k}" for k, n in shown.items()]
        if finding["events_not_kept"]:
            more.append(f"{finding['events_not_kept']} further events counted, not kept")
        rows.append(("...", ", ".join(more) + " (see --json)"))
    if finding["ended"]:
        rows.append(("ended", finding["ended"]))
    if finding["later_attempts_merged"]:
        rows.append(
            (
                "note",
                f"{finding['later_attempts_merged']} later attempts between the same hosts are "
                "folded into this one (too many to list one by one)",
            )
        )
    return rows


def capture_text(reports: list[dict[str, Any]], results: list[list[ProbeResult]]) -> str:
    from wmidoctor.remote.render import probe_text

    out: list[str] = []
    for report, file_results in zip(reports, results, strict=False):
        duration = f", {report['duration_s']:g} s" if report["duration_s"] is not None else ""
        out.append(
            f"capture {report['file']} ({report['format']}{', gzip' if report['compressed'] else ''}, "
            f"{report['link_type']}, {report['records']} records, {_size(report['bytes'])}{duration})"
        )
        for warning in report["warnings"]:
            out.append(f"  warning: {warning}")
        if not report["attempts"]:
            out.append("  no remote WMI traffic (DCE/RPC or WS-Man) in this capture")
        for finding, result in zip(report["attempts"], file_results, strict=False):
            status = "passed" if finding["passed"] else f"FAILED at {finding['failing_stage']}"
            out.append("")
            out.append(f"{finding['kind']}: {finding['client']} -> {finding['target']}  [{status}]")
            for label, value in lines_of(finding):
                out.append(f"  {label:<7} {value}")
            out.extend("  " + line if line else line for line in probe_text([result]).splitlines()[1:])
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def capture_html(reports: list[dict[str, Any]]) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("wmidoctor.pcap", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("pcap.html.j2").render(reports=reports, rows=lines_of)
