"""The `pcap` verb as a user runs it, and `diagnose --capture`: formats, exit codes, the page in Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from wmidoctor.evidence import Evidence

pytestmark = pytest.mark.corpus

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BLOCKED = "otrf__covenant_dcom_executeexcel4macro_blocked_2020-09-17173147.cap"
SESSION = "otrf__covenant_sharpwmi_create_dcerpc_wmi_2020-08-06035621.cap"


@pytest.fixture
def captures(corpus):
    return corpus / "pcap"


def test_text_report_names_the_stage_the_verdict_and_the_fix(cli, captures):
    result = cli("pcap", str(captures / BLOCKED))
    assert result.returncode == 1, result.stderr
    assert "[FAILED at tcp_135]" in result.stdout and "5 SYNs" in result.stdout
    assert "verdict: tcp_135 failed (network layer): 0x800706BA RPC_S_SERVER_UNAVAILABLE" in result.stdout
    assert "Test-NetConnection HOST -Port 135" in result.stdout


def test_json_for_several_files_and_exit_0_when_every_attempt_passed(cli, captures):
    result = cli(
        "pcap",
        "--json",
        str(captures / SESSION),
        str(captures / "otrf__covenant_psremoting_command_2020-08-06115603.cap"),
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    first, second = data["captures"]
    (wmi,) = first["attempts"]
    assert wmi["kind"] == "WMI over DCOM" and wmi["passed"] and wmi["verdict"] is None
    assert wmi["authentication_levels"] == ["connect", "packet", "privacy"]
    assert {s["name"]: s["status"] for s in wmi["stages"]} == {
        "dns": "skipped",
        "tcp_135": "ok",
        "endpoint_mapper": "ok",
        "kdc": "ok",
        "authentication": "ok",
        "activation": "ok",
        "dynamic_port": "ok",
        "namespace_login": "ok",
        "query": "ok",
        "fetch": "skipped",
    }
    assert second["attempts"][0]["transport"] == "wsman" and second["warnings"]


def test_failing_and_passing_files_together_exit_1(cli, captures):
    assert cli("pcap", "--json", str(captures / SESSION), str(captures / BLOCKED)).returncode == 1


def test_json_and_format_conflict_is_a_usage_error(cli, captures):
    result = cli("pcap", "--json", "--format", "html", str(captures / SESSION))
    assert result.returncode == 2 and "conflict" in result.stderr


def test_missing_file_is_a_usage_error(cli, tmp_path):
    result = cli("pcap", str(tmp_path / "absent.pcap"))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_out_may_not_overwrite_the_capture(cli, tmp_path, captures):
    copy = tmp_path / "c.pcap"
    shutil.copy(captures / BLOCKED, copy)
    result = cli("pcap", str(copy), "--out", str(copy))
    assert result.returncode == 2 and copy.read_bytes() == (captures / BLOCKED).read_bytes()


def test_diagnose_takes_a_capture_as_connectivity_evidence(cli, tmp_path, captures):
    evidence = tmp_path / "evidence.json"
    evidence.write_text(Evidence().to_json(), encoding="utf-8")
    result = cli("diagnose", str(evidence), "--capture", str(captures / BLOCKED), "--only", "connectivity", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    (finding,) = [f for f in report["findings"] if f["check"] == "connectivity.probes"]
    assert finding["status"] == "fail" and "0x800706BA" in finding["codes"]
    assert any(BLOCKED in e["source"] for e in finding["evidence"])


def test_diagnose_reads_captures_lying_in_the_bundle_folder(cli, tmp_path, captures):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text("{}", encoding="utf-8")
    shutil.copy(captures / SESSION, bundle / "wmi.pcap")
    result = cli("diagnose", str(bundle), "--only", "connectivity", "--json")
    report = json.loads(result.stdout)
    (finding,) = [f for f in report["findings"] if f["check"] == "connectivity.probes"]
    assert finding["status"] == "pass", finding


def test_diagnose_refuses_a_capture_that_is_not_one(cli, tmp_path):
    evidence = tmp_path / "evidence.json"
    evidence.write_text(Evidence().to_json(), encoding="utf-8")
    bogus = tmp_path / "x.pcap"
    bogus.write_text("nothing here", encoding="utf-8")
    result = cli("diagnose", str(evidence), "--capture", str(bogus))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.browser
def test_html_page_renders_in_chromium(cli, tmp_path, captures):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("chromium is not installed (apt-get install chromium to run this test)")
    page = tmp_path / "pcap.html"
    result = cli("pcap", "--format", "html", "--out", str(page), str(captures / BLOCKED), str(captures / SESSION))
    assert result.returncode == 1, result.stderr
    dom = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert dom.count('class="attempt') == 2
    assert 'data-stage="tcp_135"' in dom and "RPC_S_SERVER_UNAVAILABLE" in dom
    assert "Enable-NetFirewallRule" in dom and "every stage seen passed" in dom
