"""The rows reader (artifacts.evtx.rows) gives exactly what the generic .evtx reader gives: the same events of a
provider, with the same times, fields and record numbers, and the same counts, damage and time span. Checked on
every real log of the corpus, provider by provider, and on a WMI-Activity trace made from the published templates
(no public capture of the Trace channel exists)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from wmidoctor.artifacts.evtx import LogStats, read_log
from wmidoctor.artifacts.evtx import rows as rows_module
from wmidoctor.artifacts.evtx.rows import read_rows

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "trace"))

WMI_ACTIVITY = "Microsoft-Windows-WMI-Activity"


def _generic(path: Path) -> tuple[LogStats, list]:
    stats = LogStats(str(path))
    return stats, list(read_log(path, stats, lambda provider, event_id: True))


def _rows(path: Path, provider: str, event_ids: set[int]) -> tuple[LogStats, list]:
    stats = LogStats(str(path))
    batches = read_rows(str(path), path.name, stats, provider, frozenset(event_ids))
    return stats, [row for batch in batches for row in batch]


def _reading(stats: LogStats) -> tuple:
    damage = stats.records_skipped, stats.chunks_skipped, stats.problems
    return stats.records_read, damage, stats.first_seen, stats.last_seen


@pytest.fixture
def slow_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Providers whose records were decoded whole (laid out otherwise than the fixed places expect)."""
    slow: Counter[str] = Counter()
    decode_whole = rows_module._slow

    def counted(data: str, locator: str, provider: str, event_ids: frozenset[int]):
        row = decode_whole(data, locator, provider, event_ids)
        if row is not None:
            slow[provider] += 1
        return row

    monkeypatch.setattr(rows_module, "_slow", counted)
    return slow


@pytest.mark.corpus
def test_every_corpus_log_reads_alike_provider_by_provider(corpus: Path, slow_reads: Counter[str]) -> None:
    logs = sorted((corpus / "evtx").rglob("*.evtx"))
    assert len(logs) >= 26
    compared = Counter[str]()
    for path in logs:
        stats, events = _generic(path)
        by_provider: dict[str, set[int]] = {}
        for event in events:
            by_provider.setdefault(event.provider, set()).add(event.event_id)
        for provider, event_ids in by_provider.items():
            row_stats, rows = _rows(path, provider, event_ids)
            expected = [(e.event_id, e.time, e.fields, e.source) for e in events if e.provider == provider]
            assert rows == expected, (path.name, provider)
            assert _reading(row_stats) == _reading(stats), (path.name, provider)
            compared[provider] += len(rows)
    # the WMI-Activity Operational logs of four real hosts are all read at the fixed places, none decoded whole;
    # EventData records (Security, System) are all decoded whole, and still come out the same
    assert compared[WMI_ACTIVITY] > 100 and slow_reads[WMI_ACTIVITY] == 0
    assert slow_reads["Microsoft-Windows-Security-Auditing"] == compared["Microsoft-Windows-Security-Auditing"] > 1000


@pytest.mark.corpus
def test_only_the_chosen_event_ids_are_read(corpus: Path) -> None:
    path = next((corpus / "evtx" / "hosts").glob("*/Microsoft-Windows-WMI-Activity%4Operational.evtx"))
    _, events = _generic(path)
    ids = Counter(e.event_id for e in events if e.provider == WMI_ACTIVITY)
    chosen = min(ids)
    _, rows = _rows(path, WMI_ACTIVITY, {chosen})
    assert len(rows) == ids[chosen] and {row[0] for row in rows} == {chosen}
    _, none = _rows(path, "Some-Other-Provider", set(ids))
    assert none == []


@pytest.mark.corpus
def test_damaged_logs_note_the_same_damage(corpus: Path) -> None:
    path = corpus / "evtx" / "omerbenamram-evtx__sample_with_a_bad_chunk_magic.evtx"
    stats, _ = _generic(path)
    row_stats, _ = _rows(path, WMI_ACTIVITY, {5857})
    assert stats.chunks_skipped > 0 and _reading(row_stats) == _reading(stats)


def test_a_trace_from_the_templates_is_read_at_the_fixed_places(tmp_path: Path, slow_reads: Counter[str]) -> None:
    """Hand-made (no public Trace-channel capture): the benchmark's kind of trace, every record on the fast way."""
    from trace_factories import Scenario, to_evtx

    scenario = Scenario()
    for i in range(300):
        scenario.operation(i * 0.01, 0.002 + i % 5 * 0.001, pid=880 + i % 3, provider="CIMWin32")
    path = tmp_path / "trace.evtx"
    path.write_bytes(to_evtx(scenario.ordered()))
    stats, events = _generic(path)
    row_stats, rows = _rows(path, WMI_ACTIVITY, {e.event_id for e in events})
    assert rows == [(e.event_id, e.time, e.fields, e.source) for e in events]
    assert len(rows) == 900 and slow_reads[WMI_ACTIVITY] == 0
    assert _reading(row_stats) == _reading(stats)
