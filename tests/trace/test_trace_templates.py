"""Every WMI-Activity event of the template table (ids 1-3 and 11-23) survives a round trip: written into an
ETL file from its published template, read back by the manifest decoder with the same strings an XML
export of it holds. The events are made here (no public capture of the Trace channel exists)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from trace_factories import TraceEvent, event_record, to_etl, to_xml

from wmidoctor.artifacts.etl import EtlReading, EtlStats, read_etl
from wmidoctor.knowledge import trace as facts
from wmidoctor.logs.inputs import LogInput
from wmidoctor.trace.inputs import TraceFile, read_trace, wmi_providers

SAMPLES = {
    "UnicodeString": "Ünïcode \\\\.\\root\\cimv2 – 日本",
    "UInt32": "4294967295",
    "UInt64": "133000000000000000",
    "HexInt32": "0x80041032",
    "Boolean": "true",
}


def _sample(event_id: int) -> TraceEvent:
    fields = {
        name: SAMPLES[kind] + (f" {name}" if kind == "UnicodeString" else "")
        for name, kind in facts.templates()["events"][str(event_id)]["fields"]
    }
    return TraceEvent(event_id, float(event_id), fields)


class Read(NamedTuple):
    """One row of `read_trace`, by name."""

    event_id: int
    time: str
    fields: dict[str, str]
    source: str


def _read(path: Path, report: TraceFile | None = None) -> list[Read]:
    report = report or TraceFile(str(path), "")
    return [Read(*row) for rows in read_trace(LogInput(path), report) for row in rows]


@pytest.mark.parametrize("event_id", sorted(int(i) for i in facts.templates()["events"]))
def test_each_template_round_trips_through_etl_like_xml(tmp_path: Path, event_id: int) -> None:
    event = _sample(event_id)
    etl, xml = tmp_path / "t.etl", tmp_path / "t.xml"
    etl.write_bytes(to_etl([event]))
    xml.write_text(to_xml([event]), encoding="utf-8")
    (from_etl,), (from_xml,) = _read(etl), _read(xml)
    assert from_etl.fields == from_xml.fields == event.fields
    assert from_etl.event_id == from_xml.event_id == event_id
    assert from_etl.time == from_xml.time
    with etl.open("rb") as handle:
        (decoded,) = read_etl(handle, etl.name, EtlReading(EtlStats(etl.name)), wmi_providers())
    assert decoded.provider == "Microsoft-Windows-WMI-Activity"
    assert decoded.channel == "Microsoft-Windows-WMI-Activity/Trace"


def test_a_payload_shorter_than_its_template_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    """An older build's shorter event 13 (only OperationId): the fields present are kept, and it is said."""
    import struct

    etl = tmp_path / "short.etl"
    etl.write_bytes(to_etl([], extra=[event_record(13, 1.0, struct.pack("<I", 77))]))
    report = TraceFile(str(etl), "")
    (event,) = _read(etl, report)
    assert event.fields == {"OperationId": "77"}
    assert report.detail["short_payloads"] == 1 and "fewer fields than their template" in report.problems[0]


def test_events_of_other_providers_are_counted_not_decoded(tmp_path: Path) -> None:
    import uuid

    other = uuid.UUID("22FB2CD6-0E7B-422B-A0C7-2FAD1FD0E716").bytes_le  # some other manifest provider
    etl = tmp_path / "other.etl"
    etl.write_bytes(to_etl([_sample(11)], extra=[event_record(5, 2.0, b"\x01\x00\x00\x00", guid=other)]))
    report = TraceFile(str(etl), "")
    events = _read(etl, report)
    assert [e.event_id for e in events] == [11]
    assert report.detail["records"] == {"system": 1, "event": 2}
