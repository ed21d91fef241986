"""Client failures (WMI-Activity 5858) read for what they say about the host: performance classes gone,
namespaces of absent features, providers that cannot serve, and the arbitrator cancelling clients."""

from __future__ import annotations

from collections import defaultdict

from wmidoctor.checks.events import (
    activity_events,
    client_failures,
    field,
    hex_code,
    operation,
    operation_namespace,
    perflib_events,
    winmgmt_events,
    wmi_adapter_events,
)
from wmidoctor.checks.fixes import advice, restart_winmgmt
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import EventGroup, Evidence, Provider
from wmidoctor.evidence.processes import describe_pid
from wmidoctor.findings import EvidenceRef, Finding, Fix
from wmidoctor.knowledge.codes import parse_code
from wmidoctor.knowledge.defaults import (
    ABSENT_OBJECT_PROBE_NOISE_LIMIT,
    CLASS_MISSING_CODES,
    FEATURE_NAMESPACES,
    PERF_CLASS_PREFIXES,
    PROVIDER_FAILURE_CODES,
)
from wmidoctor.knowledge.events import SCM

WBEM_E_INVALID_NAMESPACE = 0x8004100E
_LISTED = 15


def _client(ev: Evidence, group: EventGroup) -> str:
    return describe_pid(ev.events.processes, field(group, "ClientProcessId"), group.first_seen, group.last_seen)


def _line(ev: Evidence, code: int, group: EventGroup) -> EvidenceRef:
    return ref(
        group.source,
        f"{hex_code(code)} x{group.count}: {operation(group)[:200]} - client {_client(ev, group)},"
        f" {field(group, 'User') or '?'}",
    )


_PERFLIB_FAILURES = {
    1008: "failed to open",
    1009: "raised an exception when opened",
    1010: "failed or raised an exception when collecting",
    1011: "library file could not be opened",
    1017: "collection disabled after errors",
    1022: "64-bit library opened in a 32-bit process",
    1023: "library could not be loaded",
    2003: "library does not match its trusted registration",
}
_ADAP_EVENTS = (43, 48, 58, 59)  # WinMgmt: ADAP could not connect, save a perf class, or create the base classes


def _counter_evidence(ev: Evidence) -> list[EvidenceRef]:
    """What the logs say about the counters behind the perf classes: PerfLib library failures, ADAP failures,
    the WMI adapter's own events and the WMI Performance Adapter service's troubles."""
    lines = []
    for group in perflib_events(ev, *_PERFLIB_FAILURES):
        service, library = field(group, "Service"), field(group, "Library")
        what = " ".join(p for p in (service and f'"{service}"', library and f"({library})") if p) or "a counter library"
        lines.append(
            ref(
                group.source,
                f"PerfLib {group.event_id} x{group.count} (last {group.last_seen}): {what} "
                f"{_PERFLIB_FAILURES[group.event_id]}",
            )
        )
    lines += [
        ref(
            g.source,
            f"WinMgmt {g.event_id} x{g.count} ({g.kind or 'ADAP'}): {field(g, 'Object', 'Namespace')} "
            f"{field(g, 'Error')}".rstrip(),
        )
        for g in winmgmt_events(ev, *_ADAP_EVENTS)
    ]
    lines += [
        ref(g.source, f"WMI adapter event {g.event_id} x{g.count} (last {g.last_seen})") for g in wmi_adapter_events(ev)
    ]
    lines += [
        ref(g.source, f"WMI Performance Adapter (wmiApSrv) event {g.event_id} x{g.count}")
        for g in ev.events.of(7000, 7009, 7023, 7024, 7031, 7034, provider=SCM)
        if field(g, "Service").lower() == "wmiapsrv"
    ]
    return lines


_PERF_FIXES = [
    advice("Save the current counter configuration first", command="lodctr /S:%TEMP%\\perf-counters-before.ini"),
    Fix(
        step="Rebuild the counter registry from the system's backup, 64-bit then 32-bit",
        command="cd /d %windir%\\system32 && lodctr /R && cd /d %windir%\\SysWOW64 && lodctr /R",
        risk="low",
        undo="lodctr /R:%TEMP%\\perf-counters-before.ini",
    ),
    Fix(
        step="Have WMI re-read the performance libraries and refresh its performance classes",
        command="winmgmt /resyncperf && wmiadap /f",
        risk="low",
        undo="nothing to undo (the classes are regenerated from the counters)",
    ),
]


