"""Open one event log (a .evtx file, an XML export or a JSON-lines export, by content) and stream its
selected events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from wmidoctor.artifacts.evtx.binary import EVTX_MAGIC, read_evtx
from wmidoctor.artifacts.evtx.event import Event, LogStats
from wmidoctor.artifacts.evtx.xmlexport import looks_like_xml, read_xml
from wmidoctor.artifacts.gate import open_regular

# (provider, event id) -> decode this record fully?
Selector = Callable[[str, int], bool]


def read_log(
    path: Path | str,
    stats: LogStats,
    select: Selector,
    since: str = "",
    until: str = "",
    stream: BinaryIO | None = None,
) -> Iterator[Event]:
    """Yield the selected events of the log at `path` (or in `stream`, named by `path`), filling `stats`.

    The format is told by content: the .evtx file magic, else XML if the text starts with '<', else JSON
    (artifacts.jsonl) if it starts with '{' or '[' (also gzip-compressed), or a Log Analytics CSV export.
    Unreadable input never raises: it is marked in `stats` (unreadable, with the reason).
    """
    # imported here: the JSON-lines reader imports this package's Event
    from wmidoctor.artifacts.jsonl.csvrows import looks_like_csv_export
    from wmidoctor.artifacts.jsonl.lines import looks_like_json
    from wmidoctor.artifacts.jsonl.reader import read_jsonl

    name = Path(path).name
    try:
        handle = stream if stream is not None else open_regular(path)
    except OSError as exc:
        stats.unreadable = True
        stats.add_problem(f"cannot open: {exc.strerror or exc}")
        return
    try:
        head = handle.read(4096)
        handle.seek(0)
        if head.startswith(EVTX_MAGIC) or (not looks_like_xml(head) and str(path).lower().endswith(".evtx")):
            stats.kind = "evtx"
            yield from read_evtx(handle if stream is not None else str(path), name, stats, select, since, until)
        elif looks_like_xml(head):
            stats.kind = "xml"
            yield from read_xml(handle, name, stats, select, since, until)
        elif looks_like_json(head) or looks_like_csv_export(head) or name.lower().endswith((".csv", ".csv.gz")):
            yield from read_jsonl(handle, name, stats, select, since, until)
        else:
            stats.unreadable = True
            stats.add_problem("neither an .evtx file nor an XML or JSON-lines event export")
    finally:
        if stream is None:
            handle.close()
