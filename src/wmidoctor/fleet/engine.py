"""Run fleet tasks where the user asks: in this process, on a local process pool sized to the cores, or on
Dask distributed (a LocalCluster on loopback, or an existing scheduler). Results reach `on_result` as each
task finishes, so the caller can store them in batches and a killed run keeps what it had.

Tasks are idempotent (they only read evidence), so a task whose worker died is simply run again: Dask
retries it (`retries`), the local pool resubmits what a broken pool had not finished.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from wmidoctor.fleet.model import HostDiagnosis, HostTask
from wmidoctor.fleet.task import diagnose_host

ENGINES = ("sequential", "local", "dask")
RETRIES = 2

OnResult = Callable[[HostDiagnosis], None]


def run_sequential(tasks: Sequence[HostTask], quick: bool, on_result: OnResult) -> None:
    for task in tasks:
        on_result(diagnose_host(task, quick))


def run_local(tasks: Sequence[HostTask], quick: bool, on_result: OnResult, workers: int = 0) -> None:
    """A process pool; a pool broken by a dying worker is replaced and what it had not finished is run again."""
    pending = list(tasks)
    for _ in range(RETRIES + 1):
        if not pending:
            return
        done: set[str] = set()
        try:
            with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
                futures = {pool.submit(diagnose_host, task, quick): task for task in pending}
                for future in as_completed(futures):
                    result = future.result()
                    done.add(futures[future].source)
                    on_result(result)
        except BrokenProcessPool:
            pass
        pending = [task for task in pending if task.source not in done]
    for task in pending:
        on_result(
            HostDiagnosis(
                task.source, task.site, task.label, error=f"the worker running this entry died {RETRIES + 1} times"
            )
        )


def run_dask(
    tasks: Sequence[HostTask], quick: bool, on_result: OnResult, scheduler: str = "", workers: int = 0
) -> None:
    """On a Dask scheduler (`tcp://host:8786`), or on a LocalCluster of worker processes bound to loopback."""
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError:
        from wmidoctor.errors import InputError

        raise InputError("the dask engine needs Dask distributed: pip install 'wmidoctor[dask]'") from None
    cluster = None
    if scheduler:
        client = Client(scheduler, timeout=30)
    else:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    try:
        futures = [
            client.submit(
                diagnose_host, task, quick, key=f"diagnose-{i}-{abs(hash(task.source))}", retries=RETRIES, pure=False
            )
            for i, task in enumerate(tasks)
        ]
        for future in dask_completed(futures):
            if future.status == "error":
                task = tasks[futures.index(future)]
                on_result(
                    HostDiagnosis(
                        task.source,
                        task.site,
                        task.label,
                        error=f"lost {RETRIES + 1} times: {future.exception()}"[:500],
                    )
                )
            else:
                on_result(future.result())
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run(
    tasks: Sequence[HostTask],
    quick: bool,
    on_result: OnResult,
    engine: str = "local",
    scheduler: str = "",
    workers: int = 0,
) -> None:
    if engine == "sequential" or (engine == "local" and len(tasks) < 2):
        run_sequential(tasks, quick, on_result)
    elif engine == "local":
        run_local(tasks, quick, on_result, workers)
    elif engine == "dask":
        run_dask(tasks, quick, on_result, scheduler, workers)
    else:
        raise ValueError(f"unknown engine {engine!r} (engines: {', '.join(ENGINES)})")
