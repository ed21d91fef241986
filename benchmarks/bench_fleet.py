"""Fleet diagnosis throughput on 1,000 entries (the example bundles and a corpus-linked bundle and volume,
replicated by links): sequential vs the local process pool vs a Dask LocalCluster with two workers, all in the
same run, stored in SQLite. Prints hosts/s, ratios against sequential and scaling efficiency (speed-up / workers).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from harness import CORPUS, ROOT, figure

sys.path.insert(0, str(ROOT))

ENTRIES = 1_000
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


def _timed(engine: str, tasks, db: Path) -> float:
    from wmidoctor.fleet.engine import run
    from wmidoctor.fleet.storage import open_store

    store = open_store(str(db))
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
    store.close()
    return len(tasks) / elapsed


def main() -> int:
    from wmidoctor.fleet.entries import host_tasks

    with tempfile.TemporaryDirectory(prefix="wmidoctor-bench-fleet-") as scratch:
        folder = Path(scratch)
        tasks = host_tasks(_entries(folder))
        sequential = _timed("sequential", tasks, folder / "seq.sqlite")
        local = _timed("local", tasks, folder / "local.sqlite")
        dask = _timed("dask", tasks, folder / "dask.sqlite")
    figure(f"fleet diagnose --quick, {ENTRIES} entries, sequential", sequential, "hosts/s")
    figure(f"local process pool ({WORKERS} workers)", local, "hosts/s", sequential, "sequential")
    figure(f"Dask LocalCluster ({WORKERS} worker processes)", dask, "hosts/s", sequential, "sequential")
    print(f"scaling efficiency (speed-up / workers): local pool {local / sequential / WORKERS:.0%}, "
          f"Dask {dask / sequential / WORKERS:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
