"""`wmidoctor fleet diagnose`: many hosts' evidence, one stored diagnosis each; and the report of such runs."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from wmidoctor.commands.options import chosen_format, json_flag
from wmidoctor.errors import InputError
from wmidoctor.output import dumps_json

if TYPE_CHECKING:
    from wmidoctor.fleet.model import HostDiagnosis
    from wmidoctor.fleet.storage import Store

BATCH = 50  # results per write transaction
FLUSH_SECONDS = 2.0  # or sooner, so a killed run loses at most this much


class _BatchWriter:
    """Stores results as they arrive, in batches; counts what it stored."""

    def __init__(self, store: Store, run_id: int, total: int, progress: bool) -> None:
        self.store, self.run_id, self.total, self.progress = store, run_id, total, progress
        self.pending: list[HostDiagnosis] = []
        self.done = self.problems = self.errors = 0
        self.flushed_at = time.monotonic()

    def __call__(self, result: HostDiagnosis) -> None:
        self.pending.append(result)
        self.done += 1
        self.problems += bool(result.findings)
        self.errors += bool(result.error)
        if len(self.pending) >= BATCH or time.monotonic() - self.flushed_at > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self.store.add(self.run_id, self.pending)
        self.pending = []
        self.flushed_at = time.monotonic()
        if self.progress:
            click.echo(f"  {self.done}/{self.total} entries", err=True)


@click.command(name="diagnose")
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "--db",
    default="fleet.sqlite",
    show_default=True,
    metavar="PATH|URL",
    help="SQLite file, or postgresql://user@host/db (password from PGPASSWORD or ~/.pgpass).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask", "sequential"]),
    default="local",
    show_default=True,
    help="local: a process pool sized to the cores; dask: Dask distributed (--scheduler, or a local "
    "cluster on loopback); sequential: this process.",
)
@click.option("--scheduler", default="", metavar="tcp://HOST:8786", help="A Dask scheduler (implies --engine dask).")
@click.option("--workers", type=click.IntRange(0, 1024), default=0, help="Worker processes (default: the cores).")
@click.option("--site", default="", help="Site of every entry given directly (a manifest gives its own).")
@click.option("--quick", is_flag=True, help="Each host as diagnose --quick (no repository read, newest log part).")
@click.option("--resume", type=int, metavar="RUN", help="Finish run RUN: entries already stored are skipped.")
@json_flag
def diagnose_command(
    sources: tuple[str, ...],
    db: str,
    engine: str,
    scheduler: str,
    workers: int,
    site: str,
    quick: bool,
    resume: int | None,
    as_json: bool,
) -> None:
    """Diagnose every entry of SOURCES (bundle folders, zips, mounted volumes, evidence files, or a manifest
    file listing them one per line as `path[,site[,label]]`) and store one diagnosis per host in --db.
    Exit 1 when any host has a problem at warning or above, 2 on bad input."""
    from wmidoctor.fleet.engine import run
    from wmidoctor.fleet.entries import host_tasks
    from wmidoctor.fleet.storage import open_store

    tasks = host_tasks(list(sources), site)
    store = open_store(db)
    try:
        if resume is not None:
            if resume not in {r["id"] for r in store.runs()}:
                raise InputError(f"{store.target}: no run {resume} to resume")
            run_id = resume
            stored = store.stored_sources(run_id)
            tasks = [t for t in tasks if t.source not in stored]
        else:
            run_id = store.start_run({"engine": "dask" if scheduler else engine, "quick": quick}, len(tasks))
        writer = _BatchWriter(store, run_id, len(tasks), progress=not as_json)
        start = time.perf_counter()
        run(tasks, quick, writer, "dask" if scheduler else engine, scheduler, workers)
        writer.flush()
        store.finish_run(run_id)
        elapsed = time.perf_counter() - start
    finally:
        store.close()
    summary = {
        "schema": "wmidoctor.fleet-run/1",  # schemas/fleet-run.schema.json
        "run": run_id,
        "db": store.target,
        "entries": len(tasks),
        "with_problems": writer.problems,
        "unreadable": writer.errors,
        "seconds": round(elapsed, 2),
        "hosts_per_second": round(len(tasks) / elapsed, 2) if elapsed else 0,
    }
    if as_json:
        click.echo(dumps_json(summary))
    else:
        click.echo(
            f"run {run_id}: {len(tasks)} entries in {elapsed:.1f} s; {writer.problems} with problems, "
            f"{writer.errors} unreadable (wmidoctor fleet report {db} --kind diagnose)"
        )
    raise SystemExit(1 if writer.problems else 0)


def report_data(store: Store, run_id: int) -> dict[str, Any]:
    from wmidoctor.fleet.report import breakdown, root_causes

    run = next(r for r in store.runs() if r["id"] == run_id)
    hosts, findings = store.hosts(run_id), store.findings(run_id)
    return {
        "schema": "wmidoctor.fleet-diagnosis/1",
        "run": run,
        "hosts": len(hosts),
        "hosts_with_problems": len({f["source"] for f in findings}),
        "unreadable": sum(1 for h in hosts if h["error"]),
        "causes": root_causes(hosts, findings),
        "by_site": breakdown(hosts, findings, "site"),
        "by_os_build": breakdown(hosts, findings, "os_build"),
        "unreadable_entries": [{"source": h["source"], "error": h["error"]} for h in hosts if h["error"]],
    }


def report_diagnoses(db: str, compare: tuple[int, int] | None, fmt: str) -> None:
    """The report of fleet diagnosis runs in DB: root causes of the latest run, or the change between two."""
    from wmidoctor.dbfiles import damage_is_input_error

    with damage_is_input_error(db):
        _report_diagnoses(db, compare, fmt)


def _report_diagnoses(db: str, compare: tuple[int, int] | None, fmt: str) -> None:
    from wmidoctor.fleet import render
    from wmidoctor.fleet.report import changes
    from wmidoctor.fleet.storage import open_store

    store = open_store(db, read_only=True)
    try:
        runs = [r["id"] for r in store.runs()]
        if not runs:
            raise InputError(f"{store.target}: no fleet diagnosis runs recorded yet")
        if compare:
            missing = [r for r in compare if r not in runs]
            if missing:
                raise InputError(f"{store.target}: no run {missing[0]} (runs: {', '.join(map(str, runs))})")
            data: dict[str, Any] = {
                "schema": "wmidoctor.fleet-changes/1",
                "runs": list(compare),
                **changes(
                    (store.hosts(compare[0]), store.findings(compare[0])),
                    (store.hosts(compare[1]), store.findings(compare[1])),
                ),
            }
            rows = [dict(r, change=name) for name in ("new", "fixed", "still") for r in data[name]]
            output = {
                "json": lambda: dumps_json(data),
                "csv": lambda: render.csv_text(rows, ("change", "host", "check", "severity")),
                "table": lambda: render.changes_text(data),
                "html": lambda: render.page(report_data(store, compare[1])),
            }[fmt]()
            click.echo(output, nl=not output.endswith("\n"))
            raise SystemExit(1 if data["new"] else 0)
        data = report_data(store, runs[-1])
    finally:
        store.close()
    output = {
        "json": lambda: dumps_json(data),
        "csv": lambda: render.csv_text(data["causes"], render.CAUSE_COLUMNS),
        "table": lambda: render.text(data),
        "html": lambda: render.page(data),
    }[fmt]()
    click.echo(output, nl=not output.endswith("\n"))
    raise SystemExit(1 if data["hosts_with_problems"] else 0)


def format_of(fmt: str, as_json: bool) -> str:
    return chosen_format(fmt, as_json) or "table"
