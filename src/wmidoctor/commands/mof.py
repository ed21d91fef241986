"""`wmidoctor mof`: parse and lint provider MOF files (Microsoft dialect, as mofcomp reads them).

`mof lint FILE|DIR...` checks provider registration, hosting, pragmas and names; folders are searched
for *.mof and *.mfl. Files given together are linted together, so a class in one file may name a
provider registered in another. Exit 0 clean, 1 findings at warning or above, 2 unreadable input.
"""

from __future__ import annotations

import click

from wmidoctor.commands.options import chosen_format, json_flag
from wmidoctor.errors import InputError
from wmidoctor.output import dumps_json


@click.group("mof")
def command() -> None:
    """Parse and lint provider MOF files."""


@command.command("lint")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="text: file:line:col: RULE-ID severity message; json; sarif (2.1.0).",
)
@json_flag
def lint_command(paths: tuple[str, ...], output_format: str, as_json: bool) -> None:
    """Lint MOF files: provider registration, CLSID and hosting, #pragma autorecover and namespace,
    duplicates, keys, undeclared classes and aliases, syntax.

    Exit 0 when nothing is at warning or above, 1 when something is, 2 for unreadable input.
    """
    from wmidoctor.moflint import exit_code, lint_paths
    from wmidoctor.moflint.discover import discover
    from wmidoctor.moflint.render import render_json, render_sarif, render_text

    files = discover(list(paths))
    try:
        documents, findings = lint_paths(files)
    except OSError as exc:
        raise InputError(f"{exc.filename}: {exc.strerror or exc}") from None
    output_format = chosen_format(output_format, as_json, "output_format")
    if output_format == "json":
        click.echo(dumps_json(render_json(documents, findings)))
    elif output_format == "sarif":
        click.echo(dumps_json(render_sarif(documents, findings)))
    else:
        click.echo(render_text(documents, findings))
    raise SystemExit(exit_code(findings))


@command.command("parse")
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="The whole parsed model as JSON.")
def parse_command(path: str, as_json: bool) -> None:
    """Parse one MOF file and show what it declares (with --json, every statement and position).

    Exit 0 when the file reads as MOF, 1 when it has syntax or preprocessor errors, 2 when unreadable.
    """
    from wmidoctor.artifacts.mof import parse_file
    from wmidoctor.artifacts.mof.serialise import document_to_data

    try:
        document = parse_file(path)
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    if as_json:
        click.echo(dumps_json({"schema": "wmidoctor.mof-parse/1", **document_to_data(document)}))
    else:
        info = document.summary()
        click.echo(
            f"{path}: {info['encoding']}, {len(document.statements)} statement(s), "
            f"{len(info['classes'])} class(es), {len(document.instances)} instance(s), "
            f"{len(info['providers'])} provider(s); autorecover {'yes' if info['autorecover'] else 'no'}; "
            f"namespaces {', '.join(info['namespaces']) or '(none)'}"
        )
        for d in document.diagnostics:
            click.echo(f"{path}:{d.position}: {d.code} {d.severity} {d.message}")
            if d.excerpt():
                click.echo("\n".join(f"    {part}" for part in d.excerpt().splitlines()))
    raise SystemExit(0 if document.ok else 1)
