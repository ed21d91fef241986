"""Read every trace file named on the command line into one TraceAnalysis."""

from __future__ import annotations

from dataclasses import dataclass, field

from wmidoctor.trace.inputs import TraceFile, find_traces, read_trace
from wmidoctor.trace.operations import TraceAnalysis


@dataclass
class TraceRun:
    analysis: TraceAnalysis
    files: list[TraceFile] = field(default_factory=list)


def analyse(paths: list[str]) -> TraceRun:
    """Analyse the trace files under `paths` in the order given; XML files without events are left out."""
    run = TraceRun(TraceAnalysis())
    for log in find_traces(paths):
        report = TraceFile(log.label, kind="")
        for rows in read_trace(log, report):
            run.analysis.feed(rows)
        if report.kind == "xml" and report.records_read == 0 and not report.problems:
            continue
        run.files.append(report)
    run.analysis.finish()
    return run
