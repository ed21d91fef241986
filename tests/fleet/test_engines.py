"""The same fleet gives the same per-host diagnoses in this process, on the local pool and on a Dask
LocalCluster (scheduler and two worker processes on loopback); a worker killed mid-run loses nothing and
duplicates nothing."""

from __future__ import annotations

import os
import signal
import threading

from wmidoctor.fleet.engine import run, run_dask
from wmidoctor.fleet.entries import host_tasks
from wmidoctor.fleet.model import HostDiagnosis
from wmidoctor.fleet.storage import open_store


def _key(d: HostDiagnosis) -> tuple:
    return (
        d.source,
        d.host,
        d.os_build,
        tuple(d.collected),
        tuple((f.check, f.severity) for f in d.findings),
        d.error.split(":")[0],
    )


def _collect(tasks, engine: str, **options) -> dict[str, tuple]:
    results: list[HostDiagnosis] = []
    run(tasks, True, results.append, engine, **options)
    assert len(results) == len(tasks)
    return {d.source: _key(d) for d in results}


def test_sequential_local_and_dask_agree_host_by_host(fleet_entries):
    tasks = host_tasks([str(p) for p in fleet_entries])
    sequential = _collect(tasks, "sequential")
    assert _collect(tasks, "local", workers=2) == sequential
    assert _collect(tasks, "dask", workers=2) == sequential
    assert any(key[5] for key in sequential.values())  # the broken entry is an error, not a lost task
    assert sum(1 for key in sequential.values() if key[4]) >= 5  # real problems found on real evidence


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(fleet_entries, tmp_path):
    from distributed import Client, LocalCluster

    many = host_tasks([str(p) for p in fleet_entries])
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    with Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
    store = open_store(str(tmp_path / "fleet.sqlite"))
    run_id = store.start_run({}, len(many))
    seen: list[str] = []
    killed = threading.Event()

    def on_result(result: HostDiagnosis) -> None:
        seen.append(result.source)
        store.add(run_id, [result])
        if not killed.is_set():
            os.kill(pids[0], signal.SIGKILL)  # one worker dies with its task(s) in hand
            killed.set()

    try:
        run_dask(many, True, on_result, scheduler=cluster.scheduler_address)
    finally:
        cluster.close()
    assert killed.is_set()
    assert sorted(seen) == sorted(t.source for t in many)  # every entry once: none lost, none twice
    assert store.stored_sources(run_id) == {t.source for t in many}
    store.close()
