"""Grouping, naming and selection rules of the analysis, on hand-made events."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from wmidoctor.artifacts.evtx import Event
from wmidoctor.errors import InputError
from wmidoctor.logs.analysis import MAX_GROUPS_PER_ID, Analysis
from wmidoctor.logs.report import build_report
from wmidoctor.logs.selection import scm_service, wanted
from wmidoctor.logs.shapes import normalise_code, split_operation
from wmidoctor.logs.window import parse_time
from wmidoctor.sources.events import events_section

ACTIVITY = "Microsoft-Windows-WMI-Activity"


def _event(
    provider: str,
    event_id: int,
    fields: dict[str, str],
    time: str = "2024-05-01T10:00:00.000000Z",
    record: int = 1,
    channel: str = "Microsoft-Windows-WMI-Activity/Operational",
) -> Event:
    return Event(channel, provider, event_id, record, time, "HOST", 2, fields, f"evtx:x.evtx#record {record}")


def _failure(pid: str, code: str, query: str = "SELECT * FROM Win32_Nope", **kw) -> Event:
    return _event(
        ACTIVITY,
        5858,
        {
            "ClientProcessId": pid,
            "ResultCode": code,
            "User": "U",
            "ClientMachine": "H",
            "Operation": f"Start IWbemServices::ExecQuery - root\\cimv2 : {query}",
        },
        **kw,
    )


def test_failures_group_by_code_operation_and_client_with_names_from_other_events() -> None:
    analysis = Analysis()
    analysis.add(_failure("4242", "0x80041003", time="2024-05-01T10:00:00.000000Z"))
    analysis.add(_failure("4242", "0x80041003", time="2024-05-01T12:30:00.000000Z", record=2))
    analysis.add(_failure("77", "0x80041032", record=3))
    analysis.add(
        _event(
            "Microsoft-Windows-Sysmon",
            1,
            {"ProcessId": "4242", "Image": "C:\\Tools\\poller.exe"},
            channel="Microsoft-Windows-Sysmon/Operational",
        )
    )
    report = build_report(analysis, [])
    assert [(r["code"], r["count"]) for r in report["failures_by_code"]] == [("0x80041003", 2), ("0x80041032", 1)]
    client = report["clients"][0]
    assert (client["process_id"], client["process_names"], client["count"]) == ("4242", ["poller.exe"], 2)
    operation = report["operations"][0]
    assert (operation["namespace"], operation["method"], operation["target"], operation["example"]) == (
        "root\\cimv2",
        "ExecQuery",
        "Win32_Nope",
        "SELECT * FROM Win32_Nope",
    )
    assert report["hourly"] == {"2024-05-01T10": 2, "2024-05-01T12": 1}
    assert report["groups"][0]["first_seen"] < report["groups"][0]["last_seen"]


def test_quota_kill_names_the_providers_of_its_host_process() -> None:
    analysis = Analysis()
    analysis.add(
        _event(
            ACTIVITY,
            5857,
            {
                "ProviderName": "LeakyProv",
                "Code": "0x0",
                "HostProcess": "wmiprvse.exe",
                "ProcessID": "900",
                "ProviderPath": "C:\\leaky.dll",
            },
        )
    )
    analysis.add(
        _event(
            "Microsoft-Windows-WMI",
            5612,
            {"param1": "PrivatePageCount", "param2": "536870912", "param3": "536870912", "param4": "900"},
            channel="Application",
        )
    )
    (kill,) = build_report(analysis, [])["quota_kills"]
    # 5857's HostProcess does not name the process: WMI writes wmiprvse.exe there for its own svchost too
    assert (kill["quota"], kill["process_id"], kill["providers"], kill["process_names"]) == (
        "PrivatePageCount",
        "900",
        "LeakyProv",
        [],
    )


def test_a_process_id_is_named_only_while_its_process_lived() -> None:
    """Hand-made records (the corpus logs hold no Sysmon exit): PID 4242 is poller.exe from 09:00 until it
    exits at 11:00; a failure at 12:30 by a later owner of the id is not named after it."""
    analysis = Analysis()
    sysmon = "Microsoft-Windows-Sysmon/Operational"
    analysis.add(
        _event(
            "Microsoft-Windows-Sysmon",
            1,
            {"ProcessId": "4242", "Image": "C:\\Tools\\poller.exe"},
            time="2024-05-01T09:00:00.000000Z",
            channel=sysmon,
        )
    )
    analysis.add(
        _event(
            "Microsoft-Windows-Sysmon",
            5,
            {"ProcessId": "4242", "Image": "C:\\Tools\\poller.exe"},
            time="2024-05-01T11:00:00.000000Z",
            record=2,
            channel=sysmon,
        )
    )
    analysis.add(_failure("4242", "0x80041003", time="2024-05-01T10:00:00.000000Z", record=3))
    analysis.add(_failure("4242", "0x80041010", time="2024-05-01T12:30:00.000000Z", record=4))
    rows = {tuple(r["codes"]): r["process_names"] for r in build_report(analysis, [])["clients"]}
    assert rows == {("0x80041003",): ["poller.exe"], ("0x80041010",): []}
    ev = events_section(analysis)
    from wmidoctor.evidence.processes import describe_pid

    assert (
        describe_pid(ev.processes, "4242", "2024-05-01T12:30:00Z", "2024-05-01T12:30:00Z")
        == "PID 4242 (not known at that time)"
    )


def test_dcom_10016_fields_are_named_and_wmi_components_flagged() -> None:
    analysis = Analysis()
    params = [
        "application-specific",
        "Remote",
        "Launch",
        "{8BC3F05E-D86B-11D0-A075-00C04FB68820}",
        "{8BC3F05E-D86B-11D0-A075-00C04FB68820}",
        "CONTOSO",
        "poller",
        "S-1-5-21-1",
        "192.0.2.5",
        "Unavailable",
        "Unavailable",
    ]
    analysis.add(
        _event(
            "Microsoft-Windows-DistributedCOM",
            10016,
            {f"param{i}": v for i, v in enumerate(params, 1)},
            channel="System",
        )
    )
    (row,) = build_report(analysis, [])["dcom"]
    assert (row["permission"], row["locality"], row["account"], row["wmi_related"]) == (
        "Launch",
        "Remote",
        "CONTOSO\\poller",
        True,
    )
    assert row["fields"]["CLSID"] == params[3] and "Address" not in row["fields"]


def test_scm_events_kept_only_for_wmi_services() -> None:
    assert scm_service({"param1": "Windows Management Instrumentation", "param2": "running"}) == "Winmgmt"
    assert scm_service({"param1": "Instrumentación", "Binary": "570069006E006D0067006D0074000000"}) == "Winmgmt"
    assert scm_service({"param1": "30000", "param2": "RpcSs"}) == "RpcSs"
    assert scm_service({"param1": "Print Spooler", "Binary": "530070006F006F006C00650072000000"}) == ""
    analysis = Analysis()
    analysis.add(_event("Service Control Manager", 7031, {"param1": "Print Spooler"}, channel="System"))
    analysis.add(
        _event(
            "Service Control Manager",
            7031,
            {"param1": "Windows Management Instrumentation", "param2": "1"},
            channel="System",
        )
    )
    (row,) = build_report(analysis, [])["services"]
    assert row["service"] == "Winmgmt"
    assert wanted("Service Control Manager", 7036) and not wanted("Service Control Manager", 7100)
    assert wanted("WinMgmt", 5612) and not wanted("Microsoft-Windows-Kernel-General", 12)


def test_groups_are_capped_per_event_id() -> None:
    analysis = Analysis()
    for i in range(MAX_GROUPS_PER_ID + 50):
        analysis.add(_failure("1", "0x80041017", query=f"SELECT * FROM C{i}", record=i))
    assert len(analysis.groups) == MAX_GROUPS_PER_ID + 1
    assert sum(g.count for g in analysis.groups.values()) == MAX_GROUPS_PER_ID + 50


def test_evidence_section_from_the_analysis() -> None:
    analysis = Analysis()
    analysis.add(_failure("4242", "0x80041003"))
    section = events_section(analysis)
    (group,) = section.of(5858)
    assert group.key["ResultCode"] == "0x80041003" and group.count == 1 and group.source.endswith("#record 1")


def test_operation_codes_and_times() -> None:
    assert split_operation("Start IWbemServices::ExecMethod - ROOT\\Microsoft\\Windows\\Smb : MSFT_SmbShare::F") == (
        "ExecMethod",
        "ROOT\\Microsoft\\Windows\\Smb",
        "MSFT_SmbShare::F",
    )
    assert normalise_code("0x8004100a") == "0x8004100A" and normalise_code("2147749890") == "0x80041002"
    now = datetime(2024, 5, 8, 12, 0, tzinfo=timezone.utc)
    assert parse_time("7d", now=now) == "2024-05-01T12:00:00"
    assert parse_time("2024-05-01T15:00+02:00") == "2024-05-01T13:00:00"
    assert parse_time("2024-05-01", end_of_day=True) == "2024-05-01T23:59:59"
    with pytest.raises(InputError):
        parse_time("soon")
