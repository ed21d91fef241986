"""Fleet probing throughput: 1,000 simulated hosts on loopback (fake DCOM/WMI endpoints in a separate
process), probed stage by stage with the fleet database written, against a sequential baseline
(one process, one host at a time) measured in the same run.

Two fleets: one where every host walks deep (healthy, or failing at activation or at the query: the
full DCOM conversation, CPU-bound on loopback), and a mixed one where half the hosts fail early (port
closed, bind refused), as unreachable hosts do in real fleets.

The fakes answer every bind and call of a listener with the reply they built the first time (NTLM
proofs are still checked), after a warm-up pass over every listener, so that the figures measure the
prober. CPU time per host is printed for the prober (all its processes) and for the fakes: on
loopback the two share the machine's cores, and the sum is what limits the rate.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from harness import ROOT, cpu_count, figure

sys.path.insert(0, str(ROOT))  # the fakes live under tests/

HOSTS = 1000
LISTENERS = 250
BASELINE_HOSTS = 100
CONCURRENCY = 64

DEEP = "healthy,healthy,activation_denied,invalid_class"
# the reasons the scenarios fail with on purpose (a closed port: refused; the others: what their fake sends)
PLANNED_REASONS = ("refused", "activation_denied", "invalid_class", "bind_nak")
MIXED = "healthy,activation_denied,bind_refused,invalid_class"


def start_farm(scenarios: str) -> tuple[subprocess.Popen[str], list[int]]:
    farm = subprocess.Popen(
        [sys.executable, "-m", "tests.remote.fakes.farm", str(LISTENERS), scenarios],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert farm.stdout is not None
    ports = [int(p) for p in farm.stdout.readline().split()]
    return farm, ports


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the probe's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Run:
    """One fleet run: hosts/s, hosts failing, and CPU ms per host of the prober and of the fakes."""

    def __init__(self, farm_pid: int, ports: list[int], hosts: int, concurrency: int, processes: int, db: Path):
        from wmidoctor.remote.credentials import Credentials
        from wmidoctor.remote.fleet import probe_fleet
        from wmidoctor.remote.probe import ProbeOptions, Target
        from wmidoctor.remote.store import FleetStore

        targets = [Target("127.0.0.1", ports[i % len(ports)]) for i in range(hosts)]
        creds = Credentials(user="probe", password="Secret-1")
        options = ProbeOptions(transports=("dcom",), timeout=5.0)
        store = FleetStore(db)
        cpu, farm_cpu, start = own_cpu_seconds(), cpu_seconds(farm_pid), time.perf_counter()
        self.failures: Counter[str] = Counter()  # "stage: reason" of every host that failed
        for results in probe_fleet(targets, creds, options, concurrency, store, processes=processes):
            for result in results:
                if not result.passed:
                    failed = next((stage for stage in result.stages if stage.status == "failed"), None)
                    self.failures[f"{failed.name}: {failed.reason}" if failed else "no failed stage"] += 1
        elapsed = time.perf_counter() - start
        self.failed = sum(self.failures.values())
        store.close()
        self.rate = hosts / elapsed
        self.client_ms = (own_cpu_seconds() - cpu) / hosts * 1000
        self.farm_ms = (cpu_seconds(farm_pid) - farm_cpu) / hosts * 1000


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
    processes = cpu_count()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            Run(farm.pid, ports, len(ports), 32, 1, Path(tmp) / "warmup.sqlite")  # the fakes build their replies
            baseline = Run(farm.pid, ports, BASELINE_HOSTS, 1, 1, Path(tmp) / "baseline.sqlite")
            threads = Run(farm.pid, ports, HOSTS, CONCURRENCY, 1, Path(tmp) / "threads.sqlite")
            fleet = Run(farm.pid, ports, HOSTS, CONCURRENCY, processes, Path(tmp) / "fleet.sqlite")
            with sqlite3.connect(Path(tmp) / "fleet.sqlite") as db:
                stored = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    finally:
        assert farm.stdin is not None
        farm.stdin.close()
        farm.wait(timeout=30)
    print(f"{name}: {HOSTS} hosts, {cpu_count()} cores, {fleet.failed} failing on purpose, {stored} results stored")
    print("  failing, by stage and reason: " + ", ".join(f"{k} {n}" for k, n in sorted(fleet.failures.items())))
    for label, run in (("sequential", baseline), ("1 process", threads), (f"{processes} processes", fleet)):
        # a failure the scenarios never cause (a stage cut by its deadline, an answer missing) means the fakes or
        # this machine could not keep up: its rate would not measure the prober
        unplanned = {k: n for k, n in run.failures.items() if not k.endswith(PLANNED_REASONS)}
        if unplanned:
            print(f"  INVALID ({label}): failures the scenarios do not cause: {unplanned}")
    sequential = "sequential (1 process, 1 at a time)"
    figure(
        f"probe fleet, {name}, {processes} processes (DB written)",
        fleet.rate,
        "hosts/s",
        baseline.rate,
        sequential,
        target=">= 200 hosts/s",
    )
    figure(
        f"probe fleet, {name}, 1 process x {CONCURRENCY} threads", threads.rate, "hosts/s", baseline.rate, sequential
    )
    for label, run in (("sequential", baseline), ("1 process", threads), (f"{processes} processes", fleet)):
        figure(f"  CPU per host, {label}: prober", run.client_ms, "ms")
        figure(f"  CPU per host, {label}: fake hosts", run.farm_ms, "ms")


def main() -> None:
    measure("deep walks (every DCOM stage)", DEEP, closed=False)
    measure("mixed (half fail at TCP or bind)", MIXED, closed=True)


if __name__ == "__main__":
    main()
