"""The project installs as a wheel: built from this tree, installed into a clean virtual environment, and
run from there (version, explain, diagnose on an example bundle). Slow (a venv and an install), so it runs
once per suite; it needs the package index or pip's cache for the dependencies."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next((folder / "dist").glob("wmidoctor-*.whl"))
    venv.create(folder / "venv", with_pip=True)
    python = folder / "venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    return folder


def test_the_wheel_carries_every_file_of_the_package(installed):
    wheel = next((installed / "dist").glob("wmidoctor-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    source = ROOT / "src"
    wanted = {
        p.relative_to(source).as_posix()
        for p in (source / "wmidoctor").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert wanted - names == set(), "add these to [tool.setuptools.package-data]"


def test_the_installed_tool_runs_from_a_clean_environment(installed, tmp_path):
    tool = installed / "venv" / "bin" / "wmidoctor"
    version = subprocess.run([str(tool), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and "wmidoctor" in version.stdout
    explained = subprocess.run(
        [str(tool), "explain", "0x80041003", "--json"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert explained.returncode == 0 and "WBEM_E_ACCESS_DENIED" in explained.stdout
    bundle = ROOT / "examples" / "bundles" / "dcom-remote-launch-denied"
    diagnosed = subprocess.run(
        [str(tool), "diagnose", str(bundle), "--json"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert diagnosed.returncode == 1, diagnosed.stderr
    assert '"dcom.machine-launch-restriction"' in diagnosed.stdout
