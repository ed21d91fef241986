"""The trace collector keeps only what the security checks join, within fixed bounds (hand-made events: a log of
this size is not in the corpus)."""

from __future__ import annotations

from wmidoctor.artifacts.evtx import Event
from wmidoctor.logs.traces import MAX_LOGONS, SECURITY, SYSMON, TraceCollector


def _event(provider: str, event_id: int, record: int, **fields: str) -> Event:
    return Event(
        "ch",
        provider,
        event_id,
        record,
        "2024-05-01T10:00:00.000000Z",
        "HOST",
        4,
        fields,
        f"evtx:x.evtx#record {record}",
    )


def test_memory_is_bounded_and_the_newest_logons_are_kept():
    collector = TraceCollector()
    for n in range(MAX_LOGONS + 5000):
        collector.add(
            _event(
                SECURITY,
                4624,
                n,
                LogonType="3",
                TargetUserName="u",
                TargetDomainName="D",
                TargetLogonId=hex(n),
                IpAddress="127.0.0.2",
            )
        )
        collector.add(_event(SYSMON, 1, n, Image="C:\\x\\notepad.exe", ParentImage="C:\\x\\explorer.exe"))
    collector.add(_event(SECURITY, 4624, 1, LogonType="2", TargetLogonId="0x1"))  # interactive: not kept
    traces = collector.section("logs")
    assert len(traces.logons) == MAX_LOGONS and traces.logons[-1].logon_id == hex(MAX_LOGONS + 4999)
    assert traces.processes == []  # processes WMI did not start are not kept


def test_a_4688_names_the_new_process_account_and_its_session():
    collector = TraceCollector()
    collector.add(
        _event(
            SECURITY,
            4688,
            7,
            NewProcessName="C:\\Windows\\System32\\GruntHTTP2.exe",
            NewProcessId="0xef0",
            ParentProcessName="C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
            ProcessId="0xd84",
            SubjectUserName="WS6$",
            SubjectDomainName="CORP",
            SubjectLogonId="0x3e4",
            TargetUserName="operator",
            TargetDomainName="CORP",
            TargetLogonId="0xC93745",
        )
    )
    (process,) = collector.section().processes
    assert (process.pid, process.parent_pid, process.user, process.logon_id) == (
        "3824",
        "3460",
        "CORP\\operator",
        "0xc93745",
    )
