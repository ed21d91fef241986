"""`registry --json` names its schema (wmidoctor.registry/1) and validates against schemas/registry.schema.json
on the real hives and .reg export of the corpus (a corrupted hive included) and on an example bundle."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from tests.schemas.documents import load_schema

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bundles" / "dcom-remote-launch-denied"


def _schema() -> dict:
    schema = load_schema("registry")
    return schema


def _document(cli, path: Path) -> dict:
    result = cli("registry", str(path), "--json")
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "wmidoctor.registry/1"
    return document


def test_an_example_bundle_validates(cli) -> None:
    jsonschema.validate(_document(cli, EXAMPLE), _schema(), cls=jsonschema.Draft202012Validator)


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["SYSTEM", "corrupted_system_hive", "HKLM_SOFTWARE_Microsoft_Ole.reg"])
def test_corpus_hives_and_exports_validate(cli, corpus: Path, name: str) -> None:
    document = _document(cli, corpus / "registry" / name)
    jsonschema.validate(document, _schema(), cls=jsonschema.Draft202012Validator)
    if name == "corrupted_system_hive":
        assert document["problems"]


def test_the_schema_rejects_a_section_without_status(cli) -> None:
    document = _document(cli, EXAMPLE)
    del document["sections"]["dcom"]["status"]
    assert list(jsonschema.Draft202012Validator(_schema()).iter_errors(document))
