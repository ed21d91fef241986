"""XML exports (with and without a root element, UTF-8 or UTF-16) normalise exactly like the .evtx."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmidoctor.artifacts.evtx import LogStats, read_log

USERDATA_EVENT = """<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>
<Provider Name="Microsoft-Windows-WMI-Activity" Guid="{1418EF04-B0B4-4623-BF7E-D74AB47BBDAA}"/>
<EventID>5858</EventID><Level>2</Level><TimeCreated SystemTime="2024-05-01T13:14:15.1234567Z"/>
<EventRecordID>42</EventRecordID><Channel>Microsoft-Windows-WMI-Activity/Operational</Channel>
<Computer>HOST1</Computer></System><UserData><Operation_ClientFailure
xmlns="http://manifests.microsoft.com/win/2006/windows/WMI"><Id>{00000000-0000-0000-0000-000000000000}</Id>
<ClientMachine>HOST1</ClientMachine><User>CONTOSO\\svc</User><ClientProcessId>4242</ClientProcessId>
<Component>Unknown</Component>
<Operation>Start IWbemServices::ExecQuery - root\\cimv2 : SELECT * FROM Win32_Nope</Operation>
<ResultCode>0x80041010</ResultCode><PossibleCause>Unknown</PossibleCause></Operation_ClientFailure></UserData></Event>"""

EVENTDATA_EVENT = """<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>
<Provider Name="Microsoft-Windows-WMI" EventSourceName="WinMgmt"/><EventID Qualifiers="49152">10</EventID>
<Level>2</Level><TimeCreated SystemTime="2024-05-01T13:20:00.000Z"/><EventRecordID>7</EventRecordID>
<Channel>Application</Channel><Computer>HOST1</Computer></System><EventData><Data>//./root/subscription</Data>
<Data>SELECT * FROM __InstanceModificationEvent WITHIN 60</Data><Data>0x80041003</Data></EventData></Event>"""


def _events(path: Path, stats: LogStats | None = None) -> list:
    return list(read_log(path, stats or LogStats(str(path)), lambda provider, event_id: True))


def _strip_source(events: list) -> list:
    for event in events:
        event.source = event.source.partition("#")[2]
    return events


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name",
    [
        "hosts/fukusuket-win10/Microsoft-Windows-WMI-Activity%4Operational.evtx",
        "hosts/artemis-win10/Application.evtx",
        "hosts/fukusuket-win10/System.evtx",
        "evtx-attack-samples__sysmon_20_21_1_CommandLineEventConsumer.evtx",
    ],
)
@pytest.mark.parametrize("layout", ["bare", "rooted", "declarations", "utf16"])
def test_xml_export_normalises_like_the_evtx(corpus: Path, tmp_path: Path, name: str, layout: str) -> None:
    import evtx

    source = corpus / "evtx" / name
    records = [r["data"] for r in evtx.PyEvtxParser(str(source)).records()]
    bodies = [r.split("?>", 1)[1] for r in records]  # evtx writes a declaration before every record
    text = {
        "bare": "\n".join(bodies),
        "rooted": '<?xml version="1.0" encoding="utf-8"?>\n<Events>' + "".join(bodies) + "</Events>",
        "declarations": "".join(records),
        "utf16": "".join(bodies),
    }[layout]
    export = tmp_path / "export.xml"
    export.write_bytes(text.encode("utf-16") if layout == "utf16" else text.encode("utf-8"))
    from_evtx = _strip_source(_events(source))
    stats = LogStats(str(export))
    from_xml = _strip_source(_events(export, stats))
    assert len(from_xml) == len(records) == len(from_evtx)
    assert from_xml == from_evtx
    assert stats.kind == "xml" and not stats.problems


def test_userdata_and_eventdata_forms(tmp_path: Path) -> None:
    export = tmp_path / "handmade.xml"
    export.write_text(USERDATA_EVENT + "\n" + EVENTDATA_EVENT, encoding="utf-8")
    stats = LogStats(str(export))
    failure, filter_error = _events(export, stats)
    assert failure.fields["ResultCode"] == "0x80041010"
    assert failure.fields["ClientProcessId"] == "4242"
    assert failure.time == "2024-05-01T13:14:15.123456Z"
    assert failure.source == "xml:handmade.xml#record 42"
    assert filter_error.fields == {
        "param1": "//./root/subscription",
        "param2": "SELECT * FROM __InstanceModificationEvent WITHIN 60",
        "param3": "0x80041003",
    }
    assert filter_error.level == 2 and filter_error.event_id == 10
    assert stats.records_read == 2 and stats.counts[("Application", "Microsoft-Windows-WMI", 10)] == 1


def test_malformed_xml_keeps_what_was_read(tmp_path: Path) -> None:
    export = tmp_path / "broken.xml"
    export.write_text(USERDATA_EVENT + "<Event><System><oops></Event>", encoding="utf-8")
    stats = LogStats(str(export))
    events = _events(export, stats)
    assert len(events) == 1 and stats.problems and "malformed" in stats.problems[0]