def perf_classes(ev: Evidence, v: Verdict) -> Finding:
    missing = [
        (code, g)
        for code, g in client_failures(ev)
        if code in CLASS_MISSING_CODES and any(p in operation(g).lower() for p in PERF_CLASS_PREFIXES)
    ]
    counters = _counter_evidence(ev)
    if not missing and not counters:
        return v.ok(
            "No client failed to find a Win32_PerfFormattedData or Win32_PerfRawData class, and no "
            "counter library or ADAP failure was logged."
        )
    causes = [
        "the performance counter registry is damaged or a counter library failed to load "
        "(Application log, source PerfLib)",
        "WMI's copy of the counters (ADAP) is out of date after an update or an application install",
        "the counter belongs to a role or application that is not installed",
    ]
    if not missing:
        return v.info(
            f"{len(counters)} kinds of counter-library or ADAP failure were logged: the performance "
            "classes built from those counters may be missing or blank, though no WMI client was seen "
            "failing on one.",
            counters,
            causes=causes[:2],
            fixes=[*_PERF_FIXES, restart_winmgmt()],
        )
    evidence = [_line(ev, code, g) for code, g in missing[:_LISTED]] + counters
    backed = (
        " The logs show counter libraries failing too (PerfLib/ADAP), which points at the counters." if counters else ""
    )
    return v.warn(
        f"Clients asked {sum(g.count for _, g in missing)} times for performance classes that do not "
        "exist: the performance counters behind them are not registered with WMI (monitoring agents "
        "report blanks or errors)." + backed,
        evidence,
        causes=causes,
        fixes=[*_PERF_FIXES, restart_winmgmt()],
        codes=sorted({hex_code(code) for code, _ in missing}),
    )


register_check(
    perf_classes,
    "events.perf-classes",
    "Performance counter classes are available (Win32_PerfFormattedData/RawData)",
    severity="warning",
    needs=("events",),
)


def _feature(namespace: str) -> str:
    for known, feature in sorted(FEATURE_NAMESPACES.items(), key=lambda item: -len(item[0])):
        if namespace == known or namespace.startswith(known + "\\"):
            return feature
    return ""


def invalid_namespace(ev: Evidence, v: Verdict) -> Finding:
    by_namespace: dict[str, list[EventGroup]] = defaultdict(list)
    for code, group in client_failures(ev):
        if code == WBEM_E_INVALID_NAMESPACE:
            by_namespace[operation_namespace(group) or "?"].append(group)
    if not by_namespace:
        return v.ok("No client asked for a namespace that does not exist.")
    present = {n.name.lower() for n in ev.namespaces.namespaces} if ev.namespaces.collected else set()
    evidence, features, exists_now = [], [], []
    for namespace, groups in sorted(by_namespace.items(), key=lambda item: -sum(g.count for g in item[1])):
        feature = _feature(namespace)
        note = f"belongs to {feature}" if feature else "not a namespace of a known Windows feature"
        if namespace in present:
            exists_now.append(namespace)
            note = "exists in the namespace list collected now"
        if feature:
            features.append(namespace)
        worst = max(groups, key=lambda g: g.count)
        evidence.append(
            ref(
                worst.source,
                f"{namespace} x{sum(g.count for g in groups)}: {note}; client "
                f"{_client(ev, worst)}, {field(worst, 'User') or '?'}",
            )
        )
    total = sum(g.count for groups in by_namespace.values() for g in groups)
    summary = f"Clients asked {total} times for namespaces that did not exist: {', '.join(list(by_namespace)[:5])}."
    causes = [
        "the namespace belongs to a role, feature or product that is not installed on this host "
        "(an agent probing for it, or a script written for another kind of host)",
        "a typo or a versioned namespace that changed (SQL Server, Reporting Services, old Hyper-V paths)",
        "the product's MOF was lost in a repository rebuild (its namespace was not in an autorecover MOF)",
    ]
    if exists_now:
        causes.insert(
            0,
            f"{', '.join(exists_now)} exist(s) now: the product was installed or repaired after the "
            "failures, or a repository rebuild lost it for a while",
        )
    fixes = [
        advice(
            "Check whether the namespace exists on the host",
            command="Get-CimInstance -Namespace "
            f"{_parent(next(iter(by_namespace)))} -ClassName __NAMESPACE | Select-Object Name",
        ),
        advice(
            "Install or repair the feature that owns it, or correct the namespace in the client's "
            "configuration; if the product is gone, remove the client's query for it",
            risk="low",
        ),
        Fix(
            step="If a product's namespace vanished after a repository rebuild, recompile its MOF from its "
            "install folder",
            command='mofcomp "<product folder>\\<name>.mof"',
            risk="low",
            undo="nothing simple: restore a repository backup if needed",
        ),
    ]
    if total < ABSENT_OBJECT_PROBE_NOISE_LIMIT and not exists_now:
        return v.info(
            summary + " Few enough to be an agent probing for optional features.",
            evidence,
            causes=causes,
            fixes=fixes,
            codes=[hex_code(WBEM_E_INVALID_NAMESPACE)],
        )
    return v.warn(summary, evidence, causes=causes, fixes=fixes, codes=[hex_code(WBEM_E_INVALID_NAMESPACE)])


