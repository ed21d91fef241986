"""The event logs folded into the diagnosis: failing client operations by result code, provider load failures."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wmidoctor.checks.fixes import advice
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import EventGroup, Evidence
from wmidoctor.evidence.processes import describe_pid
from wmidoctor.findings import EvidenceRef, Finding, Fix
from wmidoctor.knowledge.benign import RECURRING, known_benign
from wmidoctor.knowledge.codes import parse_code, short_meaning
from wmidoctor.knowledge.events import (
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
from wmidoctor.knowledge.events import target_class as operation_class

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
    return " ".join(
        part for part in (field(group, "Method"), operation_namespace(group), field(group, "Target")) if part
    )


def target_class(group: EventGroup) -> str:
    """The class a 5858 operation was about (knowledge.events.target_class of its target)."""
    return operation_class(field(group, "Target") or operation(group).partition(" : ")[2])


def method_of(group: EventGroup) -> str:
    method = field(group, "Method") or operation(group)
    return method.rpartition("::")[2].split()[0] if method else ""


@dataclass
class FailurePattern:
    """The failures of one code on one namespace and class, over the whole evidence."""

    code: int
    namespace: str
    target_class: str
    groups: list[EventGroup]

    @property
    def count(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def last_seen(self) -> str:
        return max(g.last_seen for g in self.groups)

    @property
    def first_seen(self) -> str:
        return min(g.first_seen for g in self.groups)


def failure_patterns(ev: Evidence) -> list[FailurePattern]:
    """5858 failures folded by (code, namespace, class), most frequent first."""
    patterns: dict[tuple[int, str, str], FailurePattern] = {}
    for code, group in client_failures(ev):
        key = (code, operation_namespace(group), target_class(group).lower())
        pattern = patterns.get(key)
        if pattern is None:
            pattern = patterns[key] = FailurePattern(code, key[1], target_class(group), [])
        pattern.groups.append(group)
    return sorted(patterns.values(), key=lambda p: -p.count)


def _pattern_line(pattern: FailurePattern, ev: Evidence, note: str) -> EvidenceRef:
    worst = max(pattern.groups, key=lambda g: g.count)
    client = describe_pid(ev.events.processes, field(worst, "ClientProcessId"), worst.first_seen, worst.last_seen)
    span = pattern.first_seen[:10] + (
        f" to {pattern.last_seen[:10]}" if pattern.last_seen[:10] != pattern.first_seen[:10] else ""
    )
    return ref(
        worst.source,
        f"{hex_code(pattern.code)} {short_meaning(pattern.code)} x{pattern.count} ({span}): "
        f"{operation(worst)[:160]} - client {client}, {field(worst, 'User') or '?'}; {note}",
    )


def client_failure_tally(ev: Evidence, v: Verdict) -> Finding:
    """Each failure pattern is judged on its own: a known-harmless one (knowledge/benign_failures.tsv) is
    info with its reason; another is a problem when it recurs, an isolated failure otherwise."""
    patterns = failure_patterns(ev)
    if not patterns:
        return v.ok("No failed client operation in the WMI-Activity log.")
    edition = ev.identity.edition
    benign, recurring, isolated = [], [], []
    for pattern in patterns:
        method = method_of(pattern.groups[0])
        known = known_benign(pattern.code, method, pattern.namespace, pattern.target_class, edition)
        if known is not None:
            assumed = f" (edition not known: assumed {known.edition})" if known.edition != "any" and not edition else ""
            benign.append(_pattern_line(pattern, ev, f"harmless: {known.why}{assumed}"))
        elif pattern.count >= RECURRING:
            recurring.append(pattern)
        else:
            isolated.append(_pattern_line(pattern, ev, f"isolated (fewer than {RECURRING} in the evidence)"))
    total = sum(p.count for p in patterns)
    if not recurring:
        return v.info(
            f"{total} failed client operations, none a recurring problem: {len(benign)} known-harmless "
            f"patterns, {len(isolated)} isolated failures.",
            (benign + isolated)[: _TOP * 2],
            codes=sorted({hex_code(p.code) for p in patterns})[:_TOP],
        )
    top = recurring[0]
    evidence = [_pattern_line(p, ev, "recurring") for p in recurring[:_TOP]] + (isolated + benign)[:_TOP]
    return v.warn(
        f"{sum(p.count for p in recurring)} of {total} failed client operations recur: the most frequent "
        f"is {hex_code(top.code)} ({short_meaning(top.code)}) on {top.namespace or '?'}"
        f"{' : ' + top.target_class if top.target_class else ''}, {top.count} times. Run `wmidoctor "
        f"explain {hex_code(top.code)}` for causes and fixes.",
        evidence,
        causes=[
            "each result code points to its own layer: see the codes below and explain them one by one",
            "a single client process often causes most failures: compare the client PIDs",
        ],
        fixes=[
            advice(
                "Identify the client process behind the top failures (ClientProcessId) on the host",
                command="Get-Process -Id <ClientProcessId> | Select-Object Id, Path, StartTime",
            )
        ],
        codes=[hex_code(p.code) for p in recurring[:_TOP]],
    )


register_check(
    client_failure_tally,
    "events.client-failures",
    "WMI client operations succeed (WMI-Activity 5858)",
    severity="warning",
    needs=("events",),
)


def provider_load(ev: Evidence, v: Verdict) -> Finding:
    failed = [
        (code, g)
        for g in activity_events(ev, 5857)
        if (code := parse_code(field(g, "Code", "ResultCode"))) not in (None, 0)
    ]
    loads = activity_events(ev, 5857)
    if not failed:
        return v.ok(f"{sum(g.count for g in loads)} provider loads logged, none failed.")
    evidence = [
        ref(
            g.source,
            f"{field(g, 'ProviderName')} in {field(g, 'HostProcess') or '?'} "
            f"({field(g, 'ProviderPath') or '?'}): {hex_code(code)} {short_meaning(code)} x{g.count}",
        )
        for code, g in failed[:_TOP]
    ]
    return v.fail(
        f"{len(failed)} providers failed to load: every class they serve fails.",
        evidence,
        causes=[
            "the provider DLL or one of its dependencies is missing or damaged",
            "the COM registration of the provider is missing (see providers.com-registration)",
            "a 32/64-bit mismatch, or a broken .NET installation for managed providers",
        ],
        fixes=[
            Fix(
                step="Re-register the failing provider's DLL from an elevated prompt",
                command='regsvr32 /s "<ProviderPath>"',
                risk="low",
                undo='regsvr32 /u /s "<ProviderPath>"',
            ),
            advice("Repair or reinstall the product that owns the provider", risk="low"),
        ],
        codes=[hex_code(code) for code, _ in failed],
    )


register_check(
    provider_load,
    "events.provider-load",
    "Providers load without error (WMI-Activity 5857)",
    severity="error",
    needs=("events",),
)
