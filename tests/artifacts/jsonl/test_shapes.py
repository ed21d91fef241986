"""Every shape normalises into the Event an .evtx or XML export gives: hand-made records of the documented
field names (see fixtures.py) against the XML form of the same event, and real .evtx records re-exported
as evtx-json and as Winlogbeat documents against the .evtx itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.artifacts.jsonl import fixtures

from wmidoctor.artifacts.evtx import LogStats, read_log


def _read(path: Path, stats: LogStats | None = None) -> list:
    return list(read_log(path, stats or LogStats(str(path)), lambda provider, event_id: True))


def _reference(tmp_path: Path):
    export = tmp_path / "reference.xml"
    export.write_text(fixtures.USERDATA_XML, encoding="utf-8")
    (event,) = _read(export)
    return event


EXPECTED_SHAPE = {
    "winlogbeat": "winlogbeat",
    "winlogbeat-flattened": "winlogbeat",
    "winlogbeat-6": "winlogbeat",
    "elasticsearch-hit": "winlogbeat",
    "splunk-xml": "splunk",
    "splunk-classic": "splunk",
    "sentinel-event": "sentinel-event",
    "sentinel-windowsevent": "sentinel-windowsevent",
    "nxlog": "nxlog",
}
# Exports that do not carry the record number or sub-second time keep what they have.
NO_RECORD_ID = {"sentinel-event"}
SECONDS_ONLY = {"splunk-classic", "nxlog"}


@pytest.mark.parametrize("name", sorted(fixtures.SAME_5858))
def test_each_shape_gives_the_event_of_the_xml_export(tmp_path: Path, name: str) -> None:
    reference = _reference(tmp_path)
    export = tmp_path / f"{name}.jsonl"
    export.write_text(fixtures.line(fixtures.SAME_5858[name]), encoding="utf-8")
    stats = LogStats(str(export))
    (event,) = _read(export, stats)
    assert stats.kind == "jsonl" and dict(stats.shapes) == {EXPECTED_SHAPE[name]: 1} and not stats.problems
    assert (event.channel, event.provider, event.event_id, event.computer) == (
        reference.channel,
        reference.provider,
        reference.event_id,
        reference.computer,
    )
    assert event.fields == reference.fields
    assert event.record_id == (0 if name in NO_RECORD_ID else 42)
    assert event.time[:19] == reference.time[:19]
    if name == "splunk-xml":  # the event XML itself: the full precision of the .evtx
        assert event.time == reference.time
    elif name not in SECONDS_ONLY:  # the exports' own stamps carry milliseconds
        assert event.time == "2024-05-01T13:14:15.123000Z"
    assert event.source == f"jsonl:{name}.jsonl#line 1"
    assert stats.counts == {(reference.channel, reference.provider, 5858): 1}


def test_securityevent_reads_eventdata_xml(tmp_path: Path) -> None:
    export = tmp_path / "securityevent.json"
    export.write_text(fixtures.line(fixtures.SENTINEL_SECURITYEVENT), encoding="utf-8")
    (event,) = _read(export)
    assert (event.channel, event.provider, event.event_id) == ("Security", "Microsoft-Windows-Security-Auditing", 4688)
    assert event.fields == fixtures.SECURITY_4688_XML_DATA
    assert event.time == "2024-05-01T13:14:20.000000Z"


def test_mixed_file_counts_each_shape_and_reports_unknown_ones(tmp_path: Path) -> None:
    export = tmp_path / "mixed.ndjson"
    lines = [fixtures.line(record) for record in fixtures.SAME_5858.values()]
    lines.insert(3, json.dumps({"message": "a syslog line, not a Windows event"}) + "\n")
    export.write_text("".join(lines), encoding="utf-8")
    stats = LogStats(str(export))
    events = _read(export, stats)
    assert len(events) == stats.records_read == len(fixtures.SAME_5858)
    assert stats.shapes["unrecognised"] == 1
    assert stats.shapes["winlogbeat"] == 4 and stats.shapes["splunk"] == 2 and stats.shapes["nxlog"] == 1
    assert any("1 unread line (no known export shape), first at line 4" in p for p in stats.problems)
    assert not stats.damaged  # unknown shapes are reported, not damage


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name",
    [
        "evtx-attack-samples__sysmon_20_21_1_CommandLineEventConsumer.evtx",
        "hosts/fukusuket-win10/Microsoft-Windows-WMI-Activity%4Operational.evtx",
        "omerbenamram-evtx__system.evtx",
    ],
)
def test_real_records_as_evtx_json_and_winlogbeat_match_the_evtx(corpus: Path, tmp_path: Path, name: str) -> None:
    """Real .evtx records written as evtx_dump JSON lines, and as Winlogbeat documents carrying the reader's
    own normalised values (event_data or user_data), read back to the same events."""
    import evtx

    source = corpus / "evtx" / name
    from_evtx = _read(source)
    records = [r["data"] for r in evtx.PyEvtxParser(str(source)).records_json()]
    as_json = tmp_path / "evtx.jsonl"
    as_json.write_text("".join(json.dumps(json.loads(r)) + "\n" for r in records), encoding="utf-8")
    beats = tmp_path / "winlogbeat.ndjson"
    beats.write_text(
        "".join(
            fixtures.line(
                {
                    "@timestamp": e.time,
                    "winlog": {
                        "channel": e.channel,
                        "provider_name": e.provider,
                        "event_id": str(e.event_id),
                        "record_id": str(e.record_id),
                        "computer_name": e.computer,
                        ("user_data" if e.provider.endswith("WMI-Activity") else "event_data"): e.fields,
                    },
                }
            )
            for e in from_evtx
        ),
        encoding="utf-8",
    )
    for export in (as_json, beats):
        stats = LogStats(str(export))
        read = _read(export, stats)
        assert stats.records_read == len(records) == len(from_evtx)
        assert [(e.channel, e.provider, e.event_id, e.record_id, e.time, e.computer, e.fields) for e in read] == [
            (e.channel, e.provider, e.event_id, e.record_id, e.time, e.computer, e.fields) for e in from_evtx
        ]


def test_dcom_10028_from_an_nxlog_export_reaches_the_dcom_view(tmp_path: Path, cli) -> None:
    """None of the five OTRF exports holds a DCOM event, so this NXLog record is hand-made (System log,
    DistributedCOM 10028 with its param1..3 inserts as NXLog flattens them)."""
    record = {
        **{k: v for k, v in fixtures.NXLOG.items() if k != "Message"},
        "Channel": "System",
        "SourceName": "Microsoft-Windows-DistributedCOM",
        "EventID": 10028,
        "Hostname": "POLLER1",
        "param1": "SRV2",
        "param2": "4242",
        "param3": "C:\\Program Files\\Poller\\poller.exe",
    }
    export = tmp_path / "system.jsonl"
    export.write_text(fixtures.line(record))
    report = json.loads(cli("logs", "--json", str(export)).stdout)
    (row,) = report["dcom"]
    assert (row["event_id"], row["kind"]) == (10028, "dcom-unreachable")
    assert row["fields"]["Computer"] == "SRV2" and row["first_seen"] == "2024-05-01T13:14:15.000000Z"


def test_logs_help_lists_every_shape(cli) -> None:
    from wmidoctor.artifacts.jsonl import SHAPES

    text = cli("logs", "--help").stdout
    assert all(f"{name}:" in text for name in SHAPES)
    assert "16 MiB" in text


def test_log_analytics_csv_export_reads_like_the_json_rows(tmp_path: Path) -> None:
    """A portal CSV export (hand-made: columns of the Event table, `TimeGenerated [UTC]` header, the portal's
    time rendering, EventData XML quoted across lines) gives the events the JSON rows give."""
    import csv

    reference = _reference(tmp_path)
    columns = [
        "TenantId",
        "TimeGenerated [UTC]",
        "Source",
        "EventLog",
        "Computer",
        "EventLevel",
        "EventID",
        "EventData",
        "RenderedDescription",
        "Type",
    ]
    rows = [
        {
            **fixtures.SENTINEL_EVENT,
            "TimeGenerated [UTC]": "5/1/2024, 1:14:15.123 PM",
            "EventData": fixtures.SENTINEL_EVENT["EventData"].replace("><", ">\n<"),
        },
        {**fixtures.SENTINEL_EVENT, "TimeGenerated [UTC]": "5/1/2024, 1:20:00.000 PM"},
    ]
    export = tmp_path / "query_data.csv"
    with export.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        handle.write('"broken,row\n')
    stats = LogStats(str(export))
    first, second = _read(export, stats)
    assert stats.kind == "csv" and dict(stats.shapes) == {"sentinel-event": 2}
    assert first.fields == reference.fields and first.time == "2024-05-01T13:14:15.123000Z"
    assert second.time == "2024-05-01T13:20:00.000000Z"
    second_line = 2 + rows[0]["EventData"].count("\n") + 1  # the first row spans its EventData's lines
    assert first.source.endswith("#line 2") and second.source.endswith(f"#line {second_line}")
    assert stats.records_skipped == 1 and stats.problems[0].startswith("1 damaged line")


def test_winlogbeat_record_whose_winlog_is_not_an_object_is_set_aside(tmp_path: Path) -> None:
    # Hand-made: a flattened record whose later "winlog" key overwrites the object the dotted names built.
    # Found by mypy: `winlog.get` on a string raised AttributeError and `logs` stopped with an internal error.
    export = tmp_path / "odd.jsonl"
    odd = {"winlog.event_id": 5858, "winlog.channel": "Microsoft-Windows-WMI-Activity/Operational", "winlog": "x"}
    export.write_text(fixtures.line(odd) + fixtures.line(fixtures.WINLOGBEAT), encoding="utf-8")
    stats = LogStats(str(export))
    (event,) = _read(export, stats)
    assert event.event_id == 5858 and stats.records_read == 1
    assert stats.problems