register_check(
    invalid_namespace,
    "events.invalid-namespace",
    "Clients connect to namespaces that exist (no 0x8004100E)",
    severity="warning",
    needs=("events",),
)


def _parent(namespace: str) -> str:
    return namespace.rsplit("\\", 1)[0] if "\\" in namespace else "root"


def _suspects(ev: Evidence, namespace: str) -> list[tuple[Provider, str]]:
    """Providers registered in `namespace` whose COM server is known to be broken, with what is wrong."""
    found = []
    for provider in ev.providers.providers:
        if provider.namespace.lower() != namespace or not provider.clsid:
            continue
        server = ev.providers.com_servers.get(provider.clsid.upper())
        if server is not None and not server.registered:
            found.append((provider, f"CLSID {provider.clsid} not registered in COM"))
        elif server is not None and server.binary_exists is False:
            found.append((provider, f"{server.inproc_server or server.local_server or 'binary'} missing"))
    return found


def provider_errors(ev: Evidence, v: Verdict) -> Finding:
    failing = [(code, g) for code, g in client_failures(ev) if code in PROVIDER_FAILURE_CODES]
    if not failing:
        return v.ok("No client request failed because a provider could not be found, loaded or initialised.")
    evidence = [
        ref(
            g.source,
            f"{hex_code(code)} ({PROVIDER_FAILURE_CODES[code]}) x{g.count}: {operation(g)[:200]}"
            f" - client {_client(ev, g)}",
        )
        for code, g in failing[:_LISTED]
    ]
    namespaces = {operation_namespace(g) for _, g in failing} - {""}
    suspects = [s for namespace in sorted(namespaces) for s in _suspects(ev, namespace)]
    evidence += [ref(p.source, f"suspect provider {p.namespace}:{p.name}: {why}") for p, why in suspects[:_LISTED]]
    load_failures = [
        g for g in activity_events(ev, 5857) if parse_code(field(g, "Code", "ResultCode")) not in (None, 0)
    ]
    evidence += [
        ref(
            g.source,
            f"5857: {field(g, 'ProviderName')} ({field(g, 'ProviderPath') or '?'}) failed to load "
            f"with {field(g, 'Code')}",
        )
        for g in load_failures[:_LISTED]
    ]
    causes = [
        "the provider's DLL, one of its dependencies, or its COM registration is missing or damaged",
        "a product was uninstalled and left its namespace and provider registration behind (classic: "
        "root\\ccm after a Configuration Manager client removal)",
        "a 32/64-bit mismatch, or a broken .NET installation for managed providers",
        "the provider crashes or times out during initialisation (0x80041014)",
    ]
    if suspects:
        causes.insert(0, f"provider {suspects[0][0].name} in {suspects[0][0].namespace}: {suspects[0][1]}")
    codes = sorted({hex_code(code) for code, _ in failing})
    summary = (
        f"{sum(g.count for _, g in failing)} client requests failed because a provider could not serve them "
        f"({', '.join(codes)}) in {', '.join(sorted(namespaces)) or 'unknown namespaces'}: every class of "
        "those providers is unusable."
    )
    # When a broken registration explains the failures, the providers checks carry the root cause as a failure;
    # this finding then shows its effect on clients without counting the same fault twice.
    verdict = v.warn if suspects else v.fail
    if suspects:
        summary += " The broken provider registration reported by the providers checks explains them."
    return verdict(
        summary,
        evidence,
        causes=causes,
        fixes=[
            Fix(
                step="Re-register the provider's COM server from an elevated prompt (the 5857 event or "
                "the providers checks name its file)",
                command='regsvr32 /s "<provider.dll>"',
                risk="low",
                undo='regsvr32 /u /s "<provider.dll>"',
            ),
            Fix(
                step="Repair or reinstall the product that owns the namespace; if it was removed, run its "
                "uninstall MOF to remove the leftover namespace",
                command='mofcomp "<product folder>\\<name>_uninstall.mof"',
                risk="low",
                undo="reinstall the product",
            ),
            advice(
                "Verify the repository only after the provider itself is ruled out", command="winmgmt /verifyrepository"
            ),
        ],
        codes=codes,
    )


