"""Headless Chromium for the tests that look at a page as a person would: find it (a test fails without it under
CI=true and skips otherwise), take a screenshot, read the DOM after the page's scripts ran."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is missing, and CI must run the browser tests (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium to run this test)")
    raise AssertionError("unreachable")


def browser(chromium: str, tmp_path: Path) -> list[str]:
    """The command that starts Chromium with a throwaway profile under `tmp_path`."""
    return [chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]


def screenshot(command: list[str], uri: str, out: Path, size: str) -> None:
    subprocess.run(
        [*command, f"--screenshot={out}", f"--window-size={size}", uri], capture_output=True, timeout=120, check=True
    )


def dump_dom(command: list[str], uri: str) -> str:
    return subprocess.run([*command, "--dump-dom", uri], capture_output=True, text=True, timeout=120, check=True).stdout
