"""The event logs folded into the diagnosis: failing client operations by result code, provider load failures."""

from __future__ import annotations

import re
from collections import defaultdict

from wmidoctor.checks.fixes import advice
from wmidoctor.checks.registry import Verdict, check, ref
from wmidoctor.evidence.model import EventGroup, Evidence
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.codes import parse_code, short_meaning
from wmidoctor.knowledge.defaults import is_benign_client_failure
from wmidoctor.logs.selection import (
    DCOM,
    DCOM_SOURCE,
    PERFLIB,
    PERFLIB_SOURCE,
    WINMGMT_SOURCE,
    WMI_ACTIVITY,
    WMI_ADAPTER,
    WMI_ADAPTER_SOURCE,
    WMI_CORE,
)

_TOP = 10
_NAMESPACE = re.compile(r"\s-\s(root[\\/][^\s:]*|root)\b", re.IGNORECASE)


def _published_by(ev: Evidence, providers: tuple[str, ...], event_ids: tuple[int, ...]) -> list[EventGroup]:
    wanted = {p.lower() for p in providers}
    return [g for g in ev.events.of(*event_ids) if g.provider.lower() in wanted]


def activity_events(ev: Evidence, *event_ids: int) -> list[EventGroup]:
    """WMI-Activity (Operational/Trace) events."""
    return _published_by(ev, (WMI_ACTIVITY,), event_ids)


def winmgmt_events(ev: Evidence, *event_ids: int) -> list[EventGroup]:
    """The WMI service's own Application-log events (publisher Microsoft-Windows-WMI, source WinMgmt)."""
    return _published_by(ev, (WMI_CORE, WINMGMT_SOURCE), event_ids)


def dcom_events(ev: Evidence, *event_ids: int) -> list[EventGroup]:
    return _published_by(ev, (DCOM, DCOM_SOURCE), event_ids)


def perflib_events(ev: Evidence, *event_ids: int) -> list[EventGroup]:
    """Performance counter library failures (Application log, Microsoft-Windows-Perflib / Perflib)."""
    return _published_by(ev, (PERFLIB, PERFLIB_SOURCE), event_ids)


def wmi_adapter_events(ev: Evidence) -> list[EventGroup]:
    """Every event of the WMI performance adapter's own publisher."""
    wanted = {WMI_ADAPTER.lower(), WMI_ADAPTER_SOURCE.lower()}
    return [g for g in ev.events.groups if g.provider.lower() in wanted]


def field(group: EventGroup, *names: str) -> str:
    """The first of `names` found in the group's key or example record (names compared case-insensitively)."""
    for mapping in (group.key, group.example):
        lowered = {k.lower(): v for k, v in mapping.items()}
        for name in names:
            value = lowered.get(name.lower())
            if value not in (None, ""):
                return str(value)
    return ""


def hex_code(value: int) -> str:
    return f"0x{value:08X}"


def client_failures(ev: Evidence) -> list[tuple[int, EventGroup]]:
    """WMI-Activity 5858 groups with their result code, in the evidence's order."""
    failures = []
    for group in activity_events(ev, 5858):
        code = parse_code(field(group, "ResultCode"))
        if code is not None:
            failures.append((code, group))
    return failures


def operation_namespace(group: EventGroup) -> str:
    """The namespace of a 5858 group: its Namespace field, else parsed from the Operation text."""
    namespace = field(group, "Namespace", "NamespaceName")
    if not namespace:
        match = _NAMESPACE.search(" " + field(group, "Operation"))
        namespace = match.group(1) if match else ""
    return namespace.replace("/", "\\").lower()


def operation(group: EventGroup) -> str:
    """What a 5858 group's client tried: the Operation text, or Method, Namespace and Target put together."""
    text = field(group, "Operation")
    if text:
        return text
    return " ".join(part for part in (field(group, "Method"), operation_namespace(group), field(group, "Target"))
                    if part)


@check("events.client-failures", "WMI client operations succeed (WMI-Activity 5858)", severity="warning",
       needs=("events",))
def client_failure_tally(ev: Evidence, v: Verdict) -> Finding:
    failures = client_failures(ev)
    if not failures:
        return v.ok("No failed client operation in the WMI-Activity log.")
    by_code: dict[int, list[EventGroup]] = defaultdict(list)
    for code, group in failures:
        by_code[code].append(group)
    ranked = sorted(by_code.items(), key=lambda item: -sum(g.count for g in item[1]))
    evidence = []
    for code, groups in ranked[:_TOP]:
        worst = max(groups, key=lambda g: g.count)
        evidence.append(ref(worst.source, f"{hex_code(code)} {short_meaning(code)} - x{sum(g.count for g in groups)};"
                                          f" e.g. {operation(worst)[:160]} (client PID "
                                          f"{field(worst, 'ClientProcessId') or '?'}, {field(worst, 'User') or '?'})"))
    serious = [code for code, groups in ranked
               if not is_benign_client_failure(code, [(field(g, "Method"), g.count) for g in groups])]
    codes = [hex_code(code) for code, _ in ranked[:_TOP]]
    total = sum(g.count for _, g in failures)
    if not serious:
        return v.info(f"{total} failed client operations, all usually harmless (cancelled calls, deletes of objects "
                      "already gone, a few probes for absent objects).", evidence, codes=codes)
    top = serious[0]
    return v.warn(f"{total} client operations failed; the most frequent real failure is {hex_code(top)} "
                  f"({short_meaning(top)}). Run `wmidoctor explain {hex_code(top)}` for causes and fixes.", evidence,
                  causes=["each result code points to its own layer: see the codes below and explain them one by one",
                          "a single client process often causes most failures: compare the client PIDs"],
                  fixes=[advice("Identify the client process behind the top failures (ClientProcessId) on the host",
                                command="Get-Process -Id <ClientProcessId> | Select-Object Id, Path, StartTime")],
                  codes=codes)


@check("events.provider-load", "Providers load without error (WMI-Activity 5857)", severity="error",
       needs=("events",))
def provider_load(ev: Evidence, v: Verdict) -> Finding:
    failed = [(code, g) for g in activity_events(ev, 5857)
              if (code := parse_code(field(g, "Code", "ResultCode"))) not in (None, 0)]
    loads = activity_events(ev, 5857)
    if not failed:
        return v.ok(f"{sum(g.count for g in loads)} provider loads logged, none failed.")
    evidence = [ref(g.source, f"{field(g, 'ProviderName')} in {field(g, 'HostProcess') or '?'} "
                              f"({field(g, 'ProviderPath') or '?'}): {hex_code(code)} {short_meaning(code)} x{g.count}")
                for code, g in failed[:_TOP]]
    return v.fail(f"{len(failed)} providers failed to load: every class they serve fails.", evidence,
                  causes=["the provider DLL or one of its dependencies is missing or damaged",
                          "the COM registration of the provider is missing (see providers.com-registration)",
                          "a 32/64-bit mismatch, or a broken .NET installation for managed providers"],
                  fixes=[Fix(step="Re-register the failing provider's DLL from an elevated prompt",
                             command='regsvr32 /s "<ProviderPath>"', risk="low",
                             undo='regsvr32 /u /s "<ProviderPath>"'),
                         advice("Repair or reinstall the product that owns the provider", risk="low")],
                  codes=[hex_code(code) for code, _ in failed])
