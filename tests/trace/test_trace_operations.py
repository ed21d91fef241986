"""Pairing and aggregation of WMI-Activity trace events.

No public capture of the Trace channel exists: the events here are built from the provider's published
templates (trace_factories), written as an XML export, a .evtx and an ETL file, and read back through the same
readers a real capture goes through.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from trace_factories import Scenario, TraceEvent, to_etl, to_evtx, to_xml

from wmidoctor.artifacts.evtx.event import Event
from wmidoctor.trace import operations
from wmidoctor.trace.operations import TraceAnalysis, parse_operation
from wmidoctor.trace.report import build_report
from wmidoctor.trace.run import analyse


def _write(tmp_path: Path, events: list[TraceEvent], kind: str) -> Path:
    path = tmp_path / f"trace.{kind}"
    if kind == "xml":
        path.write_text(to_xml(events), encoding="utf-8")
    elif kind == "evtx":
        path.write_bytes(to_evtx(events))
    else:
        path.write_bytes(to_etl(events))
    return path


def mixed() -> Scenario:
    s = Scenario()
    # client 100: 10 Win32_Product queries of 1..10 s; client 200: 4 quick queries, one failing
    for i in range(10):
        s.operation(
            i * 20.0, float(i + 1), pid=100, query="select * from Win32_Product", provider="MsiProv", host_id=3100
        )
    for i in range(4):
        s.operation(
            5.0 + i,
            0.25,
            pid=200,
            namespace="root\\StandardCimv2",
            query="select * from MSFT_NetAdapter",
            result="0x80041010" if i == 3 else "0x0",
        )
    s.operation(190.0, None, pid=300, query="select * from Win32_LogicalDisk")  # never finishes: 250 s open
    s.operation(
        191.0,
        None,
        pid=301,
        method="ExecNotificationQuery",
        query="SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Process'",
    )
    s.operation(440.0, 0.5, pid=200)  # the last event: trace end at 440.5 s
    return s


@pytest.fixture(params=["xml", "evtx", "etl"])
def report(request, tmp_path: Path) -> dict:
    return build_report(analyse([str(_write(tmp_path, mixed().ordered(), request.param))]))


def test_operation_text_is_split_into_method_namespace_class_and_query() -> None:
    assert parse_operation("Start IWbemServices::ExecQuery - root\\cimv2 : select * from Win32_Product") == (
        "IWbemServices::ExecQuery",
        "root\\cimv2",
        "Win32_Product",
        "select * from Win32_Product",
    )
    assert (
        parse_operation('Start IWbemServices::GetObject - root\\cimv2 : Win32_Service.Name="Winmgmt"')[2]
        == "Win32_Service"
    )
    assert (
        parse_operation("Start IWbemServices::ExecMethod - root\\cimv2 : Win32_Process::Create")[2] == "Win32_Process"
    )
    assert parse_operation("Start IWbemServices::Connect") == ("IWbemServices::Connect", "", "", "")


def test_starts_and_stops_are_paired_per_client(report: dict) -> None:
    s = report["summary"]
    assert (s["operations"], s["completed"], s["unfinished"], s["failed"]) == (17, 15, 2, 1)
    clients = {c["key"]: c for c in report["clients"]}
    heavy = clients["pid 100 on HOST1"]
    assert heavy["count"] == 10 and heavy["busy_ms"] == 55_000.0  # 1 + 2 + ... + 10 s
    assert (heavy["p50_ms"], heavy["p95_ms"], heavy["max_ms"]) == (5000.0, 10000.0, 10000.0)
    light = clients["pid 200 on HOST1"]
    assert light["count"] == 5 and light["busy_ms"] == 1500.0 and light["failures"] == {"0x80041010": 1}
    assert report["clients"][0]["key"] == "pid 100 on HOST1"
    assert heavy["share"] == round(55_000 / 56_500, 4)
    assert s["busy_s"] == 56.5


def test_namespaces_requests_and_providers(report: dict) -> None:
    namespaces = {n["key"]: n["count"] for n in report["namespaces"]}
    assert namespaces == {"root\\cimv2": 11, "root\\standardcimv2": 4}
    requests = {r["key"]: r["count"] for r in report["requests"]}
    assert requests["IWbemServices::ExecQuery Win32_Product"] == 10
    assert requests["IWbemServices::ExecQuery MSFT_NetAdapter"] == 4
    assert report["providers"][0]["key"] == "MsiProv" and report["providers"][0]["count"] == 10
    assert report["provider_loads"] == [
        {"provider": "MsiProv", "host_process_id": "3100", "path": "%systemroot%\\system32\\wbem\\x.dll", "events": 10}
    ]
    assert report["failures"] == [{"code": "0x80041010", "count": 1}]


def test_operations_that_never_finish_are_found_and_event_queries_are_exempt(report: dict) -> None:
    unfinished = {u["client"]: u for u in report["unfinished"]}
    assert set(unfinished) == {"pid 300 on HOST1", "pid 301 on HOST1"}
    assert unfinished["pid 300 on HOST1"]["open_ms"] == 250_500.0
    assert not unfinished["pid 300 on HOST1"]["open_by_design"]
    assert unfinished["pid 301 on HOST1"]["open_by_design"]
    findings = {f["check"]: f for f in report["findings"]}
    stuck = findings["trace.unfinished-operations"]
    assert stuck["status"] == "warn" and "1 WMI operation(s)" in stuck["summary"]
    assert "Win32_LogicalDisk" in stuck["evidence"][0]["detail"]
    # 10 operations is not load: the dominant-client check does not fire on a quiet trace
    assert findings["trace.dominant-client"]["status"] == "pass"


def test_slowest_operations_and_concurrency(report: dict) -> None:
    assert [o["duration_ms"] for o in report["slowest"][:3]] == [10000.0, 9000.0, 8000.0]
    # the two operations that never finish are still open when the last one starts at 440 s
    assert report["summary"]["peak_concurrency"] == 3
    lanes = {lane["client"]: lane for lane in report["timeline"]["lanes"]}
    assert sum(lanes["pid 100 on HOST1"]["busy_ms"]) == 55_000.0
    assert lanes["pid 300 on HOST1"]["open_since_s"] == [190.0]


@pytest.mark.parametrize("kind", ["evtx", "etl"])
def test_every_format_gives_the_same_analysis(tmp_path: Path, kind: str) -> None:
    events = mixed().ordered()
    xml = build_report(analyse([str(_write(tmp_path, events, "xml"))]))
    other = build_report(analyse([str(_write(tmp_path, events, kind))]))
    for part in ("summary", "clients", "namespaces", "requests", "unfinished", "timeline", "findings"):
        left, right = xml[part], other[part]
        if part == "unfinished":
            left = [{k: v for k, v in u.items() if k != "source"} for u in left]
            right = [{k: v for k, v in u.items() if k != "source"} for u in right]
        if part == "findings":
            left = [{k: v for k, v in f.items() if k != "evidence"} for f in left]
            right = [{k: v for k, v in f.items() if k != "evidence"} for f in right]
        assert left == right, part


def _event(event_id: int, second: float, **fields: str) -> Event:
    from trace_factories import iso

    return Event(
        "Microsoft-Windows-WMI-Activity/Trace",
        "Microsoft-Windows-WMI-Activity",
        event_id,
        1,
        iso(second),
        "",
        4,
        dict(fields),
        "test",
    )


def test_a_stop_read_before_its_start_still_pairs_and_a_lone_stop_is_counted() -> None:
    """ETL buffers are per processor: a stop can come first in file order."""
    analysis = TraceAnalysis()
    analysis.add(_event(13, 2.0, OperationId="7", ResultCode="0x80041032"))
    analysis.add(
        _event(
            11,
            1.0,
            OperationId="7",
            GroupOperationId="6",
            ClientProcessId="9",
            Operation="Start IWbemServices::ExecQuery - root\\cimv2 : select * from Win32_Process",
        )
    )
    analysis.add(_event(13, 3.0, OperationId="99"))  # its start was before the trace
    analysis.finish()
    assert analysis.completed == 1 and analysis.orphan_stops == 1 and not analysis.unfinished
    tally = analysis.clients.tallies["pid 9"]
    assert tally.total_us == 1_000_000 and tally.failures == {"0x80041032": 1}


def test_legacy_events_1_and_3_pair_too() -> None:
    analysis = TraceAnalysis()
    analysis.add(
        _event(
            1,
            0.0,
            OperationId="5",
            GroupOperationId="4",
            ClientProcessId="77",
            User="u",
            Operation="Start IWbemServices::GetObject - root\\default : StdRegProv",
            ClientMachine="H",
        )
    )
    analysis.add(_event(3, 0.75, OperationId="5"))
    analysis.finish()
    assert analysis.clients.tallies["pid 77 on H"].total_us == 750_000


def test_memory_is_bounded_by_key_caps_and_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(operations, "MAX_KEYS", 50)
    monkeypatch.setattr(operations, "SAMPLE_SIZE", 64)
    analysis = TraceAnalysis()
    for i in range(2000):
        analysis.add(
            _event(
                11,
                i * 0.01,
                OperationId=str(i),
                ClientProcessId=str(i % 500),
                Operation=f"Start IWbemServices::ExecQuery - root\\cimv2 : select * from C{i}",
            )
        )
        analysis.add(_event(13, i * 0.01 + 0.005, OperationId=str(i)))
    analysis.finish()
    assert len(analysis.clients.tallies) == 50 and len(analysis.queries.tallies) == 50
    assert analysis.clients.tallies["(other)"].count == 2000 - 49 * 4
    assert all(len(t.sample) <= 64 for t in analysis.queries.tallies.values())
    assert analysis.completed == 2000 and not analysis.open


def test_a_key_merged_from_many_requests_keeps_a_bounded_sample_with_close_percentiles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One client asking 40 different queries, 25 times each, durations 1..1000 ms spread over them: its merged
    sample is thinned to SAMPLE_SIZE once merged, and its percentiles stay within two of the sample's steps (1000
    durations / 64 kept: ~16 ms each) of the exact ones."""
    monkeypatch.setattr(operations, "SAMPLE_SIZE", 64)
    analysis = TraceAnalysis()
    for i in range(1000):
        start = i * 2.0
        analysis.add(
            _event(
                11,
                start,
                OperationId=str(i),
                ClientProcessId="42",
                Operation=f"Start IWbemServices::ExecQuery - root\\cimv2 : select * from C{i % 40}",
            )
        )
        analysis.add(_event(13, start + (1 + (i * 7919) % 1000) / 1000, OperationId=str(i)))
    analysis.finish()
    tally = analysis.clients.tallies["pid 42"]
    assert tally.count == 1000 and len(tally.sample) == 64
    exact = sorted((1 + (i * 7919) % 1000) * 1000 for i in range(1000))
    for fraction in (0.5, 0.9, 0.99):
        assert abs(tally.percentile(fraction) - exact[int(fraction * 1000) - 1]) <= 2 * 1_000_000 // 64
    assert all(len(t.sample) == 25 for t in analysis.queries.tallies.values())


def test_durations_settled_in_batches_give_the_tally_one_by_one_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stops hand their durations to a tally in batches (PENDING); the count, total, maximum and the reservoir
    sample past SAMPLE_SIZE must be what settling after every single duration gives."""
    monkeypatch.setattr(operations, "SAMPLE_SIZE", 50)
    durations = [(i * 7919) % 1009 for i in range(700)]
    one_by_one, batched = operations.Tally(), operations.Tally()
    for duration in durations:
        one_by_one.pending.append(duration)
        one_by_one.settle()
    for start in range(0, len(durations), 64):
        batched.pending += durations[start : start + 64]
        batched.settle()
    assert one_by_one.count == batched.count == 700 and len(batched.sample) == 50
    expected = (sum(durations), max(durations))
    assert (one_by_one.total_us, one_by_one.max_us) == (batched.total_us, batched.max_us) == expected
    assert one_by_one.sample == batched.sample and batched.sample != durations[:50]  # the reservoir did replace
