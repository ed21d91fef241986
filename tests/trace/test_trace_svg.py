"""The inline SVG timeline: well-formed XML, every bar inside its own lane and inside the plot, names
escaped. Built from template-made trace events (no public capture of the Trace channel exists)."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

from trace_factories import Scenario, to_etl

from wmidoctor.trace.report import build_report
from wmidoctor.trace.run import analyse
from wmidoctor.trace.svg import AXIS, LABEL, LANE, WIDTH, timeline_svg

NS = "{http://www.w3.org/2000/svg}"


def _report(tmp_path: Path) -> dict:
    s = Scenario()
    for i in range(300):
        s.operation(i * 0.2, 0.3 + (i % 5) * 0.2, pid=100 + i % 3)
    s.operation(5.0, None, pid=999, machine="<script>")
    path = tmp_path / "t.etl"
    path.write_bytes(to_etl(s.ordered()))
    return build_report(analyse([str(path)]))


def test_bars_stay_inside_their_lanes(tmp_path: Path) -> None:
    report = _report(tmp_path)
    svg = timeline_svg(report["timeline"], report["concurrency"])
    root = ElementTree.fromstring(svg)
    groups = root.findall(f"{NS}g")
    assert len(groups) == 1 + len(report["timeline"]["lanes"])  # the concurrency lane first
    for row, group in enumerate(groups):
        top, bottom = AXIS + row * LANE, AXIS + (row + 1) * LANE
        rects = group.findall(f"{NS}rect")
        assert rects, group.findtext(f"{NS}title")
        for rect in rects:
            y, h = float(rect.get("y")), float(rect.get("height"))
            x, w = float(rect.get("x")), float(rect.get("width"))
            assert top <= y and y + h <= bottom, (row, y, h)
            assert x >= LABEL and x + w <= WIDTH - 10 + 1, (row, x, w)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_no_lanes_no_svg() -> None:
    assert timeline_svg({"lanes": []}) == ""
    assert re.match(
        r"<svg ",
        timeline_svg({"bin_s": 1, "span_s": 1, "lanes": [{"client": "pid 1", "busy_ms": [1.0], "open_since_s": []}]}),
    )
