"""`wmidoctor bundle inspect` and `wmidoctor collect` as a user runs them."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest


def test_inspect_text(cli, examples: Path) -> None:
    result = cli("bundle", "inspect", str(examples / "repository-inconsistent"))
    assert result.returncode == 0, result.stderr
    assert "[ok] commands/winmgmt-verifyrepository.txt" in result.stdout
    assert "registry/rpc-policy.reg" in result.stdout and "absent on the host" in result.stdout
    assert "connectivity    not collected" in result.stdout and "Personal data" in result.stdout


def test_inspect_json_and_damage_exit_code(cli, examples: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(examples / "wmiprvse-quota-kill", bundle)
    (bundle / "wmi" / "quotas.json").write_text("[1, 2]")
    result = cli("bundle", "inspect", "--json", str(bundle))
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    quota = next(a for a in data["artifacts"] if a["name"] == "wmi/quotas.json")
    assert quota["status"] == "damaged" and "expected a JSON object" in quota["reason"]
    assert {s["section"]: s["status"] for s in data["sections"]}["quotas"] == "not_collected"
    assert data["host"] == "PC-0417" and data["kind"] == "folder"


def test_inspect_bad_path(cli, tmp_path: Path) -> None:
    result = cli("bundle", "inspect", str(tmp_path))
    assert result.returncode == 2 and "holds no WMI evidence" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="checks the refusal on other systems")
def test_collect_outside_windows(cli) -> None:
    result = cli("collect")
    assert result.returncode == 2 and "Windows only" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.corpus
def test_diagnose_quick_on_a_volume_says_what_it_skipped(cli, volume: Path) -> None:
    result = cli("diagnose", str(volume), "--quick", "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["quick"] is True
    sections = {s["section"]: s for s in report["evidence"]}
    assert "not read with --quick" in sections["providers"]["reason"]
    assert "SOFTWARE missing (not on the volume)" in sections["dcom"]["reason"]
    parse = next(f for f in report["findings"] if f["check"] == "autorecover.parse")
    assert parse["status"] == "skipped"
