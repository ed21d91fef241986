"""`wmidoctor fleet diagnose` and `fleet report` for diagnosis runs, end to end on real entries."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args, check_codes=(0, 1)) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "wmidoctor", *map(str, args)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode in check_codes, result.stderr
    return result


def test_diagnose_then_report_names_root_causes_sites_and_unreadable_entries(fleet_entries, tmp_path):
    manifest = tmp_path / "fleet.csv"
    manifest.write_text(
        "path,site,label\n"
        + "".join(f"{p},{'lyon' if i % 2 else 'paris'},entry{i}\n" for i, p in enumerate(fleet_entries)),
        encoding="utf-8",
    )
    db = tmp_path / "fleet.sqlite"
    result = _cli("fleet", "diagnose", manifest, "--db", db, "--quick", "--json")
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert (summary["entries"], summary["unreadable"]) == (len(fleet_entries), 1)
    report = json.loads(_cli("fleet", "report", db, "--json").stdout)
    assert report["hosts"] == len(fleet_entries) and report["unreadable"] == 1
    assert {row["site"] for row in report["by_site"]} == {"paris", "lyon"}
    top = report["causes"][0]
    assert top["hosts"] == max(c["hosts"] for c in report["causes"]) and top["fix"]
    assert all(set(c) >= {"check", "severity", "hosts", "share", "examples", "fix"} for c in report["causes"])
    assert report["unreadable_entries"][0]["source"].endswith("broken.zip")
    text = _cli("fleet", "report", db).stdout
    assert "Root causes" in text and "By site:" in text and "broken.zip" in text
    csv_lines = _cli("fleet", "report", db, "--format", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("check,severity,hosts") and len(csv_lines) == len(report["causes"]) + 1


def test_compare_runs_says_what_is_new_fixed_and_still_failing(fleet_entries, tmp_path):
    db = tmp_path / "fleet.sqlite"
    healthy_later = tmp_path / "later"
    shutil.copytree(fleet_entries[0], healthy_later / fleet_entries[0].name)
    first = json.loads(_cli("fleet", "diagnose", *fleet_entries[:2], "--db", db, "--json").stdout)["run"]
    second = json.loads(_cli("fleet", "diagnose", fleet_entries[1], fleet_entries[2], "--db", db, "--json").stdout)[
        "run"
    ]
    changes = json.loads(_cli("fleet", "report", db, "--compare", first, second, "--json").stdout)
    assert changes["runs"] == [first, second]
    assert changes["still"] and all(row["host"] for row in changes["still"])
    assert changes["new"]  # the third entry's problems were not in the first run
    assert not changes["fixed"]  # the first entry is absent from the second run: not "fixed"
    assert _cli("fleet", "report", db, "--compare", first, 99, check_codes=(2,)).stderr.count("\n") == 1


def test_resume_finishes_a_run_without_diagnosing_twice(fleet_entries, tmp_path):
    db = tmp_path / "fleet.sqlite"
    run = json.loads(_cli("fleet", "diagnose", fleet_entries[0], "--db", db, "--json").stdout)["run"]
    resumed = json.loads(_cli("fleet", "diagnose", *fleet_entries[:3], "--db", db, "--resume", run, "--json").stdout)
    assert resumed["run"] == run and resumed["entries"] == 2
    report = json.loads(_cli("fleet", "report", db, "--json").stdout)
    assert report["hosts"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fleet", "diagnose", "/no/such/bundle"], "no such file or folder"),
        (["fleet", "diagnose", "x", "--engine", "spark"], "Invalid value"),
        (["fleet", "report", "/no/such.sqlite", "--kind", "diagnose"], "no such file"),
        (["fleet", "diagnose", "EXAMPLE", "--resume", "7"], "no run 7"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, args, message):
    example = Path(__file__).resolve().parents[2] / "examples" / "bundles"
    args = [str(next(example.iterdir())) if a == "EXAMPLE" else a for a in args]
    result = (
        _cli(*args, "--db", tmp_path / "f.sqlite", check_codes=(2,))
        if args[1] == "diagnose"
        else _cli(*args, check_codes=(2,))
    )
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_postgres_store_gives_the_report_sqlite_gives(fleet_entries, tmp_path, fresh_postgres):
    entries = fleet_entries[:3]
    _cli("fleet", "diagnose", *entries, "--db", tmp_path / "f.sqlite", "--engine", "sequential")
    _cli("fleet", "diagnose", *entries, "--db", fresh_postgres, "--engine", "sequential")
    lite = json.loads(_cli("fleet", "report", tmp_path / "f.sqlite", "--json").stdout)
    pg = json.loads(_cli("fleet", "report", fresh_postgres, "--json").stdout)
    for report in (lite, pg):
        report.pop("run")
    assert lite == pg
