"""Event logs end to end (read, select, aggregate, judge, report) against the evtx package iterating alone.

Inputs: every .evtx file of the corpus, once and ten times over (the same paths listed ten times). The baseline,
measured in the same run on the same input, is the `evtx` package (the Rust parser `logs` reads with) iterating
every record's JSON on one thread and doing nothing with it: the most any reader built on it can reach on one
core. Ours is the whole `logs` pipeline in this process (analysis, the checks diagnose runs, the report, the text
rendering) with one process and with one per core, and one big log (a real System.evtx's chunks repeated to
128 MiB) read in ranges of its chunks. python-evtx, the pure-Python reader, reads the whole corpus
once for scale; the records it loses on damaged files are counted. Peak memory is taken through the CLI, in a
fresh process per input size, with the pool's processes included.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import CORPUS, ROOT, best_of, corpus_available, cpu_count, evtx_package_records, figure


def corpus_logs() -> list[str]:
    return [str(p) for p in sorted((CORPUS / "evtx").rglob("*.evtx"))]


def ours(paths: list[str], jobs: int) -> int:
    from wmidoctor.checks import run_checks
    from wmidoctor.logs.render import render
    from wmidoctor.logs.report import build_report
    from wmidoctor.logs.run import analyse
    from wmidoctor.sources.events import log_evidence

    analysis = analyse(paths, jobs=jobs)
    findings = [run.finding for run in run_checks(log_evidence(analysis))]
    report = build_report(analysis, findings)
    render(report, "text", colour=False)
    return report["summary"]["records_read"]


def python_evtx(paths: list[str]) -> tuple[int, float]:
    """Records python-evtx renders as XML over `paths` and the seconds it takes; a file it cannot finish keeps
    what it rendered before failing."""
    from Evtx.Evtx import Evtx

    records, start = 0, time.perf_counter()
    for path in paths:
        try:
            with Evtx(path) as log:
                for record in log.records():
                    record.xml()
                    records += 1
        except Exception:  # the baseline's own failures on damaged files: what it loses is counted
            continue
    return records, time.perf_counter() - start


def one_big_log(folder: Path, megabytes: int = 128) -> str:
    """A real host's System.evtx with its chunks repeated up to `megabytes`: one big log, as a busy server's."""
    source = (CORPUS / "evtx" / "hosts" / "dfirmuseum-win10-rathbunvm" / "System.evtx").read_bytes()
    header, chunks = source[:4096], source[4096:]
    path = folder / "System-big.evtx"
    path.write_bytes(header + chunks * (megabytes * 2**20 // len(chunks)))
    return str(path)


def cli_peak_rss(copies: int) -> float:
    """Peak RSS (MiB) of `wmidoctor logs` on the corpus logs listed `copies` times, its pool's processes included."""
    out = subprocess.run(
        [sys.executable, __file__, "--cli-rss", str(copies)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return float(out.stdout.split()[-1])


def _cli_rss_child(copies: int) -> None:
    paths = corpus_logs()[:1] if copies == 0 else corpus_logs() * copies
    command = [sys.executable, "-m", "wmidoctor", "logs", *paths, "--json"]
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    print(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.1f}")


def main() -> None:
    if not corpus_available():
        return
    cores = cpu_count()
    ours(corpus_logs(), 1)  # imports and the page cache
    for copies in (1, 10):
        paths = corpus_logs() * copies
        records = evtx_package_records(paths)
        library = records / best_of(lambda paths=paths: evtx_package_records(paths), repeat=3)
        one = ours(paths, 1) / best_of(lambda paths=paths: ours(paths, 1), repeat=3)
        print(f"corpus x{copies}: {len(paths)} .evtx files, {records} records; {cores} CPU(s)")
        figure(f"x{copies}: evtx package iterating alone (rec/s)", library, "rec/s")
        figure(f"x{copies}: logs, one process (rec/s)", one, "rec/s", library, "evtx alone", target=">= 0.85x")
        if cores >= 2:
            jobs = min(cores, 2)
            two = ours(paths, jobs) / best_of(lambda paths=paths, jobs=jobs: ours(paths, jobs), repeat=3)
            figure(f"x{copies}: logs, {jobs} processes (rec/s)", two, "rec/s", library, "evtx alone", target=">= 1.6x")
            figure(f"x{copies}: logs, {jobs} processes vs one (rec/s)", two, "rec/s", one, "one process")
    if cores >= 2:
        with tempfile.TemporaryDirectory(prefix="bench-logs-") as folder:
            big = [one_big_log(Path(folder))]
            records = evtx_package_records(big)
            library = records / best_of(lambda: evtx_package_records(big), repeat=3)
            one = ours(big, 1) / best_of(lambda: ours(big, 1), repeat=3)
            two = ours(big, 2) / best_of(lambda: ours(big, 2), repeat=3)
        print(f"one big log: 128 MiB, {records} records")
        figure("one big log: evtx package alone (rec/s)", library, "rec/s")
        figure("one big log: logs, one process (rec/s)", one, "rec/s", library, "evtx alone")
        figure("one big log: logs, 2 processes, chunk ranges (rec/s)", two, "rec/s", one, "one process")
    paths = corpus_logs()
    records = evtx_package_records(paths)
    kept, seconds = python_evtx(paths)
    print(f"python-evtx over the whole corpus: {kept} of {records} records ({records - kept} lost on damaged files)")
    figure(
        "logs, one process vs python-evtx (rec/s)",
        records / best_of(lambda: ours(paths, 1), repeat=3),
        "rec/s",
        kept / seconds,
        "python-evtx record.xml()",
    )
    single = cli_peak_rss(0)
    figure("peak RSS through the CLI, one file (MiB)", single, "MiB")
    figure("peak RSS through the CLI, corpus x1 (MiB)", cli_peak_rss(1), "MiB", single, "one file")
    figure("peak RSS through the CLI, corpus x10 (MiB)", cli_peak_rss(10), "MiB", single, "one file", target="flat")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--cli-rss":
        _cli_rss_child(int(sys.argv[2]))
    else:
        main()
