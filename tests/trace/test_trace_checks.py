"""The trace checks (group "trace") on evidence built from template-made trace events (no public capture
of the WMI-Activity Trace channel exists), and the `trace` verb's exit codes and bad input."""

from __future__ import annotations

import json
from pathlib import Path

from trace_factories import Scenario, to_etl, to_xml

from wmidoctor.checks import run_checks
from wmidoctor.evidence.model import Evidence
from wmidoctor.trace.run import analyse
from wmidoctor.trace.summary import trace_section


def _evidence(tmp_path: Path, scenario: Scenario) -> Evidence:
    path = tmp_path / "trace.etl"
    path.write_bytes(to_etl(scenario.ordered()))
    run = analyse([str(path)])
    evidence = Evidence()
    evidence.trace = trace_section(run.analysis, [f.path for f in run.files])
    return evidence


def _findings(evidence: Evidence) -> dict:
    return {r.finding.check: r.finding for r in run_checks(evidence, only=["trace"])}


def hammer(product_share: bool = True) -> Scenario:
    """A client polling Win32_Product: 600 queries of 0.5 s in 60 s, beside a quiet client."""
    s = Scenario()
    for i in range(600):
        s.operation(
            i * 0.1,
            0.5,
            pid=6012,
            query="select * from Win32_Product" if product_share else "select Name from Win32_Service",
        )
    for i in range(60):
        s.operation(i * 1.0, 0.05, pid=880, query="select * from Win32_OperatingSystem")
    return s


def test_one_client_that_dominates_wmi_is_named_with_the_known_offender(tmp_path: Path) -> None:
    finding = _findings(_evidence(tmp_path, hammer()))["trace.dominant-client"]
    assert finding.status == "warn" and finding.is_problem
    assert "pid 6012 on HOST1" in finding.summary and "99%" in finding.summary
    assert any(c.startswith("Win32_Product query: 600 operation(s)") for c in finding.causes)
    steps = [f.step for f in finding.fixes]
    assert steps[0].startswith("Identify the client (pid 6012 on HOST1)")
    assert "ProcessId=6012" in finding.fixes[0].command
    assert any("Uninstall registry keys" in s for s in steps)


def test_a_dominant_client_without_a_known_offender_gets_the_generic_fix(tmp_path: Path) -> None:
    finding = _findings(_evidence(tmp_path, hammer(product_share=False)))["trace.dominant-client"]
    assert finding.status == "warn"
    assert not any("Win32_Product" in c for c in finding.causes)
    assert any(f.step.startswith("Reconfigure the client") for f in finding.fixes)


def test_shared_load_passes(tmp_path: Path) -> None:
    s = Scenario()
    for i in range(900):
        s.operation(i * 0.1, 0.2, pid=100 + i % 3)
    findings = _findings(_evidence(tmp_path, s))
    assert findings["trace.dominant-client"].status == "pass"
    assert findings["trace.unfinished-operations"].status == "pass"


def test_nothing_to_judge_is_skipped_not_passed() -> None:
    findings = _findings(Evidence())
    assert {f.status for f in findings.values()} == {"skipped"}
    assert "was not collected" in findings["trace.dominant-client"].summary


def test_cli_exit_codes_and_formats(tmp_path: Path, cli) -> None:
    busy = tmp_path / "busy.xml"
    busy.write_text(to_xml(hammer().ordered()), encoding="utf-8")
    quiet = tmp_path / "quiet.etl"
    s = Scenario()
    s.operation(0, 0.1)
    quiet.write_bytes(to_etl(s.ordered()))

    result = cli("trace", str(busy))
    assert result.returncode == 1, result.stderr
    assert "pid 6012 on HOST1" in result.stdout and "Top consumers of WMI time" in result.stdout
    result = cli("trace", "--json", str(quiet))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "wmidoctor.trace/1" and report["summary"]["completed"] == 1
    html = tmp_path / "r.html"
    assert cli("trace", str(busy), "--format", "html", "--out", str(html)).returncode == 1
    assert "<svg" in html.read_text(encoding="utf-8")


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path, cli) -> None:
    garbage = tmp_path / "garbage.etl"
    garbage.write_bytes(b"\x01\x00\x00\x00" * 40)
    empty = tmp_path / "empty"
    empty.mkdir()
    for args in (
        ["trace", str(garbage)],
        ["trace", str(empty)],
        ["trace", str(tmp_path / "missing.etl")],
        ["trace"],
        ["trace", "--format", "csv", str(garbage)],
    ):
        result = cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    result = cli("trace", str(garbage))
    assert "not an ETL file" in result.stderr


def test_the_report_is_never_written_into_the_evidence(tmp_path: Path, cli) -> None:
    trace = tmp_path / "trace.etl"
    trace.write_bytes(to_etl(hammer().ordered()))
    result = cli("trace", str(tmp_path), "--out", str(tmp_path / "report.txt"))
    assert result.returncode == 2 and "report" in result.stderr.lower()
