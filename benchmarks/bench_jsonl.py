"""JSON-lines exports through `logs` (read, select, aggregate, report) against the same events as .evtx,
and peak memory at 1x / 10x input.

Like for like: every record of every corpus .evtx file is re-written, in a temporary folder, as the
NXLog JSON line a collection pipeline would have shipped for it (System values under NXLog's names, the
event data flattened beside them, a rendered message), so both runs read the same events to the same
report. The five real OTRF exports are timed too, for their own rate. Peak RSS is taken in a fresh child
process per input size; the 10x input is the OTRF exports written ten times into one temporary file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_logs import corpus_logs, ours
from harness import CORPUS, best_of, corpus_available, cpu_count, figure, peak_rss_mb


def otrf_exports() -> list[str]:
    return [str(p) for p in sorted((CORPUS / "siem").glob("*.json"))]


def nxlog_line(event) -> str:
    """The NXLog im_msvistalog record of one event (as the OTRF data sets hold them)."""
    stamp = event.time
    record = {
        "EventTime": f"{stamp[:10]} {stamp[11:19]}",
        "@timestamp": stamp[:23] + "Z",
        "Hostname": event.computer,
        "Keywords": -9223372036854775808,
        "EventType": "INFO",
        "SeverityValue": 2,
        "Severity": "INFO",
        "EventID": event.event_id,
        "SourceName": event.provider,
        "ProviderGuid": "{00000000-0000-0000-0000-0}",
        "Version": 0,
        "Task": 0,
        "OpcodeValue": 0,
        "RecordNumber": event.record_id,
        "ExecutionProcessID": 4,
        "ThreadID": 8,
        "Channel": event.channel,
        "Domain": "NT AUTHORITY",
        "AccountName": "SYSTEM",
        "UserID": "S-1-5-18",
        "AccountType": "User",
        "Opcode": "Info",
        "Message": "\r\n".join(f"{name}: {value}" for name, value in event.fields.items()),
        "EventReceivedTime": f"{stamp[:10]} {stamp[11:19]}",
        "SourceModuleName": "eventlog",
        "SourceModuleType": "im_msvistalog",
        "@version": "1",
        "tags": ["benchmark"],
    }
    return json.dumps({**record, **{k: v for k, v in event.fields.items() if k not in record}}) + "\n"


def write_nxlog_copy(paths: list[str], target: Path) -> int:
    """Every record of the .evtx files as NXLog JSON lines in `target`; the number of records."""
    from wmidoctor.artifacts.evtx import LogStats, read_log

    count = 0
    with target.open("w", encoding="utf-8") as out:
        for path in paths:
            for event in read_log(path, LogStats(path), lambda provider, event_id: True):
                out.write(nxlog_line(event))
                count += 1
    return count


def rss_child(paths: list[str]) -> float:
    """Peak RSS of a fresh process running `logs` analysis over `paths`."""
    out = subprocess.run(
        [sys.executable, __file__, "--rss", *paths],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,
    )
    return float(out.stdout.split()[-1])


def main() -> None:
    if not corpus_available():
        return
    evtx_paths, exports = corpus_logs(), otrf_exports()
    with tempfile.TemporaryDirectory(prefix="bench-jsonl-") as scratch:
        copy = Path(scratch) / "corpus-as-nxlog.jsonl"
        written = write_nxlog_copy(evtx_paths, copy)
        evtx_records = ours(evtx_paths)
        jsonl_records = ours([str(copy)])
        assert evtx_records == jsonl_records == written, (evtx_records, jsonl_records, written)
        evtx_time = best_of(lambda: ours(evtx_paths), repeat=5)
        jsonl_time = best_of(lambda: ours([str(copy)]), repeat=5)
        otrf_records = ours(exports)
        otrf_time = best_of(lambda: ours(exports), repeat=3)
        print(
            f"corpus: {len(evtx_paths)} .evtx files, {evtx_records} records, as one NXLog JSON-lines file of "
            f"{copy.stat().st_size / 2**20:.1f} MiB; OTRF: {len(exports)} exports, {otrf_records} records; "
            f"{cpu_count()} CPU(s)"
        )
        figure(
            "logs on JSON lines, same events (records/s)",
            jsonl_records / jsonl_time,
            "rec/s",
            evtx_records / evtx_time,
            "logs on .evtx",
            target=">= 0.5x",
        )
        figure(
            "logs on JSON lines, time for the same events (s)",
            jsonl_time,
            "s",
            evtx_time,
            "logs on .evtx",
            target="<= 2x",
        )
        figure("logs on the OTRF exports (records/s)", otrf_records / otrf_time, "rec/s")

        ten = Path(scratch) / "otrf-x10.jsonl"
        with ten.open("wb") as out:
            for _ in range(10):
                for path in exports:
                    out.write(Path(path).read_bytes())
        one_rss, ten_rss = rss_child(exports), rss_child([str(ten)])
        figure("peak RSS, OTRF exports x1 (MiB)", one_rss, "MiB")
        figure("peak RSS, OTRF exports x10 (MiB)", ten_rss, "MiB", one_rss, "x1", target="flat (ratio ~1)")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--rss":
        ours(sys.argv[2:])
        print(f"{peak_rss_mb():.1f}")
    else:
        main()
