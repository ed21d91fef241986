"""`wmidoctor registry PATH...`: the WMI-relevant registry picture from hives, .reg exports or folders."""

from __future__ import annotations

import re
from pathlib import Path

import click

from wmidoctor.errors import InputError
from wmidoctor.output import dumps_json

REGISTRY_SCHEMA = "wmidoctor.registry/1"  # schemas/registry.schema.json
CLSID_PATTERN = re.compile(r"\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?")


@click.command(name="registry")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--clsid", "clsids", multiple=True, metavar="CLSID", help="Also look up this COM class registration (repeatable)."
)
@click.option("--json", "as_json", is_flag=True, help="Write the sections as JSON.")
def command(paths: tuple[Path, ...], clsids: tuple[str, ...], as_json: bool) -> None:
    """Show the WMI-relevant registry picture from hives (SYSTEM, SOFTWARE; .LOG1/.LOG2 replayed on a
    copy), .reg exports, or folders holding them (a bundle or a mounted Windows volume)."""
    from wmidoctor.artifacts.registry import Registry
    from wmidoctor.knowledge.defaults import WMI_APPID_KEY
    from wmidoctor.report.registry_text import SECTIONS, render_text
    from wmidoctor.sources.registry import fill_evidence

    for clsid in clsids:
        if not CLSID_PATTERN.fullmatch(clsid.strip()):
            raise InputError(f"--clsid {clsid}: not a CLSID (expected {{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}})")
    for path in paths:
        if not path.exists():
            raise InputError(f"no such file or folder: {path}")
    registry = Registry.open(list(paths))
    if not registry.hives and not registry.export_files:
        detail = f": {registry.problems[0]}" if registry.problems else ""
        raise InputError(f"no registry hive or .reg export found in {', '.join(map(str, paths))}{detail}")
    evidence = fill_evidence(registry, clsids=clsids)
    problems = registry.all_problems()
    for name in SECTIONS:
        problems.extend(p for p in getattr(evidence, name).problems if p not in problems)
    if as_json:
        data = evidence.to_data()
        click.echo(
            dumps_json(
                {
                    "schema": REGISTRY_SCHEMA,
                    "sources": registry.sources,
                    "problems": problems,
                    "sections": {name: data[name] for name in SECTIONS},
                }
            )
        )
    else:
        click.echo(render_text(evidence, registry.sources, problems, registry.covers(WMI_APPID_KEY)))
    click.get_current_context().exit(1 if problems else 0)
