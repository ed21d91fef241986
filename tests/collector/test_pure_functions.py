"""The collector's pure functions run under a real PowerShell when this machine has one (pwsh, or Windows
PowerShell on Windows): collect/tests/Collector.Tests.ps1 loads them as a module and checks masking, event
queries and .reg text. Where no PowerShell exists (Linux CI), the same cases are pinned in Python by
test_privacy.py (masking) and this file checks that the PowerShell test script itself parses."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from tests.collector.test_script import parse_errors

TESTS = Path(__file__).resolve().parents[2] / "collect" / "tests" / "Collector.Tests.ps1"


def test_the_powershell_test_script_parses() -> None:
    assert parse_errors(TESTS.read_bytes()) == []


def test_the_pure_functions_pass_under_powershell() -> None:
    shell = shutil.which("pwsh") or shutil.which("powershell")
    if shell is None:
        pytest.skip("no PowerShell on this machine: the cases are checked in Python by test_privacy.py")
    run = subprocess.run(
        [shell, "-NoProfile", "-NonInteractive", "-File", str(TESTS)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
