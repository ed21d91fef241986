"""The `trace` report as data (schema wmidoctor.trace/1): the tables, the timeline and the checks' findings."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from wmidoctor.evidence.model import Evidence
from wmidoctor.trace.run import TraceRun
from wmidoctor.trace.summary import (
    TOP,
    concurrency_series,
    describe,
    ms,
    tally_row,
    timeline,
    trace_section,
)

SCHEMA = "wmidoctor.trace/1"


def _operation_row(operation, end_us: int) -> dict[str, Any]:
    finished = operation.duration_us >= 0
    return {
        "operation": describe(operation),
        "client": operation.request.client,
        "user": operation.request.user,
        "namespace": operation.request.namespace,
        "started": operation.started,
        "duration_ms": ms(operation.duration_us) if finished else None,
        "open_ms": None if finished else ms(max(0, end_us - operation.start_us)),
        "result": operation.code or ("0x0" if finished else ""),
        "source": operation.source,
    }


def build_report(run: TraceRun) -> dict[str, Any]:
    from wmidoctor.checks import run_checks

    analysis = run.analysis
    evidence = Evidence()
    evidence.trace = trace_section(analysis, [f.path for f in run.files])
    findings = [r.finding for r in run_checks(evidence, only=["trace"])]
    busy = analysis.busy_us
    section = evidence.trace
    unfinished = [
        {**_operation_row(o, analysis.last_us), "open_by_design": t.open_by_design}
        for o, t in zip(analysis.unfinished[:TOP], section.unfinished, strict=False)
    ]
    return {
        "schema": SCHEMA,
        "files": [asdict(f) for f in run.files],
        "summary": {
            "events": analysis.events,
            "events_by_id": {str(k): v for k, v in sorted(analysis.by_id.items())},
            "first_seen": analysis.first_seen,
            "last_seen": analysis.last_seen,
            "span_s": section.span_s,
            "operations": section.operations,
            "completed": analysis.completed,
            "unfinished": len(analysis.unfinished),
            "stops_without_start": analysis.orphan_stops,
            "not_tracked": analysis.open_overflow,
            "busy_s": section.busy_s,
            "peak_concurrency": section.peak_concurrency,
            "failed": sum(analysis.failures.values()),
            "warnings": sum(1 for f in findings if f.is_problem),
        },
        "clients": [
            {**tally_row(k, t, busy), "user": analysis.client_users.get(k, "")} for k, t in analysis.clients.top(TOP)
        ],
        "namespaces": [tally_row(k, t, busy) for k, t in analysis.namespaces.top(TOP)],
        "requests": [{**tally_row(k, t, busy), "example": t.example} for k, t in analysis.classes.top(TOP)],
        "queries": [tally_row(k, t, busy) for k, t in analysis.queries.top(TOP)],
        "users": [tally_row(k, t, busy) for k, t in analysis.users.top(TOP)],
        "providers": [tally_row(k, t, busy) for k, t in analysis.providers.top(TOP)],
        "provider_loads": [
            {"provider": p, "host_process_id": h, "path": path, "events": n}
            for (p, h, path), n in analysis.provider_loads.most_common(TOP)
        ],
        "failures": [{"code": code, "count": n} for code, n in analysis.failures.most_common()],
        "slowest": [_operation_row(o, analysis.last_us) for o in analysis.slowest_first()],
        "unfinished": unfinished,
        "methods": [{"method": m, "count": n} for m, n in analysis.methods.most_common(TOP)],
        "processes_created": analysis.processes_created,
        "concurrency": concurrency_series(analysis),
        "timeline": timeline(analysis),
        "findings": [f.to_data() for f in findings],
    }
