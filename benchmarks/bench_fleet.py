"""Fleet diagnosis throughput on 1,000 entries (the example bundles and a corpus-linked bundle and volume,
replicated by links): sequential vs the local process pool vs a Dask LocalCluster with two workers, all in the
same run. Sequential and Dask store into SQLite, the local pool into a throwaway PostgreSQL server on loopback
when Debian's postgresql is installed (SQLite otherwise, said so). Prints hosts/s, ratios against sequential and
scaling efficiency (speed-up / workers), then checks that every engine and store gave the same per-host results
(host identity, problem count, each finding's check, severity, status and codes)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from harness import CORPUS, ROOT, figure

sys.path.insert(0, str(ROOT))

from tests.fleet.pgserver import PostgresUnavailable, throwaway_postgres

ENTRIES = int(os.environ.get("BENCH_FLEET_ENTRIES", "1000"))  # fewer for a quick look
WORKERS = 2


def _entries(folder: Path) -> list[str]:
    from tests.corpus_volume import link_bundle, link_volume

    seeds = sorted((ROOT / "examples" / "bundles").iterdir())
    if CORPUS.is_dir():
        seeds += [link_bundle(folder / "seed-bundle", CORPUS), link_volume(folder / "seed-volume", CORPUS)]
    entries = []
    for i in range(ENTRIES):
        link = folder / f"host{i:05d}"
        link.symlink_to(seeds[i % len(seeds)], target_is_directory=True)
        entries.append(str(link))
    return entries


def _timed(engine: str, tasks, target: str) -> tuple[float, list]:
    """Hosts per second of one engine, and what it stored per host (timings left out)."""
    from wmidoctor.fleet.engine import run
    from wmidoctor.fleet.storage import open_store

    store = open_store(target)
    run_id = store.start_run({"engine": engine}, len(tasks))
    batch: list = []

    def on_result(result) -> None:
        batch.append(result)
        if len(batch) >= 50:
            store.add(run_id, batch)
            batch.clear()

    start = time.perf_counter()
    run(tasks, True, on_result, engine, workers=WORKERS)
    store.add(run_id, batch)
    elapsed = time.perf_counter() - start
    assert len(store.stored_sources(run_id)) == len(tasks), "a result was lost"
    stored = [
        (h["source"], h["host"], h["os_build"], h["collected"], h["problems"], h["error"]) for h in store.hosts(run_id)
    ]
    stored += [tuple(finding.values()) for finding in store.findings(run_id)]
    store.close()
    return len(tasks) / elapsed, sorted(stored, key=repr)  # the two databases may collate ORDER BY differently


def main() -> int:
    from wmidoctor.fleet.entries import host_tasks

    with tempfile.TemporaryDirectory(prefix="wmidoctor-bench-fleet-") as scratch:
        folder = Path(scratch)
        tasks = host_tasks(_entries(folder))
        with ExitStack() as stack:
            try:
                local_store, local_name = stack.enter_context(throwaway_postgres()), "PostgreSQL"
            except PostgresUnavailable as exc:
                print(f"local pool stores into SQLite: {exc}")
                local_store, local_name = str(folder / "local.sqlite"), "SQLite"
            sequential, by_sequential = _timed("sequential", tasks, str(folder / "seq.sqlite"))
            local, by_local = _timed("local", tasks, local_store)
            dask, by_dask = _timed("dask", tasks, str(folder / "dask.sqlite"))
    figure(f"fleet diagnose --quick, {ENTRIES} entries, sequential", sequential, "hosts/s")
    figure(f"local process pool ({WORKERS} workers)", local, "hosts/s", sequential, "sequential")
    figure(f"Dask LocalCluster ({WORKERS} worker processes)", dask, "hosts/s", sequential, "sequential")
    print(
        f"scaling efficiency (speed-up / workers): local pool {local / sequential / WORKERS:.0%}, "
        f"Dask {dask / sequential / WORKERS:.0%}"
    )
    same = by_sequential == by_local == by_dask
    print(
        f"per-host results, {ENTRIES} entries: sequential (SQLite), local pool ({local_name}) and Dask (SQLite) "
        + ("identical" if same else "DIFFER")
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
