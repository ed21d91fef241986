"""`wmidoctor probe` and `wmidoctor fleet report` as a user runs them (subprocess, loopback only)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from tests.remote.fakes.msrpc import Scenario

pytestmark = pytest.mark.network

SECRET = "Secret-1"
PW_ENV = {"PROBE_PW": SECRET}
CORP_PROBE = ("-u", "probe", "--domain", "CORP")
PASSWORD_ENV = ("--password-env", "PROBE_PW")  # the password from PW_ENV
DCOM = ("--transport", "dcom")


def test_one_host_text_output_lines_per_stage_then_verdict_exit_1(cli, fake_host):
    server = fake_host(Scenario(query_error=0x80041010))
    out = cli(
        "probe",
        f"127.0.0.1:{server.port}",
        "-u",
        "CORP\\probe",
        *PASSWORD_ENV,
        *DCOM,
        "--timeout",
        "3",
        env=PW_ENV,
    )
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].endswith("over DCOM")
    assert [line.split()[0] for line in lines[1:11]] == [
        "dns",
        "tcp_135",
        "endpoint_mapper",
        "kdc",
        "authentication",
        "activation",
        "dynamic_port",
        "namespace_login",
        "query",
        "fetch",
    ]
    assert "fetch            FAILED" in out.stdout
    assert "verdict: fetch failed (wmi layer): 0x80041010 WBEM_E_INVALID_CLASS" in out.stdout
    assert SECRET not in out.stdout + out.stderr


def test_healthy_host_exits_0_and_json_has_every_stage(cli, fake_host):
    server = fake_host()
    out = cli(
        "probe",
        f"127.0.0.1:{server.port}",
        *CORP_PROBE,
        *PASSWORD_ENV,
        *DCOM,
        "--format",
        "json",
        env=PW_ENV,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    (result,) = data["results"]
    assert result["failing_stage"] is None and result["verdict"] is None
    assert {s["name"] for s in result["stages"] if s["status"] != "ok"} == {"kdc"}  # skipped: NTLM
    assert SECRET not in out.stdout


def test_probe_evidence_feeds_diagnose(cli, fake_host, tmp_path):
    server = fake_host(Scenario(activation_error=0x80070005))
    saved = tmp_path / "probe-evidence.json"
    out = cli(
        "probe",
        f"127.0.0.1:{server.port}",
        *CORP_PROBE,
        *PASSWORD_ENV,
        *DCOM,
        "--evidence-out",
        str(saved),
        env=PW_ENV,
    )
    assert out.returncode == 1, out.stderr
    assert SECRET not in saved.read_text()
    report = cli("diagnose", str(saved), "--only", "connectivity", "--json")
    assert report.returncode == 1, report.stderr
    (finding,) = json.loads(report.stdout)["findings"]
    assert (finding["check"], finding["status"]) == ("connectivity.probes", "fail")
    assert "0x80070005" in finding["codes"]


def test_password_file_is_read(cli, fake_host, tmp_path):
    server = fake_host()
    secret = tmp_path / "pw"
    secret.write_text(SECRET + "\n")
    out = cli(
        "probe",
        f"127.0.0.1:{server.port}",
        *CORP_PROBE,
        "--password-file",
        str(secret),
        *DCOM,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_hashes_from_the_environment_authenticate_and_never_show(cli, fake_host):
    from impacket import ntlm

    server = fake_host()
    nt = ntlm.compute_nthash(SECRET).hex()
    out = cli(
        "probe",
        f"127.0.0.1:{server.port}",
        *CORP_PROBE,
        "--hashes-env",
        "PROBE_HASHES",
        *DCOM,
        "--json",
        env={"PROBE_HASHES": f":{nt}"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert nt not in out.stdout + out.stderr


def test_user_without_password_source_and_no_terminal_is_a_usage_error(cli):
    out = cli("probe", "127.0.0.1", "-u", "probe", input="")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "no password source" in out.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("probe",),
        ("probe", "127.0.0.1", "--hosts", "x"),
        ("probe", "127.0.0.1", "--format", "csv"),
        ("probe", "127.0.0.1", "--hashes", "zz"),
        ("probe", "127.0.0.1", "--processes", "2"),
        ("probe", "127.0.0.1:99999"),
        ("probe", "127.0.0.1", "--password-env", "NOPE_NOT_SET", "-u", "a"),
        ("probe", "127.0.0.1", "-u", "a", "--hashes-env", "NOPE_NOT_SET"),
        ("probe", "127.0.0.1", "-u", "a", "--hashes", ":" + "0" * 32, "--hashes-env", "X"),
        ("probe", "127.0.0.1", "--json", "--format", "text"),
        ("fleet", "report", "x.sqlite", "--json", "--format", "csv"),
        ("probe", "127.0.0.1", "--realm", "CORP.EXAMPLE"),
        ("probe", "127.0.0.1", "--resume", "1"),
        ("probe", "127.0.0.1", "-u", "a", "--hashes-file", "/nonexistent/hashes"),
        ("probe", "127.0.0.1", "--wsman-port", "0"),
    ],
)
def test_bad_usage_exits_2_with_one_line(cli, args):
    out = cli(*args)
    assert out.returncode == 2, out.stdout
    assert out.stderr.startswith("wmidoctor: error:") and out.stderr.count("\n") == 1


def test_fleet_run_writes_runs_and_report_compares_them(cli, fake_host, closed_port, tmp_path):
    healthy, denied = fake_host(), fake_host(Scenario(activation_error=0x80070005))
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(f"# lab\n127.0.0.1:{healthy.port}\n\n127.0.0.1:{denied.port}  # denied\n127.0.0.1:{closed_port}\n")
    db = tmp_path / "fleet.sqlite"
    args = (
        "probe",
        "--hosts",
        str(hosts),
        *CORP_PROBE,
        *PASSWORD_ENV,
        *DCOM,
        "--timeout",
        "2",
        "--concurrency",
        "3",
        "--db",
        str(db),
    )
    first = cli(*args, "--format", "csv", env=PW_ENV)
    assert first.returncode == 1, first.stderr
    rows = list(csv.DictReader(io.StringIO(first.stdout)))
    assert [(r["status"], r["failing_stage"], r["code"]) for r in rows] == [
        ("ok", "", ""),
        ("failed", "activation", "0x80070005"),
        ("failed", "tcp_135", "0x800706BA"),
    ]
    assert first.stderr == ""  # no progress bar when stderr is not a terminal

    healthy.close()  # the first host goes down between runs
    second = cli(*args, "--processes", "2", env=PW_ENV)  # probed from two worker processes
    assert second.returncode == 1
    assert "summary by failing stage and code" in second.stdout

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2
        assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 6
        assert conn.execute("SELECT COUNT(*) FROM stages").fetchone()[0] == 6 * 10
        options = [json.loads(row[0]) for row in conn.execute("SELECT options FROM runs ORDER BY id")]
        assert [o["processes"] for o in options] == [1, 2]
        second_run = sorted(row[0] for row in conn.execute("SELECT failing_stage FROM results WHERE run_id = 2"))
        assert second_run == ["activation", "tcp_135", "tcp_135"]
        dumped = "\n".join(conn.iterdump())
    assert SECRET not in dumped

    report = cli("fleet", "report", str(db), "--format", "json")
    assert report.returncode == 1
    assert json.loads(report.stdout)["run"] == 2
    compare = cli("fleet", "report", str(db), "--compare", "1", "2", "--format", "json")
    changed = json.loads(compare.stdout)["changed"]
    assert [(c["before"], c["after"].split()[0]) for c in changed] == [("ok", "tcp_135")]
    assert compare.returncode == 1


def test_fleet_report_refuses_a_file_that_is_not_a_fleet_db(cli, tmp_path):
    other = tmp_path / "x.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (a)").connection.commit()
    out = cli("fleet", "report", str(other))
    assert out.returncode == 2 and "not a wmidoctor fleet database" in out.stderr
