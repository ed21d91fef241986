"""PerfLib and WMI adapter events: selected as WMI-relevant, named, and read by events.perf-classes."""

from __future__ import annotations

import pytest
from diagnose_factories import healthy, sick
from gap_factories import event

from snapshots import judged
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding
from wmidoctor.logs.selection import wanted
from wmidoctor.logs.shapes import named_fields, shape_of
from wmidoctor.sources.events import collect_events

PERFLIB = "Microsoft-Windows-Perflib"


def run(ev: Evidence) -> Finding:
    return judged("events.perf-classes", ev)


def details(finding: Finding) -> str:
    return " ".join(e.detail for e in finding.evidence)


def test_perflib_failures_and_every_wmi_adapter_event_are_selected():
    assert wanted(PERFLIB, 1008) and wanted("Perflib", 1023)
    assert not wanted(PERFLIB, 1000)
    assert wanted("Microsoft-Windows-WMIAdapter", 1234) and wanted("WMIAdapter", 1)


def test_perflib_inserts_get_names():
    named = named_fields(PERFLIB, 1008, {"param1": "WmiApRpl", "param2": "C:\\Windows\\system32\\wbem\\wmiaprpl.dll"})
    assert named == {"Service": "WmiApRpl", "Library": "C:\\Windows\\system32\\wbem\\wmiaprpl.dll"}
    assert shape_of(PERFLIB, 1023).kind == "perflib-library-not-loaded"
    assert shape_of("Microsoft-Windows-WMI", 48).names == ("Object", "Namespace", "Error")


def test_library_failures_alone_inform_with_the_rebuild_ladder():
    ev = healthy()
    ev.events.groups.append(
        event(PERFLIB, 1008, 4, Service="WmiApRpl", Library="C:\\Windows\\system32\\wbem\\wmiaprpl.dll")
    )
    finding = run(ev)
    assert finding.status == "info"
    assert '"WmiApRpl" (C:\\Windows\\system32\\wbem\\wmiaprpl.dll) failed to open' in details(finding)
    assert [f.command.split(" &&")[0] for f in finding.fixes[:3]] == [
        "lodctr /S:%TEMP%\\perf-counters-before.ini",
        "cd /d %windir%\\system32",
        "winmgmt /resyncperf",
    ]


def test_client_failures_backed_by_library_and_adap_failures_say_so():
    ev = sick("events.perf-classes")
    ev.events.groups += [
        event(PERFLIB, 1023, 2, Library="C:\\Vendor\\perf.dll"),
        event(
            "Microsoft-Windows-WMI",
            48,
            1,
            Object="Win32_PerfRawData_Vendor",
            Namespace="root\\cimv2",
            Error="0x80041001",
        ),
        event("Microsoft-Windows-WMIAdapter", 5, 1),
    ]
    finding = run(ev)
    assert finding.status == "warn" and "counter libraries failing too" in finding.summary
    text = details(finding)
    assert "(C:\\Vendor\\perf.dll) library could not be loaded" in text
    assert "WinMgmt 48" in text and "Win32_PerfRawData_Vendor" in text and "WMI adapter event 5" in text


def test_without_perf_events_the_check_passes():
    assert run(healthy()).status == "pass"


@pytest.mark.corpus
def test_real_application_log_perflib_1008_is_named(corpus):
    ev = healthy()
    ev.events = collect_events(
        [str(corpus / "evtx" / "hosts" / "dfirmuseum-server2012r2-stolenszechuan" / "Application.evtx")]
    )
    finding = run(ev)
    assert finding.status == "info"
    assert '"BITS" (C:\\Windows\\System32\\bitsperf.dll) failed to open' in details(finding)
