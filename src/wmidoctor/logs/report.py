"""The `logs` verb's result: views over an Analysis as plain data (the documented JSON shape).

Schema `wmidoctor.logs/1` - top-level keys, in order:
  schema, window {since, until}, summary {files, records_read, wmi_events, first_seen, last_seen,
  damaged_files, warnings, infos}, attention [{level, topic, text, source}], files [{path, kind,
  records_read, records_skipped, chunks_skipped, unreadable, problems, first_seen, last_seen, counts
  [{channel, provider, event_id, count}]}], failures_by_code [{code, symbol, meaning, count, first_seen,
  last_seen}], operations [{namespace, method, target, count, codes {code: n}, first_seen, last_seen,
  source}], clients [{process_id, process_names, machine, user, count, codes}], providers [{provider,
  host_process, path, code, loads, first_seen, last_seen, source}], provider_failures, quota_kills,
  bindings, dcom, services, winmgmt (lists of group rows), subscriptions (judged subscription chains, the
  records `diagnose` findings carry as items), hourly {"YYYY-MM-DDTHH": n},
  groups [{channel, provider, event_id, kind, key, count, first_seen, last_seen, example, source}].
Lists are ordered by count (descending) then by key, so equal input gives byte-identical output.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from wmidoctor.knowledge.defaults import (
    CANCELLED_CALL_CODES,
    SERVICE_FAILURE_EVENTS,
    WMI_COM_IDS,
    is_benign_client_failure,
)
from wmidoctor.knowledge.subscriptions import DEFAULT_CONSUMER_CLASS, is_windows_default, path_class, path_keys
from wmidoctor.logs.analysis import Analysis, Group
from wmidoctor.logs.chains import attention as chain_attention
from wmidoctor.logs.chains import subscription_rows
from wmidoctor.logs.selection import WINMGMT_SOURCE, WMI_CORE
from wmidoctor.logs.shapes import code_value

SCHEMA = "wmidoctor.logs/1"

WINMGMT_WARNINGS = frozenset({4, 10, 21, 22, 23, 24, 25, 28, 29, 43, 48, 58, 59, 66, 68, 5600, 5601, 5602, 5604,
                              5605, 5606, 5612, 5614, 5616, 5631})
DCOM_WARNINGS = frozenset({10036, 10037, 10038})
TOP_OPERATIONS_PER_NAMESPACE = 10


def describe_code(code: str) -> tuple[str, str]:
    """(symbol, meaning) of a result code from the project's catalogue; empty when it does not know."""
    value = code_value(code)
    if value is None:
        return "", ""
    from wmidoctor.knowledge.codes import lookup

    explanation = lookup(value)
    return explanation.symbol, explanation.meaning


def _order(rows: list[dict[str, Any]], count: str = "count") -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-r[count], repr(sorted((k, str(v)) for k, v in r.items()))))


def _span(rows: list[Group]) -> tuple[str, str]:
    firsts = [g.first_seen for g in rows if g.first_seen]
    return (min(firsts) if firsts else "", max(g.last_seen for g in rows) if firsts else "")


def _row(group: Group, **extra: Any) -> dict[str, Any]:
    return {**extra, "event_id": group.event_id, "kind": group.kind, "fields": group.key, "count": group.count,
            "first_seen": group.first_seen, "last_seen": group.last_seen, "source": group.source}


def _merge(rows: dict[tuple, dict[str, Any]], key: tuple, group: Group, base: dict[str, Any],
           code: str = "") -> None:
    row = rows.setdefault(key, {**base, "count": 0, "codes": Counter(), "first_seen": "", "last_seen": "",
                                "source": group.source})
    row["count"] += group.count
    if code:
        row["codes"][code] += group.count
    if group.first_seen and (not row["first_seen"] or group.first_seen < row["first_seen"]):
        row["first_seen"], row["source"] = group.first_seen, group.source
    row["last_seen"] = max(row["last_seen"], group.last_seen)


