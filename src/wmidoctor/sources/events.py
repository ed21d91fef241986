"""Fill the Evidence `events` section from event logs, through the same analysis `wmidoctor logs` uses."""

from __future__ import annotations

from pathlib import Path

from wmidoctor.evidence.model import ArtifactStatus, EventGroup, Events, Evidence, LogFile, WmiTraces
from wmidoctor.logs.analysis import Analysis
from wmidoctor.sources.identity import identity_from_events, settle_edition


def events_section(analysis: Analysis) -> Events:
    """The analysed logs as evidence: per-file reading facts, event groups and the hourly histogram."""
    section = Events()
    damaged = [s.path for s in analysis.logs if s.damaged]
    partial = f"damaged or unreadable logs: {', '.join(damaged)}" if damaged else None
    for stats in analysis.logs:
        section.logs.append(
            LogFile(
                path=stats.path,
                records_read=stats.records_read,
                records_skipped=stats.records_skipped,
                chunks_skipped=stats.chunks_skipped,
                problems=list(stats.problems),
                first_seen=stats.first_seen,
                last_seen=stats.last_seen,
                counts={
                    f"{channel}/{provider}/{event_id}": n for (channel, provider, event_id), n in stats.counts.items()
                },
            )
        )
        scheme = "jsonl" if stats.kind.startswith("json") else "evtx"  # JSON exports say so in the locator
        section.mark_collected(f"{scheme}:{stats.path}", partial=partial)
        section.problems += [f"{stats.path}: {problem}" for problem in stats.problems]
    section.groups = [
        EventGroup(
            channel=g.channel,
            provider=g.provider,
            event_id=g.event_id,
            key=dict(g.key),
            kind=g.kind,
            count=g.count,
            first_seen=g.first_seen,
            last_seen=g.last_seen,
            example=dict(g.example),
            source=g.source,
        )
        for g in analysis.ordered_groups()
    ]
    section.hourly = dict(sorted(analysis.hourly.items()))
    section.processes = analysis.lives()
    return section


def traces_section(analysis: Analysis) -> WmiTraces:
    """The WMI traces the analysis kept (subscription parts, WMI-started processes, logons), collected from
    every log it read."""
    section = analysis.traces.section()
    for stats in analysis.logs:
        section.mark_collected(f"evtx:{stats.path}")
    return section


def log_evidence(analysis: Analysis) -> Evidence:
    """Evidence made of event logs only (what `logs` judges): events, WMI traces and the host the records name.
    The checks that need anything else skip, as `diagnose` skips them on the same logs."""
    evidence = Evidence()
    evidence.events = events_section(analysis)
    evidence.wmi_traces = traces_section(analysis)
    evidence.collection.kind = "logs"
    evidence.collection.artifacts = [
        ArtifactStatus(
            name=Path(stats.path).name,
            path=stats.path,
            status="damaged" if stats.damaged else "parsed",
            reason="; ".join(stats.problems[:3]),
        )
        for stats in analysis.logs
    ]
    evidence.collection.mark_collected("logs")
    identity_from_events(analysis.logs, evidence)
    settle_edition(evidence)
    return evidence


def collect_events(paths: list[str], since: str = "", until: str = "") -> Events:
    """Read the logs under `paths` (files, folders, zips) into an Events section; none found: not collected."""
    from wmidoctor.logs.run import analyse

    analysis = analyse(paths, since, until)
    if not analysis.logs:
        section = Events()
        section.reason = "no event logs in " + ", ".join(paths)
        return section
    return events_section(analysis)
