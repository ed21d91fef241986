"""Turn a finished TraceAnalysis into the Evidence `trace` section and the report's tables."""

from __future__ import annotations

from wmidoctor.evidence.model import Trace, TraceClient, TraceOperation
from wmidoctor.knowledge import trace as facts
from wmidoctor.trace.operations import Operation, Tally, TraceAnalysis

TOP = 20
TIMELINE_BINS = 120
TIMELINE_CLIENTS = 8


def ms(micro: int) -> float:
    return round(micro / 1000, 3)


def describe(operation: Operation) -> str:
    request = operation.request
    parts = [request.method]
    if request.namespace:
        parts.append(f"- {request.namespace}")
    if request.target:
        parts.append(f": {request.target}")
    return " ".join(parts)


def _trace_operation(operation: Operation, end_us: int) -> TraceOperation:
    finished = operation.duration_us >= 0
    seconds = operation.duration_us / 1e6 if finished else max(0, end_us - operation.start_us) / 1e6
    return TraceOperation(
        operation=describe(operation),
        client=operation.request.client,
        namespace=operation.request.namespace,
        started=operation.started,
        seconds=round(seconds, 3),
        open_by_design=not finished and facts.open_by_design(describe(operation)) is not None,
        source=operation.source,
    )


def client_requests(analysis: TraceAnalysis, client: str, limit: int = 10) -> dict[str, int]:
    prefix = client + "\t"
    found = [
        (key[len(prefix) :], tally) for key, tally in analysis.client_classes.tallies.items() if key.startswith(prefix)
    ]
    found.sort(key=lambda item: (-item[1].count, item[0]))
    return {key: tally.count for key, tally in found[:limit]}


def trace_section(analysis: TraceAnalysis, files: list[str]) -> Trace:
    section = Trace(
        files=list(files),
        events=analysis.events,
        operations=analysis.completed + len(analysis.unfinished),
        completed=analysis.completed,
        span_s=round(analysis.span_us / 1e6, 3),
        busy_s=round(analysis.busy_us / 1e6, 3),
        peak_concurrency=max(analysis.concurrency.values(), default=0),
        unfinished_total=len(analysis.unfinished),
    )
    busy = analysis.busy_us or 1
    for client, tally in analysis.clients.top(TOP):
        section.clients.append(
            TraceClient(
                client=client,
                user=analysis.client_users.get(client, ""),
                operations=tally.count,
                busy_ms=ms(tally.total_us),
                share=round(tally.total_us / busy, 4),
                p95_ms=ms(tally.percentile(0.95)),
                failures=dict(tally.failures),
                requests=client_requests(analysis, client),
            )
        )
    section.unfinished = [_trace_operation(o, analysis.last_us) for o in analysis.unfinished[:TOP]]
    section.slowest = [_trace_operation(o, analysis.last_us) for o in analysis.slowest_first()]
    for name in files:
        section.mark_collected(f"trace:{name}")
    return section


def tally_row(key: str, tally: Tally, busy: int) -> dict[str, object]:
    return {
        "key": key,
        "count": tally.count,
        "busy_ms": ms(tally.total_us),
        "share": round(tally.total_us / (busy or 1), 4),
        "p50_ms": ms(tally.percentile(0.5)),
        "p95_ms": ms(tally.percentile(0.95)),
        "p99_ms": ms(tally.percentile(0.99)),
        "max_ms": ms(tally.max_us),
        "failures": dict(tally.failures.most_common()),
    }


def concurrency_series(analysis: TraceAnalysis, bins: int = TIMELINE_BINS) -> dict[str, object]:
    """The most operations open at once, per time bin (the trace's span cut into at most `bins`)."""
    if not analysis.concurrency:
        return {"bin_s": 0, "start_epoch_s": 0, "peaks": []}
    first, last = min(analysis.concurrency), max(analysis.concurrency)
    width = max(1, -(-(last - first + 1) // bins))
    peaks = [0] * (((last - first) // width) + 1)
    for second, peak in analysis.concurrency.items():
        slot = (second - first) // width
        peaks[slot] = max(peaks[slot], peak)
    return {"bin_s": width, "start_epoch_s": first, "peaks": peaks}


def timeline(analysis: TraceAnalysis, bins: int = TIMELINE_BINS) -> dict[str, object]:
    """WMI time per client per time bin (each operation counted in the bin it started in), the top clients
    only, plus the operations that never finished as open-ended bars."""
    if not analysis.first_us:
        return {"bin_s": 0, "start_epoch_s": 0, "span_s": 0, "lanes": []}
    first = analysis.first_us // 1_000_000
    last = analysis.last_us // 1_000_000
    width = max(1, -(-(last - first + 1) // bins))
    count = ((last - first) // width) + 1
    clients = [client for client, _ in analysis.clients.top(TIMELINE_CLIENTS)]
    for operation in analysis.unfinished:
        if operation.request.client not in clients and len(clients) < TIMELINE_CLIENTS + 4:
            clients.append(operation.request.client)
    lanes = {client: [0.0] * count for client in clients}
    for (client, second), micro in analysis.client_seconds.items():
        lane = lanes.get(client)
        if lane is not None and second >= first:
            lane[min(count - 1, (second - first) // width)] += micro / 1000
    open_bars: dict[str, list[float]] = {client: [] for client in clients}
    for operation in analysis.unfinished:
        if operation.request.client in open_bars and operation.start_us:
            open_bars[operation.request.client].append(round(operation.start_us / 1e6 - first, 3))
    return {
        "bin_s": width,
        "start_epoch_s": first,
        "span_s": (last - first) + 1,
        "lanes": [
            {"client": client, "busy_ms": [round(v, 3) for v in lanes[client]], "open_since_s": open_bars[client][:50]}
            for client in clients
        ],
    }
