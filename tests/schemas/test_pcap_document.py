"""`pcap --json` (wmidoctor.pcap/1) validates against schemas/pcap.schema.json on every real capture of the
corpus (WMI over DCOM and WinRM), and the schema rejects a stage with an unknown status."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from tests.schemas.documents import load_schema


def _schema() -> dict:
    schema = load_schema("pcap")
    return schema


@pytest.mark.corpus
def test_every_corpus_capture_validates(cli, corpus: Path) -> None:
    captures = sorted((corpus / "pcap").iterdir())
    assert len(captures) >= 5
    result = cli("pcap", *map(str, captures), "--json")
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "wmidoctor.pcap/1" and len(document["captures"]) == len(captures)
    schema = _schema()
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    transports = {a["transport"] for c in document["captures"] for a in c["attempts"]}
    assert transports == {"dcom", "wsman"}
    attempt = next(a for c in document["captures"] for a in c["attempts"] if a["stages"])
    attempt["stages"][0]["status"] = "maybe"
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(document))