register_check(
    provider_errors,
    "events.provider-errors",
    "Providers serve client requests (no provider load or initialisation failure)",
    severity="error",
    needs=("events",),
)


def throttling(ev: Evidence, v: Verdict) -> Finding:
    throttled = [g for _, g in client_failures(ev) if "throttl" in field(g, "PossibleCause").lower()]
    if not throttled:
        return v.ok("No client call was cancelled by the arbitrator's throttling.")
    memory = [g for g in throttled if "memory" in field(g, "PossibleCause").lower()]
    by_client: dict[str, int] = defaultdict(int)
    for g in throttled:
        by_client[field(g, "ClientProcessId")] += g.count
    evidence = [
        ref(g.source, f"{field(g, 'PossibleCause')[:120]} x{g.count}: {operation(g)[:160]} - client {_client(ev, g)}")
        for g in sorted(throttled, key=lambda g: -g.count)[:_LISTED]
    ]
    top_pid = max(by_client, key=lambda pid: by_client[pid])
    top = next(_client(ev, g) for g in throttled if field(g, "ClientProcessId") == top_pid)
    fixes = [
        advice(
            f"Fix the client, not WMI: {top} starts queries or enumerations and does not read or release "
            "them (update the application, or report it to its vendor)"
        ),
        advice(
            "Identify the client process on the host (while it still runs)",
            command=f"Get-Process -Id {top_pid or '<ClientProcessId>'} | Select-Object Id, Path, StartTime",
        ),
    ]
    if not memory:
        return v.info(
            f"The arbitrator cancelled {sum(by_client.values())} idle client tasks (idle longer than "
            f"ArbTaskMaxIdle, 20 minutes by default); mostly {top}. Harmless for WMI, a bug in the client.",
            evidence,
            causes=["a client that opens queries or enumerations and leaves them idle"],
            fixes=fixes,
        )
    return v.warn(
        f"The arbitrator hit its memory limit and cancelled {sum(g.count for g in memory)} client tasks; "
        f"the biggest client is {top}. Other clients' calls are cancelled too (0x80041032).",
        evidence,
        causes=[
            "a client running huge queries or enumerations without reading the results",
            "many clients at once buffering results faster than they read them",
        ],
        fixes=fixes,
        codes=["0x80041032"],
    )


register_check(
    throttling,
    "events.throttling",
    "The WMI arbitrator does not cancel clients (throttling in WMI-Activity 5858)",
    severity="warning",
    needs=("events",),
)
