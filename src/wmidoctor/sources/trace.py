"""Fill the Evidence `trace` section from the trace artifacts of a bundle (the bundle loader calls this)."""

from __future__ import annotations

from pathlib import Path

from wmidoctor.evidence.model import PARTIAL, Evidence
from wmidoctor.sources.artifacts import Artifact
from wmidoctor.vocabulary import ArtifactState


def read_trace_artifacts(
    evidence: Evidence, found: list[tuple[Artifact, Path]]
) -> list[tuple[str, ArtifactState, str]]:
    """Analyse the bundle's trace files together; return (artifact key, parsed|damaged|present, reason)."""
    if not found:
        return []
    from wmidoctor.trace.run import analyse
    from wmidoctor.trace.summary import trace_section

    run = analyse([str(path) for _, path in found])
    by_path = {f.path: f for f in run.files}
    outcome: list[tuple[str, ArtifactState, str]] = []
    for artifact, path in found:
        report = by_path.get(str(path))
        if report is None:
            outcome.append((artifact.key, "present", "no events in the file"))
        elif report.unreadable or report.problems:
            outcome.append((artifact.key, "damaged", "; ".join(report.problems[:3]) or "unreadable"))
        else:
            outcome.append((artifact.key, "parsed", f"{report.trace_events} trace event(s)"))
    readable = [f for f in run.files if not f.unreadable]
    if readable:
        evidence.trace = trace_section(run.analysis, [Path(f.path).name for f in readable])
        damaged = [Path(f.path).name for f in readable if f.problems]
        if damaged:
            evidence.trace.status, evidence.trace.reason = PARTIAL, f"damaged: {', '.join(damaged)}"
    return outcome
