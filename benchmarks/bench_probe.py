"""Fleet probing throughput: 1,000 simulated hosts on loopback (fake DCOM/WMI endpoints in a separate
process), probed stage by stage with the fleet database written, against a sequential baseline
(concurrency 1) measured in the same run."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, cpu_count, figure

sys.path.insert(0, str(ROOT))  # the fakes live under tests/

HOSTS = 1000
LISTENERS = 250
BASELINE_HOSTS = 100


def start_farm() -> tuple[subprocess.Popen[str], list[int]]:
    farm = subprocess.Popen([sys.executable, "-m", "tests.probe.fakes.farm", str(LISTENERS),
                             "healthy,healthy,activation_denied,invalid_class"],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert farm.stdout is not None
    ports = [int(p) for p in farm.stdout.readline().split()]
    return farm, ports


def run_fleet(ports: list[int], hosts: int, concurrency: int, db: Path) -> tuple[float, int]:
    from wmidoctor.remote.credentials import Credentials
    from wmidoctor.remote.fleet import probe_fleet
    from wmidoctor.remote.probe import ProbeOptions, Target
    from wmidoctor.remote.store import FleetStore

    targets = [Target("127.0.0.1", ports[i % len(ports)]) for i in range(hosts)]
    creds = Credentials(user="probe", password="Secret-1")
    options = ProbeOptions(transports=("dcom",), timeout=5.0)
    store = FleetStore(db)
    start = time.perf_counter()
    failed = sum(1 for results in probe_fleet(targets, creds, options, concurrency, store)
                 for r in results if not r.passed)
    elapsed = time.perf_counter() - start
    store.close()
    return hosts / elapsed, failed


def main() -> None:
    farm, ports = start_farm()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            baseline, _ = run_fleet(ports, BASELINE_HOSTS, 1, Path(tmp) / "baseline.sqlite")
            rate, failed = run_fleet(ports, HOSTS, 64, Path(tmp) / "fleet.sqlite")
            import sqlite3

            stored = sqlite3.connect(Path(tmp) / "fleet.sqlite").execute("SELECT COUNT(*) FROM results").fetchone()[0]
    finally:
        assert farm.stdin is not None
        farm.stdin.close()
        farm.wait(timeout=30)
    print(f"{HOSTS} hosts on {LISTENERS} loopback listeners, {cpu_count()} cores; {failed} failing on purpose "
          f"(activation denied, invalid class); {stored} results stored")
    figure("probe fleet (DCOM, 8 stages, DB written)", rate, "hosts/s", baseline, "sequential (concurrency 1)",
           target=">= 200 hosts/s")


if __name__ == "__main__":
    main()
