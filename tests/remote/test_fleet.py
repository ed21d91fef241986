"""Fleet robustness: one host's unexpected exception stays that host's `error` result; results are
committed as they arrive (a killed run keeps them) and `--resume RUN` finishes the run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from tests.conftest import ROOT
from tests.remote.fakes.msrpc import Scenario

from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.probe import ProbeOptions, Target

pytestmark = pytest.mark.network
PW_ENV = {"PROBE_PW": "Secret-1"}


def test_an_exception_on_one_host_becomes_its_error_result(fake_host, monkeypatch, tmp_path):
    from wmidoctor.remote import fleet
    from wmidoctor.remote.store import FleetStore

    healthy = fake_host()
    real = fleet.probe_host

    def sometimes_broken(target, creds, options):
        if target.host == "127.0.0.9":
            raise KeyError("a bug met on this host only")
        return real(target, creds, options)

    monkeypatch.setattr(fleet, "probe_host", sometimes_broken)
    targets = [Target("127.0.0.1", healthy.port), Target("127.0.0.9", healthy.port), Target("127.0.0.1", healthy.port)]
    store = FleetStore(tmp_path / "fleet.sqlite")
    results = [
        r
        for host in fleet.probe_fleet(
            targets,
            Credentials(user="probe", password="Secret-1"),
            ProbeOptions(transports=("dcom",), timeout=3),
            2,
            store,
        )
        for r in host
    ]
    store.close()
    assert sorted(r.status for r in results) == ["error", "ok", "ok"]
    (broken,) = [r for r in results if r.status == "error"]
    assert broken.error == "KeyError: 'a bug met on this host only'" and not broken.passed
    with sqlite3.connect(tmp_path / "fleet.sqlite") as db:
        rows = db.execute("SELECT host, status, cause FROM results WHERE status = 'error'").fetchall()
    assert rows == [(f"127.0.0.9:{healthy.port}", "error", "KeyError: 'a bug met on this host only'")]


def _rows(db_path) -> int:
    try:
        with sqlite3.connect(db_path) as db:
            return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_killed_run_keeps_its_results_and_resume_finishes_it(fake_host, tmp_path):
    first, second, stalled, last = fake_host(), fake_host(), fake_host(Scenario(stall=("ServerAlive2",))), fake_host()
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("".join(f"127.0.0.1:{server.port}\n" for server in (first, second, stalled, last)))
    db = tmp_path / "fleet.sqlite"
    args = [
        sys.executable,
        "-m",
        "wmidoctor",
        "probe",
        "--hosts",
        str(hosts),
        "-u",
        "CORP\\probe",
        "--password-env",
        "PROBE_PW",
        "--transport",
        "dcom",
        "--concurrency",
        "1",
        "--processes",
        "1",
        "--db",
        str(db),
    ]
    run = subprocess.Popen(
        [*args, "--timeout", "20"],
        cwd=ROOT,
        env={**os.environ, **PW_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while _rows(db) < 2 and time.monotonic() < deadline:  # the two hosts before the stalled one
            time.sleep(0.1)
        time.sleep(0.3)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=10)
    assert _rows(db) == 2, "the hosts finished before the kill are kept"
    stalled.close()  # the stalled host is now down: the resumed run gets through it quickly
    resumed = subprocess.run(
        [*args, "--timeout", "2", "--resume", "1", "--format", "csv"],
        cwd=ROOT,
        env={**os.environ, **PW_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert resumed.returncode == 1, resumed.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
        hosts_done = [row[0] for row in conn.execute("SELECT host FROM results WHERE run_id = 1 ORDER BY id")]
        finished = conn.execute("SELECT finished_at, hosts FROM runs WHERE id = 1").fetchone()
    assert len(hosts_done) == 4 and len(set(hosts_done)) == 4  # nobody probed twice, nobody missed
    assert finished[0] and finished[1] == 4


def test_resume_of_a_run_that_does_not_exist_is_a_usage_error(cli, tmp_path, closed_port):
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(f"127.0.0.1:{closed_port}\n")
    out = cli(
        "probe", "--hosts", str(hosts), "--transport", "dcom", "--db", str(tmp_path / "f.sqlite"), "--resume", "7"
    )
    assert out.returncode == 2 and "no such run" in out.stderr and out.stderr.count("\n") == 1
