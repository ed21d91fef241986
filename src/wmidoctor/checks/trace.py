"""WMI-Activity trace: one client that keeps WMI busy, and operations that never finish."""

from __future__ import annotations

from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence, TraceClient
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge import trace as facts

_TRACING = "https://learn.microsoft.com/windows/win32/wmisdk/tracing-wmi-activity"


def _pid(client: str) -> str:
    return client.split()[1] if client.startswith("pid ") and len(client.split()) > 1 else ""


def _identify(client: TraceClient) -> Fix:
    pid = _pid(client.client)
    command = (
        f"Get-CimInstance Win32_Process -Filter 'ProcessId={pid}' | "
        "Select-Object ProcessId, Name, CommandLine, ParentProcessId"
        if pid.isdigit()
        else ""
    )
    return Fix(
        step=f"Identify the client ({client.client}): the process, its command line and the product or "
        "scheduled task behind it (run while it is still running; process ids are reused)",
        command=command,
        undo="nothing to undo (it only reads)" if command else "",
    )


def _offender_fixes(client: TraceClient) -> tuple[list[str], list[Fix], list[str]]:
    causes: list[str] = []
    fixes: list[Fix] = []
    references: list[str] = []
    for request, count in client.requests.items():
        offender = facts.offender_for(request)
        if offender is None or offender.name in {c.split(":")[0] for c in causes}:
            continue
        causes.append(f"{offender.name}: {count} operation(s) '{request}'. {offender.why}")
        fixes.append(Fix(step=offender.fix, risk="low"))
        references.append(offender.source)
    return causes, fixes, references


def dominant_client(ev: Evidence, v: Verdict) -> Finding:
    trace = ev.trace
    if not trace.completed:
        return v.skip("the trace holds no completed WMI operation (were the Trace channel events captured?)")
    top = trace.clients[0]
    evidence = [
        ref(
            f"trace:{trace.files[0] if trace.files else ''}",
            f"{c.client} ({c.user or 'user not recorded'}): {c.operations} operation(s), "
            f"{c.busy_ms / 1000:.1f} s of WMI time ({c.share:.0%}), p95 {c.p95_ms:.0f} ms; top requests: "
            + ", ".join(f"{k} x{n}" for k, n in list(c.requests.items())[:3]),
        )
        for c in trace.clients[:3]
    ]
    loaded = top.operations >= facts.DOMINANT_MIN_OPERATIONS or trace.busy_s >= facts.DOMINANT_MIN_BUSY_SECONDS
    if top.share >= facts.DOMINANT_SHARE and loaded:
        causes, fixes, references = _offender_fixes(top)
        causes.append("a monitoring, inventory or management agent (or a script) polling WMI in a tight loop")
        fixes = [
            _identify(top),
            *fixes,
            Fix(
                step="Reconfigure the client: poll less often, ask for fewer classes and properties (a WHERE "
                "clause and a property list instead of SELECT *), or replace the polling by an event "
                "query; update or remove the agent if its vendor knows the problem",
                risk="low",
            ),
        ]
        return v.warn(
            f"{top.client} took {top.share:.0%} of WMI's time in the trace: {top.operations} operation(s), "
            f"{top.busy_ms / 1000:.1f} s of {trace.busy_s:.1f} s over {trace.span_s:.0f} s.",
            evidence,
            causes=causes,
            fixes=fixes,
            references=[_TRACING, *references],
        )
    return v.ok(
        f"WMI's time is shared: the busiest client ({top.client}) took {top.share:.0%} of "
        f"{trace.busy_s:.1f} s in {trace.completed} completed operation(s).",
        evidence,
    )


register_check(
    dominant_client, "trace.dominant-client", "No single client keeps WMI busy", severity="warning", needs=("trace",)
)


def unfinished_operations(ev: Evidence, v: Verdict) -> Finding:
    trace = ev.trace
    if not trace.operations:
        return v.skip("the trace holds no WMI operation start (were the Trace channel events captured?)")
    stuck = [o for o in trace.unfinished if not o.open_by_design and o.seconds >= facts.UNFINISHED_AFTER_SECONDS]
    by_design = [o for o in trace.unfinished if o.open_by_design]
    evidence = [
        ref(o.source, f"{o.client}: {o.operation} - open {o.seconds:.0f} s when the trace ended (started {o.started})")
        for o in (stuck or trace.unfinished)[:5]
    ]
    if stuck:
        causes = [
            "a provider that hangs or waits on something slow (a network share, a domain controller, a "
            "driver) inside its host process",
            "a client that started a query and never read its results or released the enumerator",
        ]
        offender_causes = [f"{o.name}: {o.why}" for o in {facts.offender_for(s.operation) for s in stuck} if o]
        return v.warn(
            f"{len(stuck)} WMI operation(s) ran for {facts.UNFINISHED_AFTER_SECONDS:.0f} s or more "
            f"without finishing (of {trace.unfinished_total} open when the trace ended).",
            evidence,
            causes=offender_causes + causes,
            fixes=[
                Fix(
                    step="Name the provider and its host: match the operation's GroupOperationId with "
                    "the provider event (12) of the same trace, then look at that WmiPrvSE process "
                    "(Get-CimInstance Win32_Process -Filter \"Name='WmiPrvSE.exe'\")"
                ),
                Fix(
                    step="Identify the client by its process id and stop or reconfigure it; update the "
                    "provider's product if the hang is in the provider",
                    risk="low",
                ),
                Fix(
                    step="If the provider host stays hung, end that WmiPrvSE.exe process (WMI starts a "
                    "new one on the next request)",
                    command="Stop-Process -Id <WmiPrvSE pid>",
                    risk="low",
                    undo="nothing to undo: WMI starts a new provider host when a client next needs the provider",
                ),
            ],
            references=[_TRACING],
        )
    if by_design:
        return v.ok(
            f"Every operation finished except {len(by_design)} event query(ies), which stay open by design "
            "until their client cancels them.",
            evidence,
        )
    return v.ok(
        f"Every WMI operation started in the trace finished ({trace.completed} of {trace.operations}), or "
        f"had run less than {facts.UNFINISHED_AFTER_SECONDS:.0f} s when it ended.",
        evidence,
    )


register_check(
    unfinished_operations, "trace.unfinished-operations", "WMI operations finish", severity="warning", needs=("trace",)
)
