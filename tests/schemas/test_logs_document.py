"""`logs --json` (wmidoctor.logs/2) validates against schemas/logs.schema.json on every real host log set of
the corpus and on single logs (a damaged one included); the schema rejects a document missing a table."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from tests.schemas.documents import load_schema


def _schema() -> dict:
    schema = load_schema("logs")
    return schema


def _document(cli, path: Path) -> dict:
    result = cli("logs", str(path), "--json")
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "wmidoctor.logs/2"
    return document


@pytest.mark.corpus
def test_every_host_log_set_validates(cli, corpus: Path) -> None:
    schema = _schema()
    hosts = sorted(p for p in (corpus / "evtx" / "hosts").iterdir() if p.is_dir())
    assert len(hosts) >= 5
    for host in hosts:
        jsonschema.validate(_document(cli, host), schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name",
    [
        "evtx-attack-samples__sysmon_20_21_1_CommandLineEventConsumer.evtx",
        "omerbenamram-evtx__sample_with_a_bad_chunk_magic.evtx",
    ],
)
def test_single_logs_validate(cli, corpus: Path, name: str) -> None:
    jsonschema.validate(_document(cli, corpus / "evtx" / name), _schema(), cls=jsonschema.Draft202012Validator)


@pytest.mark.corpus
def test_the_schema_rejects_a_document_without_its_findings(cli, corpus: Path) -> None:
    document = _document(cli, corpus / "evtx" / "hosts" / "fukusuket-win10")
    del document["findings"]
    assert list(jsonschema.Draft202012Validator(_schema()).iter_errors(document))
