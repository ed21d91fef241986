"""XML event exports are read in memory that does not grow with the file, whatever elements it holds, and a
nesting no export has stops the read with a problem (hand-made hostile exports, made by the tests)."""

from __future__ import annotations

import io
import tracemalloc

from wmidoctor.artifacts.evtx.event import LogStats
from wmidoctor.artifacts.evtx.xmlexport import MAX_DEPTH, read_xml

EVENT = (
    '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
    '<Provider Name="Microsoft-Windows-WMI-Activity"/><EventID>5858</EventID>'
    '<TimeCreated SystemTime="2023-01-01T00:00:00.000Z"/><EventRecordID>1</EventRecordID>'
    "<Channel>Microsoft-Windows-WMI-Activity/Operational</Channel><Computer>H</Computer></System></Event>"
)


def _peak_reading(text: str) -> tuple[int, LogStats]:
    """Peak memory the read itself adds (the input stream is made before measuring)."""
    stats = LogStats("x.xml")
    stream = io.BytesIO(text.encode())
    del text
    tracemalloc.start()
    for _ in read_xml(stream, "x.xml", stats, lambda provider, event_id: True):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, stats


def test_other_elements_cost_no_more_memory_as_the_file_grows():
    other = "<Other><x>" + "y" * 200 + "</x></Other>"
    small, _ = _peak_reading(other * 4_000)
    large, stats = _peak_reading(other * 40_000)  # ten times the input
    assert stats.records_read == 0 and not stats.problems
    assert large < 2 * small, (small, large)


def test_events_inside_a_wrapper_mixed_with_other_elements_are_all_read_in_flat_memory():
    body = EVENT + "<Noise>" + "z" * 300 + "</Noise>"
    small, _ = _peak_reading("<Events>" + body * 2_000 + "</Events>")
    large, stats = _peak_reading("<Events>" + body * 20_000 + "</Events>")
    assert stats.records_read == 20_000 and not stats.problems
    assert large < 2 * small, (small, large)


def test_nesting_deeper_than_any_export_stops_with_a_problem():
    _, stats = _peak_reading("<a>" * 100_000 + "</a>" * 100_000)
    assert stats.problems and f"deeper than {MAX_DEPTH}" in stats.problems[0]
    assert stats.unreadable
    within = MAX_DEPTH - 8  # room for the event's own levels
    _, kept = _peak_reading("<a>" * within + EVENT + "</a>" * within)
    assert not kept.problems
