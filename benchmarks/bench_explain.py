"""Cold start of `wmidoctor explain`: a fresh `python -m wmidoctor explain 0x80041003` against a bare
`python -c pass`, both measured in this run. Target: within +100 ms of the bare interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from harness import ROOT, figure

RUNS = 15


# As installed: bytecode cached (a PYTHONDONTWRITEBYTECODE=1 shell would add the compile time of every module).
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def cold(*args: str) -> float:
    """The fastest of RUNS fresh processes, in milliseconds (the least disturbed by the machine)."""
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=ENV)  # warm-up
    best = float("inf")
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=ENV)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def in_process(repeat: int = 2000) -> float:
    """Microseconds per lookup once the catalogue is loaded (what log tallies pay per code)."""
    from wmidoctor.knowledge.codes import catalogue_values, explain, short_meaning

    explain("0x80041003")
    values = catalogue_values()
    start = time.perf_counter()
    for index in range(repeat):
        short_meaning(values[index % len(values)])
    return (time.perf_counter() - start) / repeat * 1e6


def main() -> None:
    baseline = cold("-c", "pass")
    explain = cold("-m", "wmidoctor", "explain", "0x80041003")
    as_json = cold("-m", "wmidoctor", "explain", "--json", "0x80041003", "1722", "STATUS_LOGON_FAILURE")
    figure("explain 0x80041003, cold process", explain, "ms", baseline, "python -c pass", target="+100 ms")
    figure("  difference to python -c pass", explain - baseline, "ms", target="< 100 ms")
    figure("explain --json (3 codes), cold process", as_json, "ms", baseline, "python -c pass", target="+100 ms")
    figure("short_meaning per code, warm", in_process(), "us")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
