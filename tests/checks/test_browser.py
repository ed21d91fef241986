"""The HTML report opened in headless Chromium: a real, non-blank page with a verdict banner in the colour of the
worst problem, the host named, a navigation list of the problem categories, problems open and passes and skips
collapsed (screenshot checked, DOM asserted)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from diagnose_factories import sick
from tests.corpus_volume import link_volume
from tests.headless import browser, dump_dom, find_chromium
from tests.headless import screenshot as take_screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_chromium()


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the raw scanlines of an 8-bit RGB/RGBA PNG (enough to judge a screenshot)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    channels = 4
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        filter_type, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, up_left = previous[x], previous[x - channels] if x >= channels else 0
            if filter_type == 1:
                line[x] = (line[x] + left) & 0xFF
            elif filter_type == 2:
                line[x] = (line[x] + up) & 0xFF
            elif filter_type == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif filter_type == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def render_page(chromium: str, page: Path, tmp_path: Path) -> tuple[list[bytes], str]:
    """Screenshot rows (1280x2000) and the DOM after scripts ran, from headless Chromium."""
    screenshot = tmp_path / f"{page.stem}.png"
    command = browser(chromium, tmp_path)
    take_screenshot(command, page.as_uri(), screenshot, "1280,2000")
    dom = dump_dom(command, page.as_uri())
    width, height, rows = png_pixels(screenshot.read_bytes())
    assert (width, height) == (1280, 2000)
    sample = [row[i] for row in rows[::20] for i in range(0, len(row), 97)]
    mean = sum(sample) / len(sample)
    assert sum((v - mean) ** 2 for v in sample) / len(sample) > 200, "the screenshot is (nearly) blank"
    assert len(set(sample)) > 20
    # keep the page for a person to look at when the test is run by hand
    shutil.copy(screenshot, Path(os.environ.get("WMIDOCTOR_SCREENSHOT", tmp_path / "kept.png")))
    return rows, dom


def share_of_colour(rows: list[bytes], top: int, colour: tuple[int, int, int], channels: int = 4) -> float:
    """Share of the pixels in the first `top` rows that are (nearly) `colour`."""
    hits = total = 0
    for row in rows[:top]:
        step = len(row) // 1280
        for x in range(0, len(row), step * 8):
            total += 1
            hits += all(abs(row[x + c] - colour[c]) < 12 for c in range(3))
    return hits / total


def test_html_report_renders_in_chromium(chromium, cli, tmp_path):
    evidence = tmp_path / "evidence.json"
    evidence.write_text(sick("firewall.wmi-rules").to_json(), encoding="utf-8")
    page = tmp_path / "report.html"
    assert cli("diagnose", str(evidence), "--format", "html", "--out", str(page)).returncode == 1
    rows, dom = render_page(chromium, page, tmp_path)

    # the verdict banner: the error colour (#b3261e) fills a good part of the top of the page
    assert share_of_colour(rows, 150, (0xB3, 0x26, 0x1E)) > 0.3, "no red verdict banner at the top"
    assert 'id="banner"' in dom and "2 problems found (2 error)" in dom
    assert "WMI diagnosis of HEALTHY01" in dom and "server edition (domain role member-server)" in dom
    # the navigation lists the problem categories and links each problem
    nav = dom[dom.index('id="problem-nav"') : dom.index("</nav>")]
    assert 'href="#group-firewall"' in nav and 'href="#group-connectivity"' in nav
    assert 'href="#firewall.wmi-rules"' in nav
    assert "Get-NetFirewallRule -DisplayGroup 'Windows Management Instrumentation (WMI)'" in dom
    assert dom.index('id="banner"') < dom.index('id="problem-nav"') < dom.index('id="firewall.wmi-rules"')
    # passes and skips are collapsed, problems open
    assert re.search(r'<details class="finding fail" id="firewall.wmi-rules" open="?"?>', dom)
    for section in ("passes", "skips"):
        block = dom[dom.index(f'id="{section}"') :]
        assert re.match(r'id="\w+">\s*<details class="collapsed">', block), f"{section} are not collapsed"


@pytest.mark.corpus
def test_html_report_of_a_real_volume_names_the_host(chromium, cli, corpus, tmp_path):
    volume = link_volume(tmp_path / "volume", corpus)
    page = tmp_path / "volume.html"
    assert cli("diagnose", str(volume), "--format", "html", "--out", str(page)).returncode == 1
    rows, dom = render_page(chromium, page, tmp_path)
    assert "<title>wmidoctor: WKS-WIN732BITA" in dom and "WMI diagnosis of WKS-WIN732BITA" in dom
    assert "domain shieldbase.local" in dom and "client edition" in dom and "evidence: Windows volume" in dom
    # the KillProcess script consumer of this attacked host is an error (issue 13): a red banner, security first
    assert share_of_colour(rows, 150, (0xB3, 0x26, 0x1E)) > 0.3, "a red banner for the malicious subscription"
    assert 'href="#group-security"' in dom and 'href="#group-firewall"' not in dom
    assert dom.index('href="#group-security"') == dom.index('href="#group-')
    assert "unknown host" not in dom
