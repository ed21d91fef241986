"""WMI-Activity trace analysis: trace events/s from .evtx, MB/s from .etl, and memory at 1x / 4x input.

No public capture of the WMI-Activity Trace channel exists, so the WMI inputs are built from the provider's
published templates (tests/trace/trace_factories: a real .evtx of plain Binary XML records and an ETL file
of EVENT_HEADER records), 20,000 operations of 3 events each. Baselines measured in the same run, like for
like: the `evtx` package iterating the same .evtx on its own (no analysis), and etl-parser reading the
three real corpus ETL files that our reader also reads. One core: everything runs in this one process.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import CORPUS, ROOT, best_of, corpus_available, evtx_package_records, figure, peak_rss_mb

sys.path.insert(0, str(ROOT / "tests" / "trace"))

OPERATIONS = 20_000


def make_inputs(folder: Path, operations: int = OPERATIONS) -> tuple[Path, Path, int]:
    from trace_factories import Scenario, to_etl, to_evtx

    scenario = Scenario()
    clients = (880, 1204, 3310, 6012, 7344)
    queries = (
        "select * from Win32_Product",
        "select Name, State from Win32_Service",
        "select * from Win32_LogicalDisk where DriveType=3",
        "select * from MSFT_NetAdapter",
    )
    for i in range(operations):
        scenario.operation(
            i * 0.002,
            0.001 + (i % 7) * 0.003,
            pid=clients[i % 5],
            query=queries[i % 4],
            provider="CIMWin32",
            host_id=3100 + i % 3,
        )
    events = scenario.ordered()
    evtx, etl = folder / "trace.evtx", folder / "trace.etl"
    evtx.write_bytes(to_evtx(events))
    etl.write_bytes(to_etl(events, buffer_size=65536))
    return evtx, etl, len(events)


def analyse_all(paths: list[str]) -> int:
    from wmidoctor.trace.report import build_report
    from wmidoctor.trace.run import analyse

    return build_report(analyse(paths))["summary"]["events"]


def read_etl_only(paths: list[Path]) -> int:
    from wmidoctor.artifacts.etl import EtlReading, EtlStats, read_etl
    from wmidoctor.trace.inputs import wmi_providers

    records = 0
    for path in paths:
        reading = EtlReading(EtlStats(str(path)))
        with open(path, "rb") as handle:
            for _ in read_etl(handle, path.name, reading, wmi_providers()):
                pass
        records += reading.container.record_count
    return records


def etl_parser(paths: list[Path]) -> None:
    from etl.etl import IEtlFileObserver, build_from_stream

    class Count(IEtlFileObserver):
        def on_event_record(self, event):
            pass

        def on_trace_record(self, event):
            pass

        def on_perfinfo_trace(self, obj):
            pass

        def on_system_trace(self, obj):
            pass

        def on_win_trace(self, obj):
            pass

    for path in paths:
        build_from_stream(path.read_bytes()).parse(Count())


def rss_child(copies: int, path: Path) -> float:
    """Peak RSS of a fresh process analysing `path` named `copies` times (the inputs are made beforehand)."""
    out = subprocess.run(
        [sys.executable, __file__, "--rss", str(copies), str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,
    )
    return float(out.stdout.split()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        # Inputs are made in a child and memory is measured first: Linux carries a process's peak RSS over
        # into the children it starts, so this process must stay small until the RSS children have run.
        made = subprocess.run(
            [sys.executable, __file__, "--make", scratch],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
        events = int(made.stdout.split()[-1])
        evtx, etl = Path(scratch) / "trace.evtx", Path(scratch) / "trace.etl"
        for path in (etl, evtx):
            one, four = rss_child(1, path), rss_child(4, path)
            figure(f"peak RSS, {path.suffix} trace x1 (MiB)", one, "MiB")
            figure(f"peak RSS, {path.suffix} trace x4 (MiB)", four, "MiB", one, "x1", target="flat (ratio ~1)")
        analyse_all([str(evtx)])  # warm-up: imports
        seconds = best_of(lambda: analyse_all([str(evtx)]), repeat=3)
        baseline = best_of(lambda: evtx_package_records([str(evtx)]), repeat=3)
        print(
            f"synthetic trace: {events} events ({OPERATIONS} operations); .evtx {evtx.stat().st_size / 1e6:.1f} MB, "
            f".etl {etl.stat().st_size / 1e6:.1f} MB"
        )
        figure(
            "trace from .evtx, end to end (events/s)",
            events / seconds,
            "ev/s",
            events / baseline,
            "evtx package iterating alone",
            target=">= 100000",
        )
        megabytes = etl.stat().st_size / 1e6
        seconds = best_of(lambda: analyse_all([str(etl)]), repeat=3)
        figure("trace from .etl, end to end (MB/s)", megabytes / seconds, "MB/s", target=">= 20")
        figure("trace from .etl, end to end (events/s)", events / seconds, "ev/s")
        reader = best_of(lambda: read_etl_only([etl]), repeat=3)
        figure("trace from .etl, reader alone (MB/s)", megabytes / reader, "MB/s", target=">= 20")
    if corpus_available():
        paths = sorted((CORPUS / "etl").glob("*.etl"))
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        ours = best_of(lambda: read_etl_only(paths), repeat=3)
        start = time.perf_counter()
        try:
            etl_parser(paths)
            theirs = time.perf_counter() - start
        except ImportError:
            theirs = None
        figure(
            "corpus .etl files, reader (MB/s)",
            megabytes / ours,
            "MB/s",
            megabytes / theirs if theirs else None,
            "etl-parser",
            target=">= 20",
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--make":
        print(make_inputs(Path(sys.argv[2]))[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "--rss":
        analyse_all([sys.argv[3]] * int(sys.argv[2]))
        print(f"{peak_rss_mb():.1f}")
    else:
        main()
