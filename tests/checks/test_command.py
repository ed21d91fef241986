"""`wmidoctor diagnose` end to end: formats, exit codes, --only, --out, and what was not collected."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from diagnose_factories import healthy, sick, worst

from wmidoctor.evidence.model import NOT_COLLECTED

SCHEMA = Path(__file__).resolve().parents[2] / "src" / "wmidoctor" / "schemas" / "report.schema.json"


def save(ev, tmp_path: Path, name: str = "evidence.json") -> Path:
    path = tmp_path / name
    path.write_text(ev.to_json(), encoding="utf-8")
    return path


def test_healthy_host_exits_0_with_a_verdict_line_per_check(cli, tmp_path):
    result = cli("diagnose", str(save(healthy(), tmp_path)))
    assert result.returncode == 0, result.stderr
    assert "Verdict: no problems found" in result.stdout
    assert "Host: HEALTHY01, server edition (domain role member-server)" in result.stdout
    assert (
        "[PASS] services (7): winmgmt, rpcss, dcomlaunch, rpceptmapper, crashes, winmgmt-sddl, configuration"
        in result.stdout
    )
    assert "\x1b[" not in result.stdout  # no colour in a pipe
    verbose = cli("diagnose", str(save(healthy(), tmp_path)), "--verbose").stdout
    assert re.search(r"^\[PASS\]\s+services\.winmgmt\s", verbose, re.M), "--verbose lists every check"
    assert len(verbose.splitlines()) > len(result.stdout.splitlines()) + 30


def test_sick_host_exits_1_with_details_and_the_fix_command(cli, tmp_path):
    result = cli("diagnose", str(save(sick("firewall.wmi-rules"), tmp_path)))
    assert result.returncode == 1
    out = result.stdout
    assert "[FAIL] error    firewall.wmi-rules" in out
    assert "Enable-NetFirewallRule" in out and "netsh advfirewall firewall set rule" in out
    assert "0x800706BA" in out


def test_json_output_follows_the_schema(cli, tmp_path):
    ev = worst()
    ev.dcom.status, ev.dcom.reason = NOT_COLLECTED, "Ole key export failed"
    result = cli("diagnose", str(save(ev, tmp_path)), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    jsonschema.validate(report, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert report["exit_code"] == 1 and report["counts"]["fail"] > 5
    tally = {c["code"]: c for c in report["code_tally"]}
    assert tally["0x80041003"]["count"] == 30 and tally["0x80041003"]["seen_in"] == "WMI-Activity 5858"
    dcom = next(s for s in report["evidence"] if s["section"] == "dcom")
    assert dcom["status"] == "not_collected" and dcom["reason"] == "Ole key export failed"
    skipped = {f["check"] for f in report["findings"] if f["status"] == "skipped"}
    assert "dcom.enabled" in skipped
    assert {t["check"] for t in report["timings"]} == {f["check"] for f in report["findings"]}


def test_only_runs_the_named_groups(cli, tmp_path):
    result = cli("diagnose", str(save(worst(), tmp_path)), "--only", "dcom,firewall", "--format", "json")
    checks = {f["check"].split(".")[0] for f in json.loads(result.stdout)["findings"]}
    assert checks == {"dcom", "firewall"}


def test_not_collected_sections_are_listed_in_text(cli, tmp_path):
    ev = healthy()
    ev.quotas.status, ev.quotas.reason = NOT_COLLECTED, "WMI did not answer"
    out = cli("diagnose", str(save(ev, tmp_path))).stdout
    assert "Not collected" in out and "quotas" in out and "WMI did not answer" in out
    assert "[SKIP]" in out and "quotas.configuration" in out


def test_html_report_written_to_out(cli, tmp_path):
    target = tmp_path / "report.html"
    result = cli("diagnose", str(save(sick("dcom.enabled"), tmp_path)), "--format", "html", "--out", str(target))
    assert result.returncode == 1 and result.stdout == ""
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "dcom.enabled" in page
    assert "http://" not in page and "https://" not in page.replace("https://json-schema", "")


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "pass what to diagnose"),
        (("--only", "nosuchgroup"), "unknown check group nosuchgroup"),
    ],
)
def test_usage_errors_exit_2_with_one_line(cli, tmp_path, args, message):
    path = [str(save(healthy(), tmp_path))] if args else []
    result = cli("diagnose", *path, *args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_out_never_overwrites_the_input(cli, tmp_path):
    path = save(healthy(), tmp_path)
    before = path.read_bytes()
    result = cli("diagnose", str(path), "--out", str(path))
    assert result.returncode == 2 and "would write into the evidence" in result.stderr
    assert path.read_bytes() == before


def test_a_json_file_that_is_not_evidence_is_an_input_error(cli, tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"hello": 1}', encoding="utf-8")
    result = cli("diagnose", str(path))
    assert result.returncode == 2 and "not a wmidoctor evidence file" in result.stderr


def test_no_path_on_windows_collects_this_host_first_then_diagnoses(monkeypatch, tmp_path):
    import shutil

    from click.testing import CliRunner

    from wmidoctor.commands import collect, diagnose

    example = Path(__file__).resolve().parents[2] / "examples" / "bundles" / "dcom-remote-launch-denied"
    calls = []

    def fake_collector(out, shadow_copy=False, zip_bundle=True):
        calls.append((out, zip_bundle))
        shutil.copytree(example, out)
        return 0

    monkeypatch.setattr(diagnose.sys, "platform", "win32")
    monkeypatch.setattr(collect, "run_collector", fake_collector)
    result = CliRunner().invoke(diagnose.command, ["--json"], standalone_mode=False)
    assert result.exception is None, result.output
    assert calls and calls[0][1] is False  # the bundle is only diagnosed, so no zip is made
    assert '"dcom.machine-launch-restriction"' in result.stdout
    assert f"evidence collected into {calls[0][0]}" in result.stderr
    shutil.rmtree(calls[0][0].parent)
