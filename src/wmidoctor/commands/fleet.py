"""`wmidoctor fleet report`: the latest fleet run, or what changed between two runs."""

from __future__ import annotations

import click

from wmidoctor.commands.options import chosen_format, json_flag
from wmidoctor.errors import InputError
from wmidoctor.output import dumps_json

CHANGE_COLUMNS = ("host", "transport", "before", "after")


@click.group(name="fleet")
def command() -> None:
    """Show or compare fleet probe runs stored by `wmidoctor probe --hosts FILE --db DB`."""


@command.command(name="report")
@click.argument("db")
@click.option("--compare", nargs=2, type=int, metavar="RUN RUN", help="Hosts whose verdict changed between runs.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@json_flag
def report(db: str, compare: tuple[int, int] | None, fmt: str, as_json: bool) -> None:
    """Show the latest run in DB (or --compare two runs by id). Exit 1 when a host fails in the run shown
    (or when any verdict changed, with --compare)."""
    fmt = chosen_format(fmt, as_json)
    from wmidoctor.remote.render import FLEET_COLUMNS, csv_text, fleet_text, summary_rows, table
    from wmidoctor.remote.store import open_existing, run_ids, run_rows

    conn = open_existing(db)
    runs = run_ids(conn)
    if not runs:
        raise InputError(f"{db}: no runs recorded yet")
    if compare:
        missing = [r for r in compare if r not in runs]
        if missing:
            raise InputError(f"{db}: no run {missing[0]} (runs: {', '.join(map(str, runs))})")
        changes = _changes(run_rows(conn, compare[0]), run_rows(conn, compare[1]))
        if fmt == "json":
            click.echo(dumps_json({"runs": list(compare), "changed": changes}))
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
        click.echo(dumps_json({"run": run, "summary": summary, "results": rows}))
    elif fmt == "csv":
        click.echo(csv_text(rows, FLEET_COLUMNS), nl=False)
    else:
        click.echo(f"run {run} ({len(runs)} runs in {db})")
        click.echo(fleet_text(rows, summary), nl=False)
    raise SystemExit(1 if any(r["status"] != "ok" for r in rows) else 0)


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
