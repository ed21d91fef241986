"""Read every log named on the command line and aggregate its WMI-related events into one Analysis.

Files on disk are read by a pool of processes, one per core, when there is enough to read to repay starting
them. Each file gives its own Analysis and they are merged in input order, also in one process, so the result
depends neither on the number of processes nor on which finished first. Zip members share their archive's read
allowance and are read in this process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from wmidoctor.artifacts.archive import DamagedMember
from wmidoctor.artifacts.evtx import LogStats, read_log
from wmidoctor.artifacts.evtx.hostname import computer_names
from wmidoctor.logs.analysis import Analysis
from wmidoctor.logs.inputs import LogInput, find_logs
from wmidoctor.logs.selection import wanted

# Below this much log data on disk a second process costs about what it saves: starting and stopping the pool
# costs ~30 ms; on the corpus .evtx files two processes broke even at 7.5 and 13.9 MiB and took 115 ms against
# 156 ms at 26 MiB (best of 9 each, 2 cores).
POOL_THRESHOLD_BYTES = 16 << 20


def not_an_event_log(stats: LogStats) -> bool:
    """XML or JSON that held no events and no damage: some other file (settings, a report), left out."""
    return stats.kind in ("xml", "json") and stats.records_read == 0 and not stats.problems


def analyse_alone(log: LogInput, since: str = "", until: str = "") -> tuple[LogStats, Analysis]:
    """One log's stats and its own analysis, to be merged in input order with the others'."""
    stats, analysis = LogStats(log.label), Analysis()
    try:
        with log.open() as stream:
            for event in read_log(log.path if stream is None else log.name, stats, wanted, since, until, stream):
                analysis.add(event)
    except DamagedMember as exc:  # one unreadable member of a zip is that log's damage, not the whole run's
        stats.unreadable = True
        stats.add_problem(str(exc))
    if not stats.computers and not log.member:  # the .evtx reader counts them as it reads; XML exports here
        stats.computers = computer_names(log.path)
    return stats, analysis


def default_jobs(logs: list[LogInput]) -> int:
    """One process per core when the files on disk hold enough to read; 1 (this process) otherwise."""
    on_disk = [log for log in logs if not log.member]
    if len(on_disk) < 2 or sum(_size(log) for log in on_disk) < POOL_THRESHOLD_BYTES:
        return 1
    return min(len(on_disk), os.cpu_count() or 1)


def _size(log: LogInput) -> int:
    try:
        return log.path.stat().st_size
    except OSError:
        return 0


def analyse(paths: list[str], since: str = "", until: str = "", jobs: int | None = None) -> Analysis:
    """Analyse the logs under `paths` with `jobs` processes (None: `default_jobs`); XML and JSON files that
    hold no events (not exports) are left out. Each file is analysed on its own and merged in input order
    whatever `jobs` is, so the report never depends on it."""
    logs = find_logs(paths)
    analysis = Analysis()
    for stats, part in _parts(logs, since, until, default_jobs(logs) if jobs is None else jobs):
        if not not_an_event_log(stats):
            part.add_log(stats)
            analysis.merge(part)
    return analysis


def _parts(logs: list[LogInput], since: str, until: str, jobs: int) -> Iterator[tuple[LogStats, Analysis]]:
    """Each log's stats and analysis, in input order."""
    if jobs <= 1:
        for log in logs:
            yield analyse_alone(log, since, until)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        # the largest files first, so that no process is left with a big one at the end
        on_disk = sorted((i for i, log in enumerate(logs) if not log.member), key=lambda i: -_size(logs[i]))
        pending: dict[int, Future[tuple[LogStats, Analysis]]] = {
            i: pool.submit(analyse_alone, logs[i], since, until) for i in on_disk
        }
        for i, log in enumerate(logs):
            yield pending.pop(i).result() if i in pending else analyse_alone(log, since, until)
