"""Read every log named on the command line and aggregate its WMI-related events into one Analysis."""

from __future__ import annotations

from wmidoctor.artifacts.archive import DamagedMember
from wmidoctor.artifacts.evtx import LogStats, read_log
from wmidoctor.logs.analysis import Analysis
from wmidoctor.logs.inputs import LogInput, find_logs
from wmidoctor.logs.selection import wanted


def analyse_input(log: LogInput, analysis: Analysis, since: str = "", until: str = "") -> LogStats:
    stats = LogStats(log.label)
    try:
        with log.open() as stream:
            for event in read_log(log.path if stream is None else log.name, stats, wanted, since, until, stream):
                analysis.add(event)
    except DamagedMember as exc:  # one unreadable member of a zip is that log's damage, not the whole run's
        stats.unreadable = True
        stats.add_problem(str(exc))
    return stats


def not_an_event_log(stats: LogStats) -> bool:
    """XML or JSON that held no events and no damage: some other file (settings, a report), left out."""
    return stats.kind in ("xml", "json") and stats.records_read == 0 and not stats.problems


def analyse(paths: list[str], since: str = "", until: str = "") -> Analysis:
    """Analyse the logs under `paths`; XML and JSON files that hold no events (not exports) are left out."""
    analysis = Analysis()
    for log in find_logs(paths):
        stats = analyse_input(log, analysis, since, until)
        if not_an_event_log(stats):
            continue
        analysis.add_log(stats)
    return analysis
