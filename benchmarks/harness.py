"""What every benchmark prints: a figure, the baseline measured in the same run, and their ratio.

Benchmarks never assert times (tests do not either); they print, so that a reader compares like with
like on the machine at hand.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


def evtx_package_records(paths: list[str]) -> int:
    """The baseline of the event-log benchmarks: the `evtx` package (the Rust parser `logs` and `trace` read
    with) producing every record's JSON of `paths` on one thread and doing nothing with it; the record count."""
    import warnings

    import evtx

    records = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damaged samples' skip notices
        for path in paths:
            for _ in evtx.PyEvtxParser(path, number_of_threads=1, skip_errors=True, indent=False).records_json():
                records += 1
    return records


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of `repeat` wall-clock runs, in seconds (the least disturbed by the machine)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def figure(
    name: str, value: float, unit: str, baseline: float | None = None, baseline_name: str = "", target: str = ""
) -> None:
    """Print one line: the figure, and when a baseline was measured, the ratio value/baseline."""
    line = f"{name:<48} {value:>12.3f} {unit}"
    if baseline is not None and baseline > 0:
        line += f"   baseline {baseline_name}: {baseline:.3f} {unit}   ratio {value / baseline:.2f}x"
    if target:
        line += f"   target: {target}"
    print(line, flush=True)


def corpus_available() -> bool:
    if CORPUS.is_dir():
        return True
    print(f"skipped: {CORPUS} is missing (the benchmarks read the shared corpus)")
    return False


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))
