"""The `trace` HTML report opened in headless Chromium: a real page whose DOM holds the summary, the
dominant-client finding, the per-client table and the inline SVG timeline with its bars. The events are
built from the provider's templates (no public capture of the Trace channel exists)."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from tests.headless import browser, dump_dom, find_chromium
from tests.headless import screenshot as take_screenshot
from trace_factories import Scenario, to_etl

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_chromium()


def _chunks(png: bytes, kind: bytes) -> list[bytes]:
    found, position = [], 8
    while position < len(png):
        length, name = struct.unpack(">I4s", png[position : position + 8])
        if name == kind:
            found.append(png[position + 8 : position + 8 + length])
        position += 12 + length
    return found


def test_trace_html_renders_with_a_timeline(chromium: str, cli, tmp_path: Path) -> None:
    s = Scenario()
    for i in range(600):
        s.operation(i * 0.1, 0.5, pid=6012, query="select * from Win32_Product", provider="MsiProv", host_id=3100)
    for i in range(30):
        s.operation(i * 2.0, 0.05, pid=880, query="select * from Win32_OperatingSystem")
    s.operation(1.0, None, pid=77, query="select * from Win32_LogicalDisk")
    trace = tmp_path / "trace.etl"
    trace.write_bytes(to_etl(s.ordered()))
    page = tmp_path / "trace.html"
    assert cli("trace", str(trace), "--format", "html", "--out", str(page)).returncode == 1

    command = browser(chromium, tmp_path)
    screenshot = tmp_path / "trace.png"
    take_screenshot(command, page.as_uri(), screenshot, "1280,1600")
    dom = dump_dom(command, page.as_uri())

    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1280, 1600)
    pixels = zlib.decompress(b"".join(_chunks(png, b"IDAT")))
    assert len(set(pixels[::7])) > 20, "the screenshot is (nearly) blank"

    assert 'id="summary"' in dom and "631 operation(s)" in dom
    assert "pid 6012 on HOST1 took 100%" in dom and "Uninstall registry keys" in dom
    assert dom.index('id="findings"') < dom.index('id="timeline"') < dom.index('id="clients"')
    timeline = dom[dom.index('id="timeline"') : dom.index('id="clients"')]
    assert "<svg" in timeline and timeline.count('class="busy"') > 10 and 'class="open"' in timeline
    assert 'class="peak"' in timeline and "open at once (max " in timeline
    shutil.copy(screenshot, Path(os.environ.get("WMIDOCTOR_SCREENSHOT", tmp_path / "kept.png")))
