"""Every `repo` subcommand's --json document names its schema (wmidoctor.repo-SUBCOMMAND/1) and validates
against schemas/repo-SUBCOMMAND.schema.json, on the real repositories of the corpus, a damaged copy included;
each schema is itself a valid draft 2020-12 schema and rejects a document that lost a member."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from tests.schemas.documents import load_schema

SUBCOMMANDS = ("verify", "ls", "show", "providers", "persistence")


def _schema(subcommand: str) -> dict:
    schema = load_schema(f"repo-{subcommand}")
    return schema


def _document(cli, *arguments: str) -> dict:
    result = cli("repo", *arguments, "--json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def _valid(document: dict, subcommand: str) -> None:
    assert document["schema"] == f"wmidoctor.repo-{subcommand}/1"
    jsonschema.validate(document, _schema(subcommand), cls=jsonschema.Draft202012Validator)


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["win10-dfirmuseum-aptsimulator", "win10-dissect-cim", "xp-libyal-dtformats"])
def test_every_repo_document_validates(cli, corpus: Path, name: str) -> None:
    folder = str(corpus / "repository" / name)
    _valid(_document(cli, "verify", folder), "verify")
    _valid(_document(cli, "ls", folder), "ls")
    _valid(_document(cli, "ls", folder, "root\\subscription"), "ls")
    _valid(_document(cli, "ls", folder, "--all"), "ls")
    _valid(_document(cli, "providers", folder), "providers")
    _valid(_document(cli, "persistence", folder), "persistence")
    _valid(_document(cli, "show", folder, "root:__EventFilter"), "show")


@pytest.mark.corpus
def test_instances_and_damaged_repositories_validate(cli, corpus: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "repo"
    shutil.copytree(corpus / "repository" / "win10-dfirmuseum-aptsimulator", folder)
    _valid(_document(cli, "show", str(folder), 'root\\subscription:__EventFilter.Name="ProcessStartTrigger"'), "show")
    objects = folder / "OBJECTS.DATA"
    objects.chmod(0o644)
    data = bytearray(objects.read_bytes())
    data[8192 * 40 : 8192 * 44] = b"\xff" * (8192 * 4)
    objects.write_bytes(bytes(data))
    damaged = _document(cli, "verify", str(folder))
    assert damaged["verdict"] == "INCONSISTENT" and damaged["problems"]
    _valid(damaged, "verify")
    _valid(_document(cli, "persistence", str(folder)), "persistence")


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_each_schema_rejects_a_document_without_its_schema_member(subcommand: str) -> None:
    validator = jsonschema.Draft202012Validator(_schema(subcommand))
    assert list(validator.iter_errors({"read_problems": []}))
