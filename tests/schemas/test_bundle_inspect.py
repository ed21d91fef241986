"""`bundle inspect --json` names its schema (wmidoctor.bundle-inspect/1) and validates against
schemas/bundle-inspect.schema.json for every example bundle, a zip of one, and a Windows volume made of real
corpus artifacts; the schema rejects a document whose artifact lost its status."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from tests.corpus_volume import link_volume
from tests.schemas.documents import load_schema

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bundles"


def _schema() -> dict:
    schema = load_schema("bundle-inspect")
    return schema


def _inspect(cli, path: Path) -> dict:
    result = cli("bundle", "inspect", str(path), "--json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def _valid(document: dict) -> None:
    assert document["schema"] == "wmidoctor.bundle-inspect/1"
    jsonschema.validate(document, _schema(), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("bundle", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_each_example_bundle_inspection_validates(cli, bundle: str) -> None:
    _valid(_inspect(cli, EXAMPLES / bundle))


def test_a_zipped_bundle_inspection_validates(cli, tmp_path: Path) -> None:
    archive = shutil.make_archive(str(tmp_path / "b"), "zip", EXAMPLES / "dcom-remote-launch-denied")
    document = _inspect(cli, Path(archive))
    assert document["kind"] == "zip"
    _valid(document)


@pytest.mark.corpus
def test_a_volume_inspection_validates(cli, corpus: Path, tmp_path: Path) -> None:
    volume = link_volume(
        tmp_path / "mnt", corpus, system32="Windows/System32", config="config", logs="winevt/Logs", wbem="wbem"
    )
    document = _inspect(cli, volume)
    assert document["kind"] == "volume"
    _valid(document)


def test_the_schema_rejects_an_artifact_without_status(cli) -> None:
    document = _inspect(cli, EXAMPLES / "dcom-remote-launch-denied")
    del document["artifacts"][0]["status"]
    assert list(jsonschema.Draft202012Validator(_schema()).iter_errors(document))
