"""Probe many hosts with bounded concurrency (a thread pool: impacket blocks) into the fleet store."""

from __future__ import annotations

import sys
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
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
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
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} hosts, "
                             f"{self.failed} failing, {rate:.0f}/s")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def probe_fleet(targets: list[Target], creds: Credentials, options: ProbeOptions, concurrency: int,
                store: FleetStore | None = None, progress: Progress | None = None) -> Iterator[list[ProbeResult]]:
    """Probe every target, at most `concurrency` at a time; yields each host's results as they finish and
    writes them to `store` (one new run) when given."""
    run_id = store.start_run({"transports": list(options.transports), "namespace": options.namespace,
                              "query": options.query, "privacy": options.privacy, "timeout": options.timeout,
                              "kerberos": creds.kerberos, "concurrency": concurrency}) if store else 0
    pending = iter(targets)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="probe") as pool:
        running: set[Future[list[ProbeResult]]] = set()

        def submit_next() -> None:
            target = next(pending, None)
            if target is not None:
                running.add(pool.submit(probe_host, target, creds, options))

        for _ in range(concurrency):
            submit_next()
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                submit_next()
                results = future.result()
                if store:
                    store.add(run_id, results)
                if progress:
                    progress.step(any(not r.passed for r in results))
                yield results
    if store:
        store.finish_run(run_id, len(targets))
