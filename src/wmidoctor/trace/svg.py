"""An inline SVG timeline: one lane per client, its WMI time per bin as bar height, open operations as
red bars running to the end of the trace. Plain string building, escaped; no plotting library."""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH = 960
LANE = 34
LABEL = 190
AXIS = 26


def timeline_svg(timeline: dict[str, Any], concurrency: dict[str, Any] | None = None) -> str:
    """`concurrency` (optional): the most operations open at once per slot, drawn as the first lane."""
    lanes = timeline.get("lanes") or []
    if not lanes:
        return ""
    span = max(1, int(timeline.get("span_s") or 1))
    bin_s = max(1, int(timeline.get("bin_s") or 1))
    plot = WIDTH - LABEL - 10
    busiest = max((v for lane in lanes for v in lane["busy_ms"]), default=0) or 1
    peaks = (concurrency or {}).get("peaks") or []
    top_row = 1 if peaks else 0
    height = AXIS + LANE * (len(lanes) + top_row) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="WMI time per client over the trace">'
    ]
    for tick in range(5):
        x = LABEL + plot * tick / 4
        anchor = "end" if tick == 4 else "middle"
        parts.append(
            f'<line x1="{x:.1f}" y1="{AXIS - 6}" x2="{x:.1f}" y2="{height}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{AXIS - 10}" font-size="11" text-anchor="{anchor}">'
            f"+{span * tick / 4:.0f} s</text>"
        )
    if peaks:
        most = max(peaks) or 1
        width = int(concurrency.get("bin_s") or 1)  # type: ignore[union-attr]
        offset = int(concurrency.get("start_epoch_s", 0)) - int(timeline.get("start_epoch_s", 0))  # type: ignore[union-attr]
        parts.append(
            f'<g class="concurrency"><title>operations open at once (at most {most})</title>'
            f'<text x="4" y="{AXIS + LANE / 2 + 4:.1f}" font-size="12">open at once (max {most})</text>'
        )
        for index, level in enumerate(peaks):
            if level <= 0:
                continue
            x = LABEL + plot * (offset + index * width) / span
            h = max(1.0, (LANE - 6) * level / most)
            parts.append(
                f'<rect class="peak" x="{x:.1f}" y="{AXIS + LANE - 2 - h:.1f}" '
                f'width="{max(1.0, plot * width / span - 0.5):.1f}" height="{h:.1f}" fill="#8e6bb8">'
                f"<title>{level} open</title></rect>"
            )
        parts.append("</g>")
    for row, lane in enumerate(lanes, top_row):
        top = AXIS + row * LANE
        parts.append(
            f'<g class="lane"><title>{escape(lane["client"])}</title>'
            f'<text x="4" y="{top + LANE / 2 + 4:.1f}" font-size="12">{escape(lane["client"][:28])}</text>'
            f'<line x1="{LABEL}" y1="{top + LANE - 2}" x2="{WIDTH - 10}" y2="{top + LANE - 2}" '
            'stroke="#bbb"/>'
        )
        for index, busy in enumerate(lane["busy_ms"]):
            if busy <= 0:
                continue
            x = LABEL + plot * index * bin_s / span
            w = max(1.0, plot * bin_s / span - 0.5)
            h = max(1.0, (LANE - 6) * busy / busiest)
            parts.append(
                f'<rect class="busy" x="{x:.1f}" y="{top + LANE - 2 - h:.1f}" width="{w:.1f}" '
                f'height="{h:.1f}" fill="#4a7fb5"><title>{busy:.0f} ms of WMI time</title></rect>'
            )
        for since in lane.get("open_since_s", []):
            x = LABEL + plot * min(since, span) / span
            parts.append(
                f'<rect class="open" x="{x:.1f}" y="{top + 4}" width="{max(1.0, WIDTH - 10 - x):.1f}" '
                f'height="5" fill="#c0392b"><title>open since +{since:.1f} s, never finished</title></rect>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
