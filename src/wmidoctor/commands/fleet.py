"""`wmidoctor fleet report`: the latest fleet run, or what changed between two runs."""

from __future__ import annotations

import sqlite3

import click

from wmidoctor.commands.options import chosen_format, json_flag
from wmidoctor.errors import InputError
from wmidoctor.output import dumps_json

CHANGE_COLUMNS = ("host", "transport", "before", "after")


@click.group(name="fleet")
def command() -> None:
    """Fleets: diagnose many hosts' evidence (`fleet diagnose`), and show or compare stored runs of fleet
    diagnoses or of `wmidoctor probe --hosts FILE --db DB` (`fleet report`)."""


@command.command(name="report")
@click.argument("db")
@click.option("--compare", nargs=2, type=int, metavar="RUN RUN", help="Hosts whose verdict changed between runs.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]), default="table", show_default=True
)
@click.option(
    "--kind",
    type=click.Choice(["auto", "probe", "diagnose"]),
    default="auto",
    show_default=True,
    help="Which runs to show when DB holds both; auto: diagnoses in a postgresql:// DB or a file without probe runs.",
)
@json_flag
def report(db: str, compare: tuple[int, int] | None, fmt: str, kind: str, as_json: bool) -> None:
    """Show the latest run in DB (or --compare two runs by id). Exit 1 when a host fails in the run shown
    (or when any verdict changed, with --compare; for diagnoses, when a problem is new)."""
    fmt = chosen_format(fmt, as_json)
    if kind == "diagnose" or (kind == "auto" and _holds_diagnoses_only(db)):
        from wmidoctor.commands.fleet_diagnose import report_diagnoses

        report_diagnoses(db, compare, fmt)
        return
    if fmt == "html":
        raise InputError("--format html is for fleet diagnosis runs (probe runs: table, json, csv)")
    from wmidoctor.dbfiles import damage_is_input_error
    from wmidoctor.remote.store import open_existing

    conn = open_existing(db)
    with damage_is_input_error(db):
        _probe_report(db, conn, compare, fmt)


def _probe_report(db: str, conn: sqlite3.Connection, compare: tuple[int, int] | None, fmt: str) -> None:
    from wmidoctor.remote.render import FLEET_COLUMNS, csv_text, fleet_text, summary_rows, table
    from wmidoctor.remote.store import run_ids, run_rows

    runs = run_ids(conn)
    if not runs:
        raise InputError(f"{db}: no runs recorded yet")
    if compare:
        missing = [r for r in compare if r not in runs]
        if missing:
            raise InputError(f"{db}: no run {missing[0]} (runs: {', '.join(map(str, runs))})")
        changes = _changes(run_rows(conn, compare[0]), run_rows(conn, compare[1]))
        if fmt == "json":
            click.echo(dumps_json({"schema": "wmidoctor.probe-changes/1", "runs": list(compare), "changed": changes}))
        elif fmt == "csv":
            click.echo(csv_text(changes, CHANGE_COLUMNS), nl=False)
        else:
            click.echo(f"runs {compare[0]} -> {compare[1]}: {len(changes)} host/transport verdicts changed")
            if changes:
                click.echo(table(changes, CHANGE_COLUMNS), nl=False)
        raise SystemExit(1 if changes else 0)
    run = runs[-1]
    rows = run_rows(conn, run)
    summary = summary_rows(rows)
    if fmt == "json":
        click.echo(dumps_json({"schema": "wmidoctor.probe-run/1", "run": run, "summary": summary, "results": rows}))
    elif fmt == "csv":
        click.echo(csv_text(rows, FLEET_COLUMNS), nl=False)
    else:
        click.echo(f"run {run} ({len(runs)} runs in {db})")
        click.echo(fleet_text(rows, summary), nl=False)
    raise SystemExit(1 if any(r["status"] != "ok" for r in rows) else 0)


def _holds_diagnoses_only(db: str) -> bool:
    if db.startswith(("postgresql://", "postgres://")):
        return True
    import sqlite3
    from pathlib import Path

    if not Path(db).is_file():
        return False
    from wmidoctor.dbfiles import open_read_only

    try:
        conn = open_read_only(db)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False
    return "diagnosis_runs" in tables and "runs" not in tables


def _verdict(row: dict[str, str] | None) -> str:
    if row is None:
        return "(not probed)"
    return "ok" if row["status"] == "ok" else f"{row['failing_stage']} {row['code']}".strip()


def _changes(before: list[dict[str, str]], after: list[dict[str, str]]) -> list[dict[str, str]]:
    old = {(r["host"], r["transport"]): r for r in before}
    new = {(r["host"], r["transport"]): r for r in after}
    changed = []
    for key in sorted(set(old) | set(new)):
        was, now = _verdict(old.get(key)), _verdict(new.get(key))
        if was != now:
            changed.append({"host": key[0], "transport": key[1], "before": was, "after": now})
    return changed


from wmidoctor.commands.fleet_diagnose import diagnose_command  # noqa: E402 (a subcommand of this group)

command.add_command(diagnose_command)
