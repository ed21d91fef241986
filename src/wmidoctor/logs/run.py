"""Read every log named on the command line and aggregate its WMI-related events into one Analysis.

Files on disk are read by a pool of processes, one per core, when there is enough to read to repay starting
them; a big .evtx file is shared among them in ranges of its chunks. Each file (or range) gives its own Analysis
and they are merged in input order, so the result depends neither on the number of processes nor on which
finished first. Zip members share their archive's read allowance and are read in this process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from wmidoctor.artifacts.archive import DamagedMember
from wmidoctor.artifacts.evtx import LogStats, read_log
from wmidoctor.artifacts.evtx.binary import EVTX_CHUNK_SIZE, evtx_chunk_count, is_evtx_file, read_evtx_chunks
from wmidoctor.artifacts.evtx.hostname import computer_names
from wmidoctor.logs.analysis import Analysis
from wmidoctor.logs.inputs import LogInput, find_logs
from wmidoctor.logs.selection import wanted

if TYPE_CHECKING:
    from concurrent.futures import Future

# Below this much log data on disk a second process costs about what it saves: starting and stopping the pool
# costs ~30 ms; on the corpus .evtx files two processes broke even at 7.5 and 13.9 MiB and took 115 ms against
# 156 ms at 26 MiB (best of 9 each, 2 cores).
POOL_THRESHOLD_BYTES = 16 << 20
# An .evtx file this big is shared among the processes in ranges of at least SPLIT_CHUNKS chunks of 64 KiB.
SPLIT_BYTES, SPLIT_CHUNKS = 64 << 20, 256


def not_an_event_log(stats: LogStats) -> bool:
    """XML or JSON that held no events and no damage: some other file (settings, a report), left out."""
    return stats.kind in ("xml", "json") and stats.records_read == 0 and not stats.problems


Chunks = tuple[int, int | None]  # a range of an .evtx file's chunks: first, and last (exclusive; None: the end)


def analyse_alone(
    log: LogInput, since: str = "", until: str = "", chunks: Chunks | None = None
) -> tuple[LogStats, Analysis]:
    """One log's stats and its own analysis (or one range of its chunks'), to be merged in input order with the
    others'."""
    stats, analysis = LogStats(log.label), Analysis()
    try:
        if chunks is not None:
            for event in read_evtx_chunks(str(log.path), log.name, stats, wanted, chunks, since, until):
                analysis.add(event)
        else:
            with log.open() as stream:
                name = log.path if stream is None else log.name
                for event in read_log(name, stats, wanted, since, until, stream):
                    analysis.add(event)
    except DamagedMember as exc:  # one unreadable member of a zip is that log's damage, not the whole run's
        stats.unreadable = True
        stats.add_problem(str(exc))
    if not stats.computers and not log.member and chunks is None:  # the .evtx reader counts them as it reads
        stats.computers = computer_names(log.path)
    return stats, analysis


def default_jobs(logs: list[LogInput]) -> int:
    """One process per core when the files on disk hold enough to read; 1 (this process) otherwise."""
    on_disk = [log for log in logs if not log.member]
    if sum(_size(log) for log in on_disk) < POOL_THRESHOLD_BYTES:
        return 1
    cores = os.cpu_count() or 1
    return max(1, min(cores, sum(len(_ranges(log, cores)) for log in on_disk)))


def _size(log: LogInput) -> int:
    try:
        return log.path.stat().st_size
    except OSError:
        return 0


def _ranges(log: LogInput, jobs: int) -> list[Chunks | None]:
    """How a log is shared among `jobs` processes: an .evtx file on disk of SPLIT_BYTES or more in ranges of
    at least SPLIT_CHUNKS chunks (two per process, so that none waits long for the last), anything else whole."""
    if jobs < 2 or log.member or _size(log) < SPLIT_BYTES or not is_evtx_file(str(log.path)):
        return [None]
    chunks = evtx_chunk_count(str(log.path))
    pieces = min(2 * jobs, chunks // SPLIT_CHUNKS)
    if pieces < 2:
        return [None]
    starts = [chunks * k // pieces for k in range(pieces)]
    return [(start, starts[k + 1] if k + 1 < pieces else None) for k, start in enumerate(starts)]


def analyse(paths: list[str], since: str = "", until: str = "", jobs: int | None = None) -> Analysis:
    """Analyse the logs under `paths` with `jobs` processes (None: `default_jobs`); XML and JSON files that
    hold no events (not exports) are left out. Each file (or range of a big file's chunks) is analysed on its own
    and merged in input order whatever `jobs` is, so the report never depends on it."""
    logs = find_logs(paths)
    jobs = default_jobs(logs) if jobs is None else jobs
    units = [(i, chunks) for i, log in enumerate(logs) for chunks in _ranges(log, jobs)]
    analysis = Analysis()
    reading: tuple[int, LogStats] | None = None  # the file whose ranges are being merged, and its stats so far
    for index, stats, part in _read(logs, units, since, until, jobs):
        analysis.merge(part)
        if reading is not None and reading[0] == index:
            reading[1].absorb(stats)
            continue
        if reading is not None and not not_an_event_log(reading[1]):
            analysis.add_log(reading[1])
        reading = (index, stats)
    if reading is not None and not not_an_event_log(reading[1]):
        analysis.add_log(reading[1])
    return analysis


def _read(
    logs: list[LogInput], units: list[tuple[int, Chunks | None]], since: str, until: str, jobs: int
) -> Iterator[tuple[int, LogStats, Analysis]]:
    """Each unit's log index, stats and analysis, in input order."""
    if jobs <= 1:
        for index, chunks in units:
            yield (index, *analyse_alone(logs[index], since, until, chunks))
        return
    from concurrent.futures import ProcessPoolExecutor  # ~40 ms to import: only when a pool is wanted

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        # the largest first, so that no process is left with a big one at the end
        pooled = sorted(
            (u for u, (i, _) in enumerate(units) if not logs[i].member), key=lambda u: -_weight(logs, units[u])
        )
        pending: dict[int, Future[tuple[LogStats, Analysis]]] = {
            u: pool.submit(analyse_alone, logs[units[u][0]], since, until, units[u][1]) for u in pooled
        }
        for u, (index, chunks) in enumerate(units):
            here = pending.pop(u).result() if u in pending else analyse_alone(logs[index], since, until, chunks)
            yield (index, *here)


def _weight(logs: list[LogInput], unit: tuple[int, Chunks | None]) -> int:
    """Bytes a unit reads: its chunks, or its whole file."""
    index, chunks = unit
    if chunks is None:
        return _size(logs[index])
    first, last = chunks
    return ((last if last is not None else evtx_chunk_count(str(logs[index].path))) - first) * EVTX_CHUNK_SIZE
