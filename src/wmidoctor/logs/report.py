"""The `logs` verb's result: views over an Analysis as plain data (the documented JSON shape).

Schema `wmidoctor.logs/2` - top-level keys, in order:
  schema, window {since, until}, summary {files, records_read, wmi_events, first_seen, last_seen, damaged_files,
  problems, infos}, attention [{level, topic, text, source}: one line per finding of the event checks diagnose runs,
  topic = check id], findings [the same findings whole], files [{path, kind, records_read, records_skipped,
  chunks_skipped, unreadable, problems, first_seen, last_seen, counts [{channel, provider, event_id, count}]}],
  failures_by_code [{code, symbol, meaning, count, first_seen, last_seen}], operations [{namespace, method, target
  (the class), example (one object path or query), count, codes {code: n}, first_seen, last_seen, source}], clients
  [{process_id, process_names, machine, user, count, codes}], providers [{provider, host_process, path, code, loads,
  first_seen, last_seen, source}], provider_failures, quota_kills, bindings, dcom, services, winmgmt (lists of group
  rows), subscriptions (judged subscription chains, the records `diagnose` findings carry as items), hourly
  {"YYYY-MM-DDTHH": n}, groups [{channel, provider, event_id, kind, key, count, first_seen, last_seen, example,
  source}].
Lists are ordered by count (descending) then by key, so equal input gives byte-identical output.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from wmidoctor.evidence.processes import ProcessLife, image_during
from wmidoctor.findings import Finding
from wmidoctor.knowledge.defaults import (
    WMI_COM_IDS,
)
from wmidoctor.knowledge.events import WINMGMT_SOURCE, WMI_CORE, target_class
from wmidoctor.knowledge.subscriptions import DEFAULT_CONSUMER_CLASS, is_windows_default, path_class, path_keys
from wmidoctor.logs.analysis import Analysis, Group
from wmidoctor.logs.shapes import code_value

SCHEMA = "wmidoctor.logs/2"
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
    return {
        **extra,
        "event_id": group.event_id,
        "kind": group.kind,
        "fields": group.key,
        "count": group.count,
        "first_seen": group.first_seen,
        "last_seen": group.last_seen,
        "source": group.source,
    }


def _merge(rows: dict[tuple, dict[str, Any]], key: tuple, group: Group, base: dict[str, Any], code: str = "") -> None:
    row = rows.setdefault(
        key, {**base, "count": 0, "codes": Counter(), "first_seen": "", "last_seen": "", "source": group.source}
    )
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
        self._lives: list[ProcessLife] | None = None

    def failures_by_code(self) -> list[dict[str, Any]]:
        codes: dict[str, list[Group]] = {}
        for group in self.failures:
            codes.setdefault(group.key.get("ResultCode", ""), []).append(group)
        rows = []
        for code, groups in codes.items():
            symbol, meaning = describe_code(code)
            first, last = _span(groups)
            count = sum(g.count for g in groups)
            rows.append(
                {
                    "code": code,
                    "symbol": symbol,
                    "meaning": meaning,
                    "count": count,
                    "first_seen": first,
                    "last_seen": last,
                }
            )
        return _order(rows)

    def operations(self) -> list[dict[str, Any]]:
        rows: dict[tuple, dict[str, Any]] = {}
        for g in self.failures:
            # by class, not by object path: Group Policy's deletes name one RSOP record per extension GUID
            klass = target_class(g.key.get("Target", ""))
            key = (g.key.get("Namespace", "").lower(), g.key.get("Method", ""), klass or g.key.get("Target", ""))
            _merge(
                rows,
                key,
                g,
                {
                    "namespace": g.key.get("Namespace", ""),
                    "method": key[1],
                    "target": key[2],
                    "example": g.key.get("Target", ""),
                },
                g.key.get("ResultCode", ""),
            )
        ordered = _finish(rows)
        per_namespace: Counter[str] = Counter()
        top = []
        for row in ordered:
            per_namespace[row["namespace"].lower()] += 1
            if per_namespace[row["namespace"].lower()] <= TOP_OPERATIONS_PER_NAMESPACE:
                top.append(row)
        return top

    def _names(self, pid: str, first: str, last: str) -> list[str]:
        """The image that had `pid` while these events happened, when a creation record proves it."""
        if self._lives is None:
            self._lives = self.analysis.lives()
        image = image_during(self._lives, pid, first, last)
        return [image] if image else []

    def clients(self) -> list[dict[str, Any]]:
        rows: dict[tuple, dict[str, Any]] = {}
        for g in self.failures:
            pid = g.key.get("ClientProcessId", "")
            names = self._names(pid, g.first_seen, g.last_seen)  # a reused id is a different client
            key = (pid, tuple(names), g.key.get("ClientMachine", ""), g.key.get("User", ""))
            _merge(
                rows,
                key,
                g,
                {"process_id": pid, "process_names": names, "machine": key[2], "user": key[3]},
                g.key.get("ResultCode", ""),
            )
        return _finish(rows)

    def providers(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        loads, failures = [], []
        for g in self.analysis.of_kind("provider-started"):
            row = {
                "provider": g.key.get("ProviderName", ""),
                "host_process": g.key.get("HostProcess", ""),
                "path": g.key.get("ProviderPath", ""),
                "code": g.key.get("Code", ""),
                "loads": g.count,
                "first_seen": g.first_seen,
                "last_seen": g.last_seen,
                "source": g.source,
            }
            loads.append(row)
            if row["code"] not in ("0x0", ""):
                symbol, meaning = describe_code(str(row["code"]))
                failures.append({**row, "symbol": symbol, "meaning": meaning, "count": g.count})
        for g in self.analysis.of_kind(
            "invalid-provider-query",
            "undeterminable-provider-query",
            "provider-query-too-broad",
            "provider-query-class-missing",
            "provider-query-not-event-class",
            "core-failure",
            "service-init-failure",
            "mof-not-loaded-at-recovery",
        ):
            failures.append(_row(g, provider=g.key.get("Provider", "")))
        return _order(loads, "loads"), _order(failures)

    def quota_kills(self) -> list[dict[str, Any]]:
        rows = []
        for g in self.analysis.of_kind("quota-kill"):
            pid = g.example.get("ProcessId", "")
            hosted = g.key.get("Providers", "") or ", ".join(sorted(self.analysis.host_providers.get(pid, ())))
            rows.append(
                _row(
                    g,
                    quota=g.key.get("Quota", ""),
                    maximum=g.key.get("Maximum", ""),
                    process_id=pid,
                    process_names=self._names(pid, g.first_seen, g.last_seen),
                    providers=hosted,
                )
            )
        return _order(rows)

    def bindings(self) -> list[dict[str, Any]]:
        rows = []
        for g in self.analysis.of_kind("permanent-binding"):
            consumer = g.key.get("CONSUMER", "")
            consumer_class = path_class(consumer)
            default = consumer_class == DEFAULT_CONSUMER_CLASS and is_windows_default(
                path_keys(consumer).get(DEFAULT_CONSUMER_CLASS.lower(), ""), [g.key.get("ESS", "")]
            )
            rows.append(
                _row(
                    g,
                    namespace=g.key.get("Namespace", ""),
                    filter=g.key.get("ESS", ""),
                    consumer=consumer,
                    consumer_class=consumer_class,
                    default=default,
                    verdict="default Windows binding (normal)" if default else "possible persistence",
                )
            )
        for g in self.analysis.of_kind("sysmon-wmi-filter", "sysmon-wmi-consumer", "sysmon-wmi-binding"):
            key = g.key
            consumer = (
                f'{key.get("Type", "")} "{key.get("Name", "")}": {key.get("Destination", "")}'
                if g.event_id == 20
                else key.get("Consumer", "")
            )
            rows.append(
                _row(
                    g,
                    namespace=key.get("EventNamespace", ""),
                    filter=key.get("Name", "") if g.event_id == 19 else key.get("Filter", ""),
                    consumer=consumer,
                    consumer_class=key.get("Type", ""),
                    default=False,
                    verdict=f"Sysmon: {key.get('Operation', '').lower()} by {key.get('User', '?')}",
                )
            )
        for g in self.analysis.of_kind("filter-not-reactivated"):
            rows.append(
                _row(
                    g,
                    namespace=g.key.get("Namespace", ""),
                    filter=g.key.get("Query", ""),
                    consumer="",
                    consumer_class="",
                    default=False,
                    verdict="event filter could not be reactivated",
                )
            )
        return _order(rows)

    def dcom(self) -> list[dict[str, Any]]:
        rows = []
        for g in self.analysis.groups.values():
            if not g.kind.startswith("dcom-"):
                continue
            ids = {g.key.get("CLSID", "").upper(), g.key.get("AppID", "").upper(), g.key.get("Server", "").upper()}
            wmi = bool(ids & WMI_COM_IDS.keys())
            account = "\\".join(p for p in (g.key.get("UserDomain", ""), g.key.get("UserName", "")) if p)
            rows.append(
                _row(
                    g,
                    clsid=g.key.get("CLSID", g.key.get("Server", "")),
                    appid=g.key.get("AppID", ""),
                    account=account,
                    permission=g.key.get("Permission", ""),
                    locality=g.key.get("Locality", ""),
                    wmi_related=wmi,
                )
            )
        return _order(rows)

    def services(self) -> list[dict[str, Any]]:
        rows = []
        for g in self.analysis.of_kind("service"):
            service = g.key.get("Service", "")
            rows.append(_row(g, service=service))
        return _order(rows)

    def winmgmt(self) -> list[dict[str, Any]]:
        rows = []
        for g in self.analysis.groups.values():
            if g.provider not in (WMI_CORE, WINMGMT_SOURCE):
                continue
            rows.append(_row(g))
        return _order(rows)

    def files(self) -> list[dict[str, Any]]:
        rows = []
        for stats in self.analysis.logs:
            counts = [
                {"channel": c, "provider": p, "event_id": i, "count": n}
                for (c, p, i), n in sorted(stats.counts.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            rows.append(
                {
                    "path": stats.path,
                    "kind": stats.kind,
                    "records_read": stats.records_read,
                    "records_skipped": stats.records_skipped,
                    "chunks_skipped": stats.chunks_skipped,
                    "unreadable": stats.unreadable,
                    "problems": list(stats.problems),
                    "first_seen": stats.first_seen,
                    "last_seen": stats.last_seen,
                    "counts": counts,
                }
            )
        return rows


def _attention(finding: Finding) -> dict[str, str]:
    """A finding of the event checks as one line of the report: its level is the finding's severity when it
    is a problem, info otherwise."""
    return {
        "level": finding.severity if finding.is_problem else "info",
        "topic": finding.check,
        "text": finding.summary or finding.title,
        "source": finding.evidence[0].source if finding.evidence else "",
    }


def build_report(analysis: Analysis, findings: list[Finding], since: str = "", until: str = "") -> dict[str, Any]:
    """The report of `logs`: its tables over the analysis, and the findings of the checks `diagnose` runs on the
    same event evidence (`findings`, judged by the caller: one judgement for both verbs)."""
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
    # the chains as the security.subscriptions finding judged them (the records diagnose carries in its items)
    subscriptions = next((f.items for f in findings if f.check == "security.subscriptions"), [])
    groups = analysis.ordered_groups()
    firsts = [s.first_seen for s in analysis.logs if s.first_seen]
    rank = {"critical": 0, "error": 1, "warning": 2, "info": 3}
    shown = [f for f in findings if f.status in ("fail", "warn", "info")]
    attention = sorted((_attention(f) for f in shown), key=lambda a: (rank.get(a["level"], 4), a["topic"]))
    summary = {
        "files": len(files),
        "records_read": sum(s.records_read for s in analysis.logs),
        "wmi_events": sum(g.count for g in groups),
        "first_seen": min(firsts) if firsts else "",
        "last_seen": max((s.last_seen for s in analysis.logs), default=""),
        "damaged_files": sum(1 for s in analysis.logs if s.damaged),
        "problems": sum(1 for f in shown if f.is_problem),
        "infos": sum(1 for a in attention if a["level"] == "info"),
    }
    return {
        "schema": SCHEMA,
        "window": {"since": since, "until": until},
        "summary": summary,
        "attention": attention,
        "findings": [f.to_data() for f in shown],
        "files": files,
        **sections,
        "subscriptions": subscriptions,
        "hourly": dict(sorted(analysis.hourly.items())),
        "groups": [
            {
                "channel": g.channel,
                "provider": g.provider,
                "event_id": g.event_id,
                "kind": g.kind,
                "key": g.key,
                "count": g.count,
                "first_seen": g.first_seen,
                "last_seen": g.last_seen,
                "example": g.example,
                "source": g.source,
            }
            for g in groups
        ],
    }