def _finish(rows: dict[tuple, dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows.values():
        row["codes"] = dict(sorted(row["codes"].items(), key=lambda kv: (-kv[1], kv[0])))
    return _order(list(rows.values()))


class _Views:
    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.failures = analysis.of_kind("client-failure")
        self.attention: list[dict[str, str]] = []

    def note(self, level: str, topic: str, text: str, source: str = "") -> None:
        self.attention.append({"level": level, "topic": topic, "text": text, "source": source})

    def failures_by_code(self) -> list[dict[str, Any]]:
        codes: dict[str, list[Group]] = {}
        for group in self.failures:
            codes.setdefault(group.key.get("ResultCode", ""), []).append(group)
        rows = []
        for code, groups in codes.items():
            symbol, meaning = describe_code(code)
            first, last = _span(groups)
            count = sum(g.count for g in groups)
            rows.append({"code": code, "symbol": symbol, "meaning": meaning, "count": count,
                         "first_seen": first, "last_seen": last})
            label = f"{code} {symbol}".strip()
            value = code_value(code)
            if value not in CANCELLED_CALL_CODES:
                harmless = value is not None and is_benign_client_failure(
                    value, [(g.key.get("Method", ""), g.count) for g in groups])
                level = "info" if harmless else "warning"
                self.note(level, "client-failure", f"{count} client operation(s) failed with {label}"
                          + (f" ({meaning})" if meaning else ""), min(groups, key=lambda g: g.first_seen).source)
        return _order(rows)

    def operations(self) -> list[dict[str, Any]]:
        rows: dict[tuple, dict[str, Any]] = {}
        for g in self.failures:
            key = (g.key.get("Namespace", "").lower(), g.key.get("Method", ""), g.key.get("Target", ""))
            _merge(rows, key, g, {"namespace": g.key.get("Namespace", ""), "method": key[1], "target": key[2]},
                   g.key.get("ResultCode", ""))
        ordered = _finish(rows)
        per_namespace: Counter[str] = Counter()
        top = []
        for row in ordered:
            per_namespace[row["namespace"].lower()] += 1
            if per_namespace[row["namespace"].lower()] <= TOP_OPERATIONS_PER_NAMESPACE:
                top.append(row)
        return top

    def clients(self) -> list[dict[str, Any]]:
        rows: dict[tuple, dict[str, Any]] = {}
        for g in self.failures:
            pid = g.key.get("ClientProcessId", "")
            key = (pid, g.key.get("ClientMachine", ""), g.key.get("User", ""))
            _merge(rows, key, g, {"process_id": pid, "process_names": self.analysis.names_of(pid),
                                  "machine": key[1], "user": key[2]}, g.key.get("ResultCode", ""))
        return _finish(rows)

    def providers(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        loads, failures = [], []
        for g in self.analysis.of_kind("provider-started"):
            row = {"provider": g.key.get("ProviderName", ""), "host_process": g.key.get("HostProcess", ""),
                   "path": g.key.get("ProviderPath", ""), "code": g.key.get("Code", ""), "loads": g.count,
                   "first_seen": g.first_seen, "last_seen": g.last_seen, "source": g.source}
            loads.append(row)
            if row["code"] not in ("0x0", ""):
                symbol, meaning = describe_code(row["code"])
                failures.append({**row, "symbol": symbol, "meaning": meaning, "count": g.count})
                self.note("warning", "provider-load", f"provider {row['provider']} failed to start with "
                          f"{row['code']} {symbol}".rstrip() + f" ({g.count}x)", g.source)
        for g in self.analysis.of_kind("invalid-provider-query", "undeterminable-provider-query",
                                       "provider-query-too-broad", "provider-query-class-missing",
                                       "provider-query-not-event-class", "core-failure", "service-init-failure",
                                       "mof-not-loaded-at-recovery"):
            failures.append(_row(g, provider=g.key.get("Provider", "")))
        return _order(loads, "loads"), _order(failures)

    def quota_kills(self) -> list[dict[str, Any]]:
        rows = []
        for g in self.analysis.of_kind("quota-kill"):
            pid = g.example.get("ProcessId", "")
            hosted = g.key.get("Providers", "") or ", ".join(sorted(self.analysis.host_providers.get(pid, ())))
            rows.append(_row(g, quota=g.key.get("Quota", ""), maximum=g.key.get("Maximum", ""),
                             process_id=pid, process_names=self.analysis.names_of(pid), providers=hosted))
            self.note("warning", "quota-kill", f"WMI stopped a provider host {g.count}x: quota "
                      f"{g.key.get('Quota', '?')} reached" + (f" (providers: {hosted})" if hosted else ""), g.source)
        return _order(rows)

    def bindings(self) -> list[dict[str, Any]]:
        rows = []
        for g in self.analysis.of_kind("permanent-binding"):
            consumer = g.key.get("CONSUMER", "")
            consumer_class = path_class(consumer)
            default = (consumer_class == DEFAULT_CONSUMER_CLASS
                       and is_windows_default(path_keys(consumer).get(DEFAULT_CONSUMER_CLASS.lower(), ""),
                                              [g.key.get("ESS", "")]))
            rows.append(_row(g, namespace=g.key.get("Namespace", ""), filter=g.key.get("ESS", ""),
                             consumer=consumer, consumer_class=consumer_class, default=default,
                             verdict="default Windows binding (normal)" if default else "possible persistence"))
        for g in self.analysis.of_kind("sysmon-wmi-filter", "sysmon-wmi-consumer", "sysmon-wmi-binding"):
            key = g.key
            consumer = (f"{key.get('Type', '')} \"{key.get('Name', '')}\": {key.get('Destination', '')}"
                        if g.event_id == 20 else key.get("Consumer", ""))
            rows.append(_row(g, namespace=key.get("EventNamespace", ""),
                             filter=key.get("Name", "") if g.event_id == 19 else key.get("Filter", ""),
                             consumer=consumer, consumer_class=key.get("Type", ""), default=False,
                             verdict=f"Sysmon: {key.get('Operation', '').lower()} by {key.get('User', '?')}"))
        for g in self.analysis.of_kind("filter-not-reactivated"):
            rows.append(_row(g, namespace=g.key.get("Namespace", ""), filter=g.key.get("Query", ""), consumer="",
                             consumer_class="", default=False, verdict="event filter could not be reactivated"))
        return _order(rows)

    def dcom(self) -> list[dict[str, Any]]:
        rows = []
        for g in self.analysis.groups.values():
            if not g.kind.startswith("dcom-"):
                continue
            ids = {g.key.get("CLSID", "").upper(), g.key.get("AppID", "").upper(), g.key.get("Server", "").upper()}
            wmi = bool(ids & WMI_COM_IDS.keys())
            account = "\\".join(p for p in (g.key.get("UserDomain", ""), g.key.get("UserName", "")) if p)
            rows.append(_row(g, clsid=g.key.get("CLSID", g.key.get("Server", "")), appid=g.key.get("AppID", ""),
                             account=account, permission=g.key.get("Permission", ""),
                             locality=g.key.get("Locality", ""), wmi_related=wmi))
            if wmi or g.event_id in DCOM_WARNINGS:
                what = "DCOM hardening rejected an activation" if g.event_id in DCOM_WARNINGS else \
                    f"DCOM {g.key.get('Permission', '').lower() or 'activation'} refused for a WMI component"
                self.note("warning", "dcom", f"{what} ({g.event_id}, {g.count}x)"
                          + (f" for {account}" if account else ""), g.source)
        dcom_permissions = [r for r in rows if r["event_id"] == 10016 and not r["wmi_related"]]
        if dcom_permissions:
            self.note("info", "dcom", f"{sum(r['count'] for r in dcom_permissions)} DCOM 10016 permission "
                      "event(s) for non-WMI components (usually harmless by design)")
        return _order(rows)

    def services(self) -> list[dict[str, Any]]:
        rows = []
        for g in self.analysis.of_kind("service"):
            service = g.key.get("Service", "")
            rows.append(_row(g, service=service))
            if g.event_id in SERVICE_FAILURE_EVENTS:
                self.note("warning", "service", f"service {service}: Service Control Manager event {g.event_id}"
                          f" ({g.count}x)", g.source)
        return _order(rows)

    def winmgmt(self) -> list[dict[str, Any]]:
        rows = []
        for g in self.analysis.groups.values():
            if g.provider not in (WMI_CORE, WINMGMT_SOURCE):
                continue
            rows.append(_row(g))
            if g.event_id in WINMGMT_WARNINGS and g.kind != "quota-kill":
                self.note("warning", "winmgmt", f"WMI service event {g.event_id} ({g.kind}, {g.count}x)", g.source)
        local_system = self.analysis.of_kind("localsystem-provider")
        if local_system:
            names = sorted({g.key.get("Provider", "?") for g in local_system})
            self.note("info", "winmgmt", f"{len(names)} provider(s) registered to run as LocalSystem (event 63): "
                      + ", ".join(names), min(local_system, key=lambda g: g.first_seen).source)
        return _order(rows)

    def files(self) -> list[dict[str, Any]]:
        rows = []
        for stats in self.analysis.logs:
            counts = [{"channel": c, "provider": p, "event_id": i, "count": n}
                      for (c, p, i), n in sorted(stats.counts.items(), key=lambda kv: (-kv[1], kv[0]))]
            rows.append({"path": stats.path, "kind": stats.kind, "records_read": stats.records_read,
                         "records_skipped": stats.records_skipped, "chunks_skipped": stats.chunks_skipped,
                         "unreadable": stats.unreadable, "problems": list(stats.problems),
                         "first_seen": stats.first_seen, "last_seen": stats.last_seen, "counts": counts})
            if stats.damaged:
                damage = "unreadable" if stats.unreadable else \
                    f"{stats.chunks_skipped} chunk(s) and {stats.records_skipped} record(s) skipped"
                self.note("warning", "damage", f"{stats.path}: {damage}"
                          + (f" - {stats.problems[0]}" if stats.problems else ""))
        return rows


def build_report(analysis: Analysis, since: str = "", until: str = "") -> dict[str, Any]:
    views = _Views(analysis)
    files = views.files()
    failures_by_code = views.failures_by_code()
    providers, provider_failures = views.providers()
    sections = {
        "failures_by_code": failures_by_code,
        "operations": views.operations(),
        "clients": views.clients(),
        "providers": providers,
        "provider_failures": provider_failures,
        "quota_kills": views.quota_kills(),
        "bindings": views.bindings(),
        "dcom": views.dcom(),
        "services": views.services(),
        "winmgmt": views.winmgmt(),
    }
    subscriptions = subscription_rows(analysis)  # judged as diagnose judges them (checks.security_chains)
    views.attention += chain_attention(subscriptions)
    groups = analysis.ordered_groups()
    firsts = [s.first_seen for s in analysis.logs if s.first_seen]
    attention = sorted(views.attention, key=lambda a: (a["level"] != "warning", a["topic"], a["text"]))
    summary = {
        "files": len(files),
        "records_read": sum(s.records_read for s in analysis.logs),
        "wmi_events": sum(g.count for g in groups),
        "first_seen": min(firsts) if firsts else "",
        "last_seen": max((s.last_seen for s in analysis.logs), default=""),
        "damaged_files": sum(1 for s in analysis.logs if s.damaged),
        "warnings": sum(1 for a in attention if a["level"] == "warning"),
        "infos": sum(1 for a in attention if a["level"] == "info"),
    }
    return {
        "schema": SCHEMA,
        "window": {"since": since, "until": until},
        "summary": summary,
        "attention": attention,
        "files": files,
        **sections,
        "subscriptions": subscriptions,
        "hourly": dict(sorted(analysis.hourly.items())),
        "groups": [{"channel": g.channel, "provider": g.provider, "event_id": g.event_id, "kind": g.kind,
                    "key": g.key, "count": g.count, "first_seen": g.first_seen, "last_seen": g.last_seen,
                    "example": g.example, "source": g.source} for g in groups],
    }
