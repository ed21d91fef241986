"""Every command that offers --json has its documents' schemas in src/wmidoctor/schemas: a new verb or
subcommand with --json and no schema fails here, as does a schema no command names. Each schema is a valid draft
2020-12 schema whose $id is the id its documents carry in `schema` (explain prints a bare list: its $id only).
The per-verb tests beside this one validate real output against each."""

from __future__ import annotations

import importlib
import json
from importlib import resources

import click
import pytest

from wmidoctor.cli import VERBS

SCHEMAS = {
    "explain": ["explain"],
    "probe": ["probe", "probe-hosts"],
    "pcap": ["pcap"],
    "fleet report": ["fleet-diagnosis", "fleet-changes", "probe-run", "probe-changes"],
    "fleet diagnose": ["fleet-run"],
    "diagnose": ["report", "checks"],
    "bundle inspect": ["bundle-inspect"],
    "logs": ["logs"],
    "repo verify": ["repo-verify"],
    "repo ls": ["repo-ls"],
    "repo show": ["repo-show"],
    "repo providers": ["repo-providers"],
    "repo persistence": ["repo-persistence"],
    "registry": ["registry"],
    "mof lint": ["mof-lint"],
    "mof parse": ["mof-parse"],
    "trace": ["trace"],
}


def _commands_with_json() -> set[str]:
    found: set[str] = set()

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        elif any("--json" in getattr(p, "opts", []) for p in command.params):
            found.add(" ".join(path))

    for verb, (module, _) in VERBS.items():
        walk(importlib.import_module(f"wmidoctor.commands.{module}").command, [verb])
    return found


def test_every_command_with_json_has_schemas() -> None:
    assert _commands_with_json() == set(SCHEMAS)


def _files() -> dict[str, dict]:
    folder = resources.files("wmidoctor.schemas")
    return {
        entry.name.removesuffix(".schema.json"): json.loads(entry.read_text("utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".schema.json")
    }


def test_every_schema_file_is_named_by_a_command_and_no_named_schema_is_missing() -> None:
    named = {name for names in SCHEMAS.values() for name in names}
    assert set(_files()) == named


@pytest.mark.parametrize("name", sorted({n for names in SCHEMAS.values() for n in names}))
def test_each_schema_is_valid_and_its_id_is_what_documents_carry(name: str) -> None:
    import jsonschema

    schema = _files()[name]
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"wmidoctor.{name}/{schema['$id'].rsplit('/', 1)[-1]}"
    member = schema.get("properties", {}).get("schema")
    if name != "explain":
        assert member == {"const": schema["$id"]}, name
