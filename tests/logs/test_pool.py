"""Logs read by a pool of processes give the same analysis as one process reading them in order.

The corpus tests compare whole reports (real logs). The cap tests use hand-made events: no real log in the
corpus comes near the caps, so the events are built here, and the test says so by its name.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import pytest

from wmidoctor.artifacts.evtx import Event, LogStats
from wmidoctor.artifacts.evtx.binary import read_evtx
from wmidoctor.checks import run_checks
from wmidoctor.logs import analysis as analysis_module
from wmidoctor.logs import run as run_module
from wmidoctor.logs import traces as traces_module
from wmidoctor.logs.analysis import Analysis
from wmidoctor.logs.inputs import find_logs
from wmidoctor.logs.report import build_report
from wmidoctor.logs.run import POOL_THRESHOLD_BYTES, analyse, default_jobs
from wmidoctor.logs.selection import wanted
from wmidoctor.sources.events import log_evidence

WMI_ACTIVITY = "Microsoft-Windows-WMI-Activity"
SECURITY = "Microsoft-Windows-Security-Auditing"


def _report(paths: list[str], jobs: int) -> dict:
    analysis = analyse(paths, jobs=jobs)
    findings = [run.finding for run in run_checks(log_evidence(analysis))]
    return build_report(analysis, findings)


@pytest.mark.corpus
def test_a_pool_reports_the_corpus_logs_as_one_process_does(corpus: Path) -> None:
    paths = [str(corpus / "evtx"), str(corpus / "evtx" / "hosts" / "fukusuket-win10")]  # a folder twice over
    assert _report(paths, jobs=2) == _report(paths, jobs=1)


@pytest.mark.corpus
def test_zip_members_read_here_keep_their_place_among_pooled_files(corpus: Path, tmp_path: Path) -> None:
    host = corpus / "evtx" / "hosts" / "fukusuket-win10"
    bundle = tmp_path / "logs.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        for log in sorted(host.glob("*.evtx")):
            archive.write(log, f"logs/{log.name}")
    paths = [str(corpus / "evtx" / "hosts" / "artemis-win10"), str(bundle), str(host)]
    assert _report(paths, jobs=2) == _report(paths, jobs=1)


@pytest.mark.corpus
def test_the_pool_starts_only_for_enough_data_on_disk(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module.os, "cpu_count", lambda: 2)
    every_log = find_logs([str(corpus / "evtx")])
    assert sum(log.path.stat().st_size for log in every_log) >= POOL_THRESHOLD_BYTES
    assert default_jobs(every_log) == 2
    assert default_jobs(every_log[:1]) == 1
    small = [log for log in every_log if log.path.stat().st_size < POOL_THRESHOLD_BYTES // 8][:3]
    assert default_jobs(small) == 1


@pytest.mark.corpus
def test_cut_records_and_wholly_decoded_records_count_and_select_alike(corpus: Path) -> None:
    """The reader judges most records from a cut of their text and a mostly-selected log from the decoded
    record: on every corpus log both ways give the same counts and the same selected events."""
    for path in sorted((corpus / "evtx").rglob("*.evtx")):
        cut, whole = LogStats(str(path)), LogStats(str(path))
        events = list(read_evtx(str(path), path.name, cut, wanted))
        everything = list(read_evtx(str(path), path.name, whole, lambda provider, event_id: True))
        assert cut.counts == whole.counts == Counter((e.channel, e.provider, e.event_id) for e in everything)
        assert events == [e for e in everything if wanted(e.provider, e.event_id)], path.name
        assert (cut.records_read, cut.first_seen, cut.last_seen) == (
            whole.records_read,
            whole.first_seen,
            whole.last_seen,
        )


def _event(n: int, event_id: int, fields: dict[str, str], provider: str = WMI_ACTIVITY) -> Event:
    return Event(
        f"{provider}/Operational",
        provider,
        event_id,
        n,
        f"2024-05-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000000Z",
        "HOST",
        2,
        fields,
        f"evtx:test.evtx#record {n}",
    )


def _hand_made(first: int, count: int) -> list[Event]:
    events = []
    for n in range(first, first + count):
        events.append(_event(n, 5858, {"ResultCode": f"0x8004{n % 7:04X}", "Operation": f"ExecQuery {n % 5}"}))
        events.append(_event(n, 5857, {"ProviderName": f"Prov{n % 4}", "ProcessID": str(n % 6)}))
        logon = {"LogonType": "3", "TargetUserName": "u", "TargetLogonId": f"0x{n % 9:x}", "IpAddress": "127.0.0.9"}
        events.append(_event(n, 4624, logon, SECURITY))
        events.append(_event(n, 5859, {"PossibleCause": "Permanent", "Query": f"select {n}", "User": "S-1-5-18"}))
    return events


def _whole(analysis: Analysis) -> dict:
    return {
        "groups": {identity: asdict(group) for identity, group in analysis.groups.items()},
        "hourly": analysis.hourly,
        "process_records": analysis.process_records,
        "host_providers": analysis.host_providers,
        "traces": asdict(analysis.traces.section()),
    }


def _merged(first: list[Event], later: list[Event]) -> Analysis:
    merged, part = Analysis(), Analysis()
    for event in first:
        merged.add(event)
    for event in later:
        part.add(event)
    merged.merge(part)
    return merged


def _in_order(events: list[Event]) -> Analysis:
    analysis = Analysis()
    for event in events:
        analysis.add(event)
    return analysis


def test_merging_equals_adding_in_order_below_the_caps() -> None:
    first, later = _hand_made(0, 3), _hand_made(3, 9)
    assert _whole(_merged(first, later)) == _whole(_in_order(first + later))


def test_past_hand_made_caps_a_merge_counts_every_event_and_keeps_every_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis_module, "MAX_GROUPS_PER_ID", 4)
    monkeypatch.setattr(analysis_module, "MAX_PROCESS_IDS", 3)
    monkeypatch.setattr(traces_module, "MAX_PER_KIND", 5)
    monkeypatch.setattr(traces_module, "MAX_LOGONS", 4)
    first, later = _hand_made(0, 3), _hand_made(3, 9)
    merged, in_order = _merged(first, later), _in_order(first + later)
    assert _whole(merged) == _whole(_merged(first, later))  # the same inputs, the same result

    def per_id(analysis: Analysis) -> Counter:
        counts: Counter = Counter()
        for group in analysis.groups.values():
            counts[(group.provider, group.event_id)] += group.count
        return counts

    assert per_id(merged) == per_id(in_order)
    assert max(Counter((p, i) for _, p, i, _ in merged.groups).values()) <= 4 + 1  # the cap and its overflow
    assert any(key == analysis_module.OVERFLOW_KEY for *_, key in merged.groups)
    assert len(merged.host_providers) == 3
    assert _whole(merged)["traces"] == _whole(in_order)["traces"]  # kept first by kind, newest logons: exact
    assert len(merged.traces.section().logons) == 4


@pytest.mark.corpus
def test_big_logs_read_in_ranges_of_chunks_report_as_whole_ones(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranges of one file's chunks, read by several processes, give the report of the whole file: the corpus logs
    (damaged ones among them, whose damage is numbered by the file's chunks) with the split made small."""
    monkeypatch.setattr(run_module, "SPLIT_BYTES", 1 << 20)
    monkeypatch.setattr(run_module, "SPLIT_CHUNKS", 4)
    logs = [str(p) for p in sorted((corpus / "evtx").glob("*.evtx"))]
    split = [run_module._ranges(log, 2) for log in find_logs(logs)]
    assert sum(len(ranges) > 1 for ranges in split) >= 4, "several corpus logs are read in ranges"
    assert _report(logs, jobs=2) == _report(logs, jobs=1)
