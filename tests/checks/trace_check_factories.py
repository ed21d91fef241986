"""The healthy-host facts and sick-host mutations for the trace checks (hand-made: no public capture of the
WMI-Activity Trace channel exists). `diagnose_factories` folds `TRACE_SICK` into `SICK` and runs
`complete_trace` at the end of `healthy()`."""

from __future__ import annotations

from collections.abc import Callable

from wmidoctor.evidence.model import COLLECTED, Evidence, TraceClient, TraceOperation

SOURCE = "trace:Microsoft-Windows-WMI-Activity%4Trace.evtx"


def complete_trace(ev: Evidence) -> None:
    """A 10-minute trace where three agents share WMI's time and every operation finished."""
    trace = ev.trace
    trace.status, trace.reason, trace.sources = COLLECTED, "", [SOURCE]
    trace.files = ["Microsoft-Windows-WMI-Activity%4Trace.evtx"]
    trace.events, trace.operations, trace.completed = 7200, 3600, 3600
    trace.span_s, trace.busy_s, trace.peak_concurrency = 600.0, 90.0, 4
    trace.clients = [
        TraceClient(
            f"pid {pid} on HOST1",
            "NT AUTHORITY\\SYSTEM",
            1200,
            30000.0,
            1 / 3,
            60.0,
            requests={"IWbemServices::ExecQuery Win32_Service": 1200},
        )
        for pid in (880, 1204, 3310)
    ]
    trace.unfinished = [
        TraceOperation(
            "IWbemServices::ExecNotificationQuery - root\\cimv2 : select * from __InstanceCreationEvent within 5",
            "pid 880 on HOST1",
            "root\\cimv2",
            "2026-03-02T09:00:01.000000Z",
            599.0,
            True,
            f"{SOURCE}#record 12",
        )
    ]
    trace.unfinished_total = 1


def _dominant(ev: Evidence) -> None:
    ev.trace.clients.insert(
        0,
        TraceClient(
            "pid 6012 on HOST1",
            "CONTOSO\\svc-inventory",
            38000,
            810000.0,
            0.9,
            700.0,
            requests={"IWbemServices::ExecQuery Win32_Product": 38000},
        ),
    )
    ev.trace.busy_s = 900.0


def _stuck(ev: Evidence) -> None:
    ev.trace.unfinished.append(
        TraceOperation(
            "IWbemServices::ExecQuery - root\\cimv2 : select * from Win32_LogicalDisk",
            "pid 4242 on HOST1",
            "root\\cimv2",
            "2026-03-02T09:00:30.000000Z",
            570.0,
            False,
            f"{SOURCE}#record 77",
        )
    )
    ev.trace.unfinished_total = 2


TRACE_SICK: dict[str, Callable[[Evidence], None]] = {
    "trace.dominant-client": _dominant,
    "trace.unfinished-operations": _stuck,
}
