"""`wmidoctor bundle inspect PATH [--json]`: what a bundle holds, artifact by artifact and section by section.

Exit code 1 when an artifact is damaged (the rest is still reported), 0 otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from wmidoctor.output import dumps_json

if TYPE_CHECKING:
    from wmidoctor.evidence import Evidence

INSPECTION_SCHEMA = "wmidoctor.bundle-inspect/1"  # schemas/bundle-inspect.schema.json
MARKS = {"parsed": "ok", "present": "--", "damaged": "!!", "missing": "  ", "skipped": ".."}


def _descriptions() -> dict[str, str]:
    from wmidoctor.sources.artifacts import ARTIFACTS, VOLUME_ARTIFACTS

    return {a.name: a.what for a in (*ARTIFACTS, *VOLUME_ARTIFACTS)}


def inspection(evidence: Evidence) -> dict:
    collection = evidence.collection
    what = _descriptions()
    return {
        "schema": INSPECTION_SCHEMA,
        "path": collection.path,
        "kind": collection.kind,
        "layout": collection.layout,
        "missing": [a.name for a in collection.artifacts if a.status == "missing"],
        "collector_version": collection.collector_version,
        "collected_at": collection.collected_at,
        "host": evidence.identity.host,
        "identity": {
            "host": evidence.identity.host,
            "host_source": evidence.identity.host_source,
            "domain": evidence.identity.domain,
            "os": evidence.identity.os_caption,
            "build": evidence.identity.os_build,
            "edition": evidence.identity.edition,
            "edition_source": evidence.identity.edition_source,
        },
        "personal_data": collection.personal_data,
        "artifacts": [
            {"name": a.name, "path": a.path, "status": a.status, "reason": a.reason, "what": what.get(a.name, "")}
            for a in collection.artifacts
        ],
        "sections": [s for s in evidence.summary() if s["section"] != "collection"],
    }


def render_text(data: dict) -> str:
    head = f"{data['path']} ({data['layout'] or data['kind']}"
    head += f", collector {data['collector_version']}" if data["collector_version"] else ""
    head += f", collected {data['collected_at']}" if data["collected_at"] else ""
    head += f", host {data['host']}" if data["host"] else ""
    lines = [head + ")"]
    who = data["identity"]
    facts = [f"{k} {who[k]}" for k in ("domain", "os", "build") if who[k]]
    facts.append(f"edition {who['edition']} ({who['edition_source']})" if who["edition"] else "edition not known")
    lines += ["Host: " + ", ".join([who["host"] or "not known", *facts]), "", "Artifacts:"]
    width = max((len(a["path"] or a["name"]) for a in data["artifacts"]), default=10)
    for artifact in data["artifacts"]:
        reason = f"  ({artifact['reason']})" if artifact["reason"] else ""
        shown = artifact["path"] or artifact["name"]
        lines.append(f"  [{MARKS.get(artifact['status'], '??')}] {shown.ljust(width)}  {artifact['status']}{reason}")
    if data["missing"]:
        lines += ["", f"Missing ({len(data['missing'])}): " + ", ".join(data["missing"])]
    lines += ["", "Evidence sections:"]
    for section in data["sections"]:
        status = section["status"].replace("_", " ")
        reason = f" - {section['reason']}" if section["reason"] else ""
        problems = f" [{section['problems']} problems]" if section["problems"] else ""
        lines.append(f"  {section['section']:<15} {status}{reason}{problems}")
    if data["personal_data"]:
        lines += ["", "Personal data in this bundle: " + ", ".join(data["personal_data"])]
    return "\n".join(lines)


@click.group(name="bundle")
def command() -> None:
    """Inspect evidence bundles (folders, .zip files, mounted Windows volumes)."""


@command.command(name="inspect")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Write the inspection as JSON.")
def inspect(path: Path, as_json: bool) -> None:
    """Show what PATH holds: per artifact parsed, present, damaged (why), missing (why); per evidence
    section collected, partial or not collected."""
    from wmidoctor.sources.bundle import load

    data = inspection(load(path))
    click.echo(dumps_json(data) if as_json else render_text(data))
    damaged = any(a["status"] == "damaged" for a in data["artifacts"])
    click.get_current_context().exit(1 if damaged else 0)
