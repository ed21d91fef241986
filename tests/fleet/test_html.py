"""The fleet report page opened in headless Chromium: banner, root-cause table, and sorting done by the page's
own script (asked for through the URL, as a link to a sorted view would)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.browser
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


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing, and CI must run the browser tests")
        pytest.skip("chromium is not installed")
    return str(path)


def test_fleet_page_sorts_and_shows_the_verdict(fleet_entries, tmp_path):
    db, page = tmp_path / "fleet.sqlite", tmp_path / "fleet.html"
    # two example bundles, and the attacked host twice (its bundle and its volume): a root cause shared by two hosts
    chosen = [*fleet_entries[:2], *fleet_entries[5:7]]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "wmidoctor",
            "fleet",
            "diagnose",
            *map(str, chosen),
            "--db",
            str(db),
            "--engine",
            "sequential",
            "--quick",
        ],
        capture_output=True,
        timeout=600,
    )
    with open(page, "w", encoding="utf-8") as out:
        code = subprocess.run(
            [sys.executable, "-m", "wmidoctor", "fleet", "report", str(db), "--format", "html"], stdout=out, timeout=120
        ).returncode
    assert code == 1
    base = [_chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "fleet.png"
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1280,900", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri() + "#sort=causes:hosts:asc"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert re.search(r'id="verdict">\d+ of 4 hosts have problems', dom)
    causes = dom[dom.index('id="causes"') : dom.index("</table>", dom.index('id="causes"'))]
    hosts = [int(v) for v in re.findall(r'<td class="num" data-value="(\d+)">\d+</td><td class="num"', causes)]
    assert hosts and hosts == sorted(hosts) and hosts[0] < hosts[-1]  # re-ordered by the page, ascending
    assert 'aria-sort="ascending"' in causes
