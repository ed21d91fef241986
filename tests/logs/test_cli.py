"""`wmidoctor logs` end to end: formats, time window and exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.corpus

APT = "evtx/hosts/dfirmuseum-win10-aptsimulator"
CLEAN = "evtx/omerbenamram-evtx__Application_no_crc32.evtx"  # WinMgmt 5615/5617 only


def test_json_report_on_a_host(cli, corpus: Path) -> None:
    result = cli("logs", str(corpus / APT), "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "wmidoctor.logs/2"
    assert report["summary"]["records_read"] == 357 + 154 + 831
    codes = {row["code"]: row["count"] for row in report["failures_by_code"]}
    assert sum(codes.values()) == 110 and "0x80041002" in codes
    bindings = {row["consumer"]: row for row in report["bindings"]}
    assert bindings['NTEventLogEventConsumer="SCM Event Log Consumer"']["default"] is True
    suspicious = bindings['ActiveScriptEventConsumer="KillProcess"']
    assert suspicious["default"] is False and suspicious["verdict"] == "possible persistence"
    assert any(a["topic"] == "security.subscriptions" and a["level"] == "error" for a in report["attention"])
    assert sum(g["count"] for g in report["groups"] if g["event_id"] == 5857) == 36
    assert sum(report["hourly"].values()) == report["summary"]["wmi_events"]
    dcom = [row for row in report["dcom"] if row["event_id"] == 10016]
    assert sum(row["count"] for row in dcom) == 18 and all(row["clsid"] and row["account"] for row in dcom)


def test_clean_log_exits_zero_and_text_is_readable(cli, corpus: Path) -> None:
    result = cli("logs", str(corpus / CLEAN))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Problems (0, most severe first)" in result.stdout and "\x1b[" not in result.stdout


def test_damaged_log_is_reported_but_judged_as_diagnose_judges_it(cli, corpus: Path) -> None:
    """Skipped chunks are evidence damage (evidence.integrity, info): the expert verdict for this log
    (verdicts/evtx-sysmon.md) has nothing to report at warning."""
    result = cli("logs", str(corpus / "evtx/omerbenamram-evtx__sysmon.evtx"), "--json")
    assert result.returncode == 0
    assert [a["level"] for a in json.loads(result.stdout)["attention"] if a["topic"] == "evidence.integrity"] == [
        "info"
    ]
    (file,) = json.loads(result.stdout)["files"]
    assert file["chunks_skipped"] == 8 and file["problems"]


def test_csv_and_html(cli, corpus: Path, tmp_path: Path) -> None:
    result = cli("logs", str(corpus / APT), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and {"channel", "event_id", "count", "key", "source"} <= set(rows[0])
    assert sum(int(r["count"]) for r in rows if r["event_id"] == "5858") == 110
    out = tmp_path / "report.html"
    result = cli("logs", str(corpus / APT), "--format", "html", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert result.returncode == 1 and page.startswith("<!doctype html>")
    assert "KillProcess" in page and "http" not in page.replace("http://", "").split("<body>")[0]
    assert "<script" not in page and "src=" not in page


def test_time_window(cli, corpus: Path) -> None:
    path = str(corpus / "evtx/hosts/fukusuket-win10")
    full = json.loads(cli("logs", path, "--json").stdout)
    late = json.loads(cli("logs", path, "--json", "--since", "2022-07-01", "--until", "2022-07-13").stdout)
    assert 0 < late["summary"]["wmi_events"] < full["summary"]["wmi_events"]
    assert all("2022-07-01" <= h[:10] <= "2022-07-13" for h in late["hourly"])
    assert late["window"] == {"since": "2022-07-01T00:00:00", "until": "2022-07-13T23:59:59"}


def test_input_errors_exit_two_with_one_line(cli, corpus: Path, tmp_path: Path) -> None:
    missing = cli("logs", str(tmp_path / "nope.evtx"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no such file" in missing.stderr
    garbage = tmp_path / "garbage.evtx"
    garbage.write_bytes(b"garbage" * 100)
    unreadable = cli("logs", str(garbage))
    assert unreadable.returncode == 2 and unreadable.stderr.count("\n") == 1
    (tmp_path / "empty").mkdir()
    empty = cli("logs", str(tmp_path / "empty"))
    assert empty.returncode == 2 and "no event logs" in empty.stderr
    bad_time = cli("logs", str(corpus / CLEAN), "--since", "yesterday-ish")
    assert bad_time.returncode == 2 and "not a time" in bad_time.stderr


def test_zip_bundle_is_read_without_extracting(cli, corpus: Path, tmp_path: Path) -> None:
    import zipfile

    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in (corpus / APT).iterdir():
            archive.write(path, f"logs/{path.name}")
    from_zip = json.loads(cli("logs", str(bundle), "--json").stdout)
    from_folder = json.loads(cli("logs", str(corpus / APT), "--json").stdout)
    assert from_zip["groups"] == from_folder["groups"]
    assert all(f["path"].startswith(str(bundle) + "!logs/") for f in from_zip["files"])
    assert from_zip["files"][0]["path"].startswith(str(bundle) + "!logs/")


@pytest.mark.parametrize(
    "evidence", ["evtx/hosts/fukusuket-win10", "siem/otrf__covenant_persistwmi_2019-12-05044734.json"]
)
def test_a_window_that_excludes_all_the_evidence_is_refused_naming_its_range(cli, corpus: Path, evidence: str) -> None:
    """`--since 7d` on old evidence read as 'no problems' before: a clean bill of health for any host."""
    result = cli("logs", "--since", "7d", str(corpus / evidence))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "holds none of the evidence, which runs from 20" in result.stderr
    inside = cli("logs", "--since", "2019-01-01", str(corpus / evidence))
    assert inside.returncode in (0, 1)
