"""Fleet probing throughput: 1,000 simulated hosts on loopback (fake DCOM/WMI endpoints in a separate
process), probed stage by stage with the fleet database written, against a sequential baseline
(concurrency 1) measured in the same run.

Two fleets: one where every host walks deep (healthy, or failing at activation or at the query: the
full DCOM conversation, CPU-bound on loopback), and a mixed one where half the hosts fail early (port
closed, bind refused), as unreachable hosts do in real fleets."""

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


DEEP = "healthy,healthy,activation_denied,invalid_class"


def start_farm(scenarios: str = DEEP) -> tuple[subprocess.Popen[str], list[int]]:
    farm = subprocess.Popen([sys.executable, "-m", "tests.probe.fakes.farm", str(LISTENERS), scenarios],
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


def closed_ports(count: int) -> list[int]:
    import socket

    ports = []
    for _ in range(count):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    return ports


def measure(name: str, scenarios: str, closed: bool) -> None:
    import sqlite3

    farm, ports = start_farm(scenarios)
    if closed:  # every other host: a port nothing listens on
        ports = [p for pair in zip(ports, closed_ports(len(ports)), strict=True) for p in pair]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            baseline, _ = run_fleet(ports, BASELINE_HOSTS, 1, Path(tmp) / "baseline.sqlite")
            rate, failed = run_fleet(ports, HOSTS, 64, Path(tmp) / "fleet.sqlite")
            with sqlite3.connect(Path(tmp) / "fleet.sqlite") as db:
                stored = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    finally:
        assert farm.stdin is not None
        farm.stdin.close()
        farm.wait(timeout=30)
    print(f"{name}: {HOSTS} hosts, {cpu_count()} cores, {failed} failing on purpose, {stored} results stored")
    figure(f"probe fleet, {name} (DB written)", rate, "hosts/s", baseline, "sequential (concurrency 1)",
           target=">= 200 hosts/s")


def main() -> None:
    measure("deep walks (8 DCOM stages)", DEEP, closed=False)
    measure("mixed (half fail at TCP or bind)", "healthy,activation_denied,bind_refused,invalid_class", closed=True)


if __name__ == "__main__":
    main()
