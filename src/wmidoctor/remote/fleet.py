"""Probe many hosts with bounded concurrency into the fleet store.

impacket blocks, so hosts are probed on threads. Probing is CPU-bound in Python on a fast network (NTLM,
NDR packing and parsing: several milliseconds per host), so one process is held to one core by the
interpreter lock; with `processes` > 1 the threads are spread over worker processes, and the results
come back to this process, which alone writes the store.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from wmidoctor.errors import InputError
from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.model import ProbeResult
from wmidoctor.remote.probe import ProbeOptions, Target, parse_target, probe_host
from wmidoctor.remote.store import FleetStore


def read_hosts(path: str | Path) -> list[Target]:
    """One host per line (HOST or HOST:PORT); blank lines and # comments ignored."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"--hosts {path}: no such file")
    targets = []
    from wmidoctor.artifacts.gate import read_capped

    raw = read_capped(file, "text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"--hosts {path} line {bad_line}: not UTF-8 text (byte 0x{raw[exc.start]:02X})") from None
    for number, line in enumerate(text.splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            targets.append(parse_target(text))
        except InputError as exc:
            raise InputError(f"--hosts {path} line {number}: {exc}") from exc
    if not targets:
        raise InputError(f"--hosts {path}: no hosts in it")
    return targets


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total: int, enabled: bool | None = None):
        self.total = total
        self.done = 0
        self.failed = 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.perf_counter()

    def step(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        if self.enabled and (self.done == self.total or self.done % 5 == 0):
            width = 30
            filled = width * self.done // self.total
            rate = self.done / max(time.perf_counter() - self.start, 1e-6)
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} hosts, "
                f"{self.failed} failing, {rate:.0f}/s"
            )
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


# Below this many hosts a second process costs more to start than it saves.
PROCESSES_FROM_HOSTS = 100


def default_processes(hosts: int) -> int:
    """One process per CPU this process may use, for fleets big enough to gain from them."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cpus if hosts >= PROCESSES_FROM_HOSTS else 1


def probe_isolated(target: Target, creds: Credentials, options: ProbeOptions) -> list[ProbeResult]:
    """probe_host, except that an unexpected exception becomes this host's `error` result (one per
    transport, with the exception's message) instead of ending the fleet."""
    try:
        return probe_host(target, creds, options)
    except Exception as exc:  # one host's surprise must not stop the other 49,999
        message = f"{type(exc).__name__}: {exc}"
        return [
            ProbeResult(target=target.label, transport=transport, error=message) for transport in options.transports
        ]


def probe_fleet(
    targets: list[Target],
    creds: Credentials,
    options: ProbeOptions,
    concurrency: int,
    store: FleetStore | None = None,
    progress: Progress | None = None,
    processes: int = 1,
    resume: int | None = None,
) -> Iterator[list[ProbeResult]]:
    """Probe every target, at most `concurrency` at a time (over `processes` processes); yields each
    host's results as they finish and writes them to `store` as they arrive (one new run, or run `resume`,
    whose hosts already stored are skipped)."""
    processes = max(1, min(processes, concurrency, max(len(targets), 1)))
    if store and resume is not None:
        run_id = resume
        done = store.hosts_done(run_id, len(options.transports))
        targets = [t for t in targets if t.label not in done]
    else:
        run_id = (
            store.start_run(
                {
                    "transports": list(options.transports),
                    "namespace": options.namespace,
                    "query": options.query,
                    "privacy": options.privacy,
                    "timeout": options.timeout,
                    "kerberos": creds.kerberos,
                    "concurrency": concurrency,
                    "processes": processes,
                }
            )
            if store
            else 0
        )
    if not targets:
        if store:
            store.finish_run(run_id)
        return
    if processes > 1:
        finished = _in_processes(targets, creds, options, concurrency, processes)
    else:
        finished = _in_threads(targets, creds, options, concurrency)
    for results in finished:
        if store:
            store.add(run_id, results)
            store.commit()  # as they arrive: a run killed midway keeps every host finished so far
        if progress:
            progress.step(any(not r.passed for r in results))
        yield results
    if store:
        store.finish_run(run_id)


def _in_threads(
    targets: list[Target], creds: Credentials, options: ProbeOptions, concurrency: int
) -> Iterator[list[ProbeResult]]:
    pending = iter(targets)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="probe") as pool:
        running: set[Future[list[ProbeResult]]] = set()

        def submit_next() -> None:
            target = next(pending, None)
            if target is not None:
                running.add(pool.submit(probe_isolated, target, creds, options))

        for _ in range(concurrency):
            submit_next()
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                submit_next()
                yield future.result()


def _in_processes(
    targets: list[Target], creds: Credentials, options: ProbeOptions, concurrency: int, processes: int
) -> Iterator[list[ProbeResult]]:
    """Worker processes, each with its share of the threads, take targets from one queue and send
    results back on another."""
    context = multiprocessing.get_context()
    tasks: multiprocessing.Queue = context.Queue()
    results: multiprocessing.Queue = context.Queue()
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    for target in targets:
        tasks.put(target)
    for _ in range(concurrency):
        tasks.put(None)  # one stop mark per thread
    workers = [
        context.Process(target=_worker, args=(tasks, results, creds, options, threads), daemon=True, name=f"probe-{i}")
        for i, threads in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in targets:
            while True:
                try:
                    outcome = results.get(timeout=1.0)
                    break
                except queue.Empty:
                    if not any(worker.is_alive() for worker in workers):
                        raise RuntimeError("every probe worker process exited before the fleet was done") from None
            yield outcome
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()


def _worker(
    tasks: multiprocessing.Queue,
    results: multiprocessing.Queue,
    creds: Credentials,
    options: ProbeOptions,
    threads: int,
) -> None:
    def run() -> None:
        while (target := tasks.get()) is not None:
            results.put(probe_isolated(target, creds, options))

    pool = [threading.Thread(target=run, name=f"probe-{i}") for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
