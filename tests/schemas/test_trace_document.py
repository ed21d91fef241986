"""`trace --json` (wmidoctor.trace/1) validates against schemas/trace.schema.json: on a real WMI-Activity log of
the corpus (no trace events in it) and, since no public capture of the Trace channel exists, on an ETL file
built from the provider's templates with busy, failing and unfinished operations (hand-made, said here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "trace"))
from tests.schemas.documents import load_schema
from trace_factories import Scenario, to_etl


def _schema() -> dict:
    schema = load_schema("trace")
    return schema


def _document(cli, path: Path) -> dict:
    result = cli("trace", str(path), "--json")
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "wmidoctor.trace/1"
    return document


def test_a_busy_trace_validates_and_the_schema_rejects_a_bad_share(cli, tmp_path: Path) -> None:
    scenario = Scenario()
    for i in range(60):
        scenario.operation(
            i * 0.1, 0.5, pid=6012, query="select * from Win32_Product", provider="MsiProv", host_id=3100
        )
    scenario.operation(1.0, None, pid=77)
    scenario.operation(2.0, 0.1, pid=78, result="0x80041010")
    trace = tmp_path / "trace.etl"
    trace.write_bytes(to_etl(scenario.ordered()))
    document = _document(cli, trace)
    assert document["clients"] and document["unfinished"] and document["failures"]
    schema = _schema()
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    document["clients"][0]["count"] = -1
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(document))


@pytest.mark.corpus
def test_a_real_activity_log_without_trace_events_validates(cli, corpus: Path) -> None:
    log = corpus / "evtx" / "hosts" / "fukusuket-win10" / "Microsoft-Windows-WMI-Activity%4Operational.evtx"
    jsonschema.validate(_document(cli, log), _schema(), cls=jsonschema.Draft202012Validator)
