"""Event logs end to end (read, select, aggregate, report) vs python-evtx, and memory at 1x / 10x input.

The records/s figure counts every record of every corpus .evtx file through `analyse` + `build_report`.
python-evtx is the baseline: far too slow for the whole set, so its rate comes from a subset measured in
the same run. Peak RSS is taken in a fresh child process per input size, so the two peaks are separate.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from harness import CORPUS, best_of, corpus_available, cpu_count, figure, peak_rss_mb

BASELINE_SUBSET = (
    "evtx/hosts/fukusuket-win10/Microsoft-Windows-WMI-Activity%4Operational.evtx",
    "evtx/hosts/artemis-win10/System.evtx",
)


def corpus_logs() -> list[str]:
    return [str(p) for p in sorted((CORPUS / "evtx").rglob("*.evtx"))]


def ours(paths: list[str]) -> int:
    from wmidoctor.logs.report import build_report
    from wmidoctor.logs.run import analyse

    report = build_report(analyse(paths))
    return report["summary"]["records_read"]


def python_evtx(paths: list[str]) -> int:
    from Evtx.Evtx import Evtx

    records = 0
    for path in paths:
        with Evtx(path) as log:
            for record in log.records():
                record.xml()
                records += 1
    return records


def rss_child(copies: int) -> float:
    """Peak RSS of a fresh process analysing the corpus logs listed `copies` times."""
    out = subprocess.run(
        [sys.executable, __file__, "--rss", str(copies)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,
    )
    return float(out.stdout.split()[-1])


def main() -> None:
    if not corpus_available():
        return
    paths = corpus_logs()
    records = ours(paths)  # warm-up (imports), and the record count
    elapsed = best_of(lambda: ours(paths), repeat=5)
    rate = records / elapsed
    subset = [str(CORPUS / p) for p in BASELINE_SUBSET]
    start = time.perf_counter()
    baseline_records = python_evtx(subset)
    baseline_rate = baseline_records / (time.perf_counter() - start)
    print(
        f"corpus: {len(paths)} .evtx files, {records} records; python-evtx subset: {baseline_records} records; "
        f"{cpu_count()} CPU(s)"
    )
    figure("logs end to end (records/s)", rate, "rec/s", target=">= 30000")
    figure(
        "logs vs python-evtx (records/s)", rate, "rec/s", baseline_rate, "python-evtx record.xml()", target=">= 100x"
    )
    one, ten = rss_child(1), rss_child(10)
    figure("peak RSS, corpus x1 (MiB)", one, "MiB")
    figure("peak RSS, corpus x10 (MiB)", ten, "MiB", one, "x1", target="flat (ratio ~1)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--rss":
        ours(corpus_logs() * int(sys.argv[2]))
        print(f"{peak_rss_mb():.1f}")
    else:
        main()
