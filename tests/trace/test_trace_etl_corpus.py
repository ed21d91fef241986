"""The ETL reader on the three real ETL files of the corpus (AMSI, shutdown diagnostics, WSL kernel).

Record counts are asserted twice: against figures read independently with etl-parser 1.0.1 (recorded
here, so the test also runs where etl-parser is not installed) and, where it is installed, against
etl-parser itself. etl-parser leaves out the first buffer (the logfile header's), so the comparison is on
the other buffers; the first buffer's records are counted by our walk alone.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest

from wmidoctor.artifacts.etl import EtlReading, EtlStats, ManifestProvider, compile_template, guid_bytes, read_etl

pytestmark = pytest.mark.corpus

# file -> (buffers, records per header kind outside the first buffer (etl-parser 1.0.1), first-buffer records)
EXPECTED = {
    "etl-parser__AMSITrace.etl": (6, {"event": 19}, 2),
    "etl-parser__ShutdownPerfDiagLogger.etl": (49, {"perfinfo": 8645, "system": 8430}, 3),
    "etl-parser__lxcore_kernel.etl": (3, {"event": 2}, 2),
}
# What etl-parser's observer calls each kind of record.
ORACLE_KINDS = {
    "on_event_record": "event",
    "on_perfinfo_trace": "perfinfo",
    "on_system_trace": "system",
    "on_trace_record": "classic",
    "on_win_trace": "wintrace",
}


def _read(path: Path, providers: dict | None = None) -> tuple[EtlReading, list]:
    reading = EtlReading(EtlStats(str(path)))
    with open(path, "rb") as handle:
        events = list(read_etl(handle, path.name, reading, providers or {}))
    return reading, events


def _outside_first_buffer(path: Path) -> Counter[str]:
    """Our counts minus the first buffer's, by walking again with the first buffer cut off."""
    reading, _ = _read(path)
    counts = Counter(reading.container.records)
    data = path.read_bytes()
    first_size = int.from_bytes(data[:4], "little")
    header_only = EtlReading(EtlStats("first"))
    list(read_etl(io.BytesIO(data[:first_size]), "first", header_only, {}))
    counts.subtract(header_only.container.records)
    return +counts


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_etl_files_are_read_without_error(corpus: Path, name: str) -> None:
    path = corpus / "etl" / name
    buffers, rest, first = EXPECTED[name]
    reading, _ = _read(path)
    stats = reading.container
    assert stats.problems == [] and not stats.unreadable and stats.buffers_skipped == 0
    assert stats.buffers == buffers
    assert stats.first_buffer_records == first
    assert _outside_first_buffer(path) == Counter(rest)
    assert stats.pointer_size == 8 and stats.start_filetime > 0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_match_etl_parser(corpus: Path, name: str) -> None:
    etl = pytest.importorskip("etl.etl", reason="etl-parser (the oracle) is not installed")
    counts: Counter[str] = Counter()

    class Observer(etl.IEtlFileObserver):
        pass

    for method, kind in ORACLE_KINDS.items():
        setattr(Observer, method, lambda self, _obj, kind=kind: counts.update([kind]))
    Observer.__abstractmethods__ = frozenset()
    path = corpus / "etl" / name
    etl.build_from_stream(path.read_bytes()).parse(Observer())
    assert counts == _outside_first_buffer(path)


def test_manifest_events_decode_with_times_inside_the_session(corpus: Path) -> None:
    """The AMSI file's 19 event records go through the manifest path: provider, id and a time converted
    from the QPC clock that falls between the session's start and end."""
    path = corpus / "etl" / "etl-parser__AMSITrace.etl"
    reading, _ = _read(path)
    (((guid, event_id), count),) = reading.other_events.items()
    assert count == 19
    provider = ManifestProvider("AMSI-test", "test", {event_id: compile_template([])})
    reading, events = _read(path, {guid_bytes(guid): provider})
    assert len(events) == 19 and reading.decoded[("AMSI-test", event_id)] == 19
    start = _iso_filetime(reading.container.start_filetime)
    end = _iso_filetime(reading.container.end_filetime)
    assert all(start <= e.time <= end for e in events), (start, end, events[0].time)
    # buffers are written per processor, so file order is not time order: the analysis must not assume it
    assert [e.time for e in events] != sorted(e.time for e in events)


def _iso_filetime(value: int) -> str:
    from datetime import datetime, timedelta, timezone

    return (datetime(1601, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=value // 10)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )


def test_the_cli_reads_the_corpus_files_and_finds_no_wmi_events(corpus: Path, cli) -> None:
    result = cli("trace", "--json", str(corpus / "etl"))
    assert result.returncode == 0, result.stderr
    import json

    report = json.loads(result.stdout)
    assert [f["records_read"] for f in report["files"]] == [21, 17078, 4]
    assert report["summary"]["events"] == 0
    assert {f["status"] for f in report["findings"]} == {"skipped"}
