"""The fleet report page opened in headless Chromium: banner, root-cause table, and sorting done by the page's
own script (asked for through the URL, as a link to a sorted view would)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from tests.headless import browser, dump_dom, find_chromium, screenshot

pytestmark = pytest.mark.browser


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
    command = browser(find_chromium(), tmp_path)
    shot = tmp_path / "fleet.png"
    screenshot(command, page.as_uri(), shot, "1280,900")
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    dom = dump_dom(command, page.as_uri() + "#sort=causes:hosts:asc")
    assert re.search(r'id="verdict">\d+ of 4 hosts have problems', dom)
    causes = dom[dom.index('id="causes"') : dom.index("</table>", dom.index('id="causes"'))]
    hosts = [int(v) for v in re.findall(r'<td class="num" data-value="(\d+)">\d+</td><td class="num"', causes)]
    assert hosts and hosts == sorted(hosts) and hosts[0] < hosts[-1]  # re-ordered by the page, ascending
    assert 'aria-sort="ascending"' in causes
