"""An inline SVG timeline: one lane per client, its WMI time per bin as bar height, open operations as
red bars running to the end of the trace. Plain string building, escaped; no plotting library."""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH = 960
LANE = 34
LABEL = 190
AXIS = 26


def timeline_svg(timeline: dict[str, Any]) -> str:
    lanes = timeline.get("lanes") or []
    if not lanes:
        return ""
    span = max(1, int(timeline.get("span_s") or 1))
    bin_s = max(1, int(timeline.get("bin_s") or 1))
    plot = WIDTH - LABEL - 10
    peak = max((v for lane in lanes for v in lane["busy_ms"]), default=0) or 1
    height = AXIS + LANE * len(lanes) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="WMI time per client over the trace">']
    for tick in range(5):
        x = LABEL + plot * tick / 4
        parts.append(f'<line x1="{x:.1f}" y1="{AXIS - 6}" x2="{x:.1f}" y2="{height}" stroke="#ddd"/>'
                     f'<text x="{x:.1f}" y="{AXIS - 10}" font-size="11" text-anchor="middle">'
                     f"+{span * tick / 4:.0f} s</text>")
    for row, lane in enumerate(lanes):
        top = AXIS + row * LANE
        parts.append(f'<g class="lane"><title>{escape(lane["client"])}</title>'
                     f'<text x="4" y="{top + LANE / 2 + 4:.1f}" font-size="12">{escape(lane["client"][:28])}</text>'
                     f'<line x1="{LABEL}" y1="{top + LANE - 2}" x2="{WIDTH - 10}" y2="{top + LANE - 2}" '
                     'stroke="#bbb"/>')
        for index, busy in enumerate(lane["busy_ms"]):
            if busy <= 0:
                continue
            x = LABEL + plot * index * bin_s / span
            w = max(1.0, plot * bin_s / span - 0.5)
            h = max(1.0, (LANE - 6) * busy / peak)
            parts.append(f'<rect class="busy" x="{x:.1f}" y="{top + LANE - 2 - h:.1f}" width="{w:.1f}" '
                         f'height="{h:.1f}" fill="#4a7fb5"><title>{busy:.0f} ms of WMI time</title></rect>')
        for since in lane.get("open_since_s", []):
            x = LABEL + plot * min(since, span) / span
            parts.append(f'<rect class="open" x="{x:.1f}" y="{top + 4}" width="{max(1.0, WIDTH - 10 - x):.1f}" '
                         f'height="5" fill="#c0392b"><title>open since +{since:.1f} s, never finished</title></rect>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
