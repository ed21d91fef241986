"""Real logs from the shared corpus: counts agree with the corpus MANIFEST (read independently), and
damaged samples load partially with the damage reported."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from wmidoctor.artifacts.evtx import LogStats, read_log
from wmidoctor.logs.selection import wanted

pytestmark = pytest.mark.corpus

PROVIDER_ALIASES = {
    "WMI-Activity": "Microsoft-Windows-WMI-Activity",
    "DCOM": "Microsoft-Windows-DistributedCOM",
    "Microsoft-Windows-WMI(WinMgmt)": "Microsoft-Windows-WMI",
}


def _manifest(corpus: Path) -> list[dict[str, str]]:
    with open(corpus / "MANIFEST.tsv", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["category"] == "evtx"]


def _expected(notes: str) -> tuple[int, int | None, Counter, Counter]:
    """(records, damage warnings or None, per-channel counts, per-(provider, id) WMI counts) from a note."""
    records = int(re.search(r"records=(\d+)", notes)[1])
    damage = re.search(r"(\d+) damage warnings", notes)
    channels = Counter(
        {
            name: int(n)
            for name, n in re.findall(r"([\w/ -]+):(\d+)", (re.search(r"channels=([^;|]+)", notes) or [""])[0])
        }
    )
    by_id: Counter = Counter()
    wmi_related = re.search(r"WMI-related: ([^|]+)", notes)
    if wmi_related:  # "Provider/ID=n, Provider/ID=n"
        for provider, event_id, n in re.findall(r"([\w-]+)/(\d+)=(\d+)", wmi_related[1]):
            by_id[(provider, int(event_id))] = int(n)
    for family, pairs in re.findall(r"(WMI-Activity|DCOM|Microsoft-Windows-WMI\(WinMgmt\))=([\d:,]+)", notes):
        for event_id, n in re.findall(r"(\d+):(\d+)", pairs):
            by_id[(PROVIDER_ALIASES[family], int(event_id))] = int(n)
    return records, int(damage[1]) if damage else None, channels, by_id


def _read(path: Path) -> LogStats:
    stats = LogStats(str(path))
    for _ in read_log(path, stats, wanted):
        pass
    return stats


def test_counts_match_the_manifest(corpus: Path) -> None:
    rows = _manifest(corpus)
    assert len(rows) >= 20
    checked_ids = 0
    for row in rows:
        records, damage, channels, by_id = _expected(row["notes"])
        stats = _read(corpus / row["path"])
        assert stats.records_read == records, row["path"]
        assert sum(stats.counts.values()) == records, row["path"]
        if damage is not None:
            assert stats.records_skipped + stats.chunks_skipped == damage, row["path"]
        per_channel: Counter = Counter()
        per_id: Counter = Counter()
        for (channel, provider, event_id), n in stats.counts.items():
            per_channel[channel] += n
            per_id[(provider, event_id)] += n
        for channel, n in channels.items():
            assert per_channel[channel.strip()] == n, (row["path"], channel)
        for key, n in by_id.items():
            assert per_id[key] == n, (row["path"], key)
            checked_ids += 1
    assert checked_ids >= 40


@pytest.mark.parametrize(
    ("name", "records", "chunks", "skipped_records"),
    [
        ("omerbenamram-evtx__sysmon.evtx", 358, 8, 0),
        ("omerbenamram-evtx__sample_with_a_bad_chunk_magic.evtx", 270, 2, 0),
        ("omerbenamram-evtx__sample-with-zero-data-size-event.evtx", 335, 0, 1),
    ],
)
def test_damaged_samples_load_partially_with_damage_reported(
    corpus: Path, name: str, records: int, chunks: int, skipped_records: int
) -> None:
    stats = _read(corpus / "evtx" / name)
    assert (stats.records_read, stats.chunks_skipped, stats.records_skipped) == (records, chunks, skipped_records)
    assert stats.damaged and not stats.unreadable
    assert stats.problems and all("Skipping EVTX data" not in p for p in stats.problems)


def test_truncated_and_garbage_files(corpus: Path, tmp_path: Path) -> None:
    original = (corpus / "evtx/hosts/dfirmuseum-win10-rathbunvm/System.evtx").read_bytes()
    truncated = tmp_path / "truncated.evtx"
    truncated.write_bytes(original[: 4096 + 65536 * 3 + 30000])
    stats = _read(truncated)
    assert 0 < stats.records_read < 1094 and not stats.unreadable
    garbage = tmp_path / "garbage.evtx"
    garbage.write_bytes(b"\x00not an event log" * 500)
    stats = _read(garbage)
    assert stats.unreadable and stats.records_read == 0 and stats.problems


def test_wmi_activity_fields_come_from_userdata(corpus: Path) -> None:
    path = corpus / "evtx/hosts/fukusuket-win10/Microsoft-Windows-WMI-Activity%4Operational.evtx"
    events = {e.event_id: e for e in read_log(path, LogStats(str(path)), wanted)}
    assert set(events) == {5857, 5858, 5859, 5860, 5861}
    failure = events[5858]
    assert failure.channel == "Microsoft-Windows-WMI-Activity/Operational"
    assert failure.fields["ResultCode"].startswith("0x8004")
    assert failure.fields["ClientProcessId"].isdigit()
    assert failure.source == f"evtx:{path.name}#record {failure.record_id}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", failure.time)
    assert events[5861].fields["CONSUMER"] == 'NTEventLogEventConsumer="SCM Event Log Consumer"'
    assert {"ProviderName", "Code", "HostProcess", "ProcessID", "ProviderPath"} <= set(events[5857].fields)
