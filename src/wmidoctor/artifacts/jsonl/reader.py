"""Read a JSON-lines event export (or a JSON document of records) as a stream of selected `Event`s,
counting every record.

One line is one record; its shape is detected per line (mixed files happen). Lines that cannot be read -
not JSON, not UTF-8, not an object, cut at the end of the file, over the line cap - are damaged lines:
counted in `records_skipped` with the reason and the first line number, never raised. Objects of no known
shape are counted under `shapes["unrecognised"]` and reported the same way.

Before the main pass, the first lines (up to 2000, fewer once every host seen has its offset) are read
once to learn the hosts' UTC offsets (for exports that write local times, see times.py) and to tell an
event export from other JSON: a file whose first lines hold no event record of a known shape is not an
export (`kind` "json", nothing counted), so a folder scan passes over settings files and the like.

A JSON document (a top-level array, or a search response holding the records in `results`, `hits.hits`,
`value` or `records`) is streamed record by record with ijson; each record is held whole, the document
never is. Such a document that is cut short keeps the records before the cut. A Log Analytics CSV export
(csvrows.py) is read row by row through the same capped lines.
"""

from __future__ import annotations

import codecs
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from wmidoctor.artifacts.evtx.event import Event, LogStats
from wmidoctor.artifacts.evtx.normalise import clean_sysmon_wmi
from wmidoctor.artifacts.jsonl.csvrows import csv_records, looks_like_csv_export
from wmidoctor.artifacts.jsonl.lines import MAX_LINE_BYTES, numbered_lines, plain_stream
from wmidoctor.artifacts.jsonl.shapes import NotAnEvent, detect, unwrap
from wmidoctor.artifacts.jsonl.times import HostClocks

PRESCAN_RECORDS = 2000
PRESCAN_SETTLED = 200  # the prescan stops early once this many records in a row needed no new offset
UNRECOGNISED = "unrecognised"
LINES = "lines"
CSV = "csv"  # a Log Analytics / Sentinel CSV export (csvrows.py)
# JSON documents: where their records are (ijson prefixes): a top-level array; Splunk REST/export `results`;
# an Elasticsearch search response; Log Analytics / Graph style `value`; `records`/`Records` wrappers.
DOCUMENT_ARRAYS = frozenset({"item", "results.item", "hits.hits.item", "value.item", "records.item", "Records.item"})
_PREFIX_SCAN_EVENTS = 100_000


@dataclass
class _Tally:
    """Lines set aside, per reason: how many and the first line number."""

    seen: dict[str, list[int]] = field(default_factory=dict)  # reason -> [count, first line]

    def note(self, reason: str, line: int) -> None:
        entry = self.seen.setdefault(reason, [0, line])
        entry[0] += 1

    @property
    def total(self) -> int:
        return sum(count for count, _ in self.seen.values())

    def messages(self, what: str) -> list[str]:
        """'3 damaged lines (not JSON), first at line 7'; `what` is e.g. 'damaged line'."""
        noun = what.rpartition(" ")[2]
        return [
            f"{count} {what}{'s' if count > 1 else ''} ({reason}), first at {noun} {first}"
            for reason, (count, first) in self.seen.items()
        ]


def _parse(line: bytes, number: int, damaged: _Tally) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except UnicodeDecodeError:
        damaged.note("not UTF-8", number)
        return None
    except ValueError:
        damaged.note("not JSON" if line.endswith(b"\n") else "cut short at the end of the file", number)
        return None
    if not isinstance(value, dict):
        damaged.note("a JSON value that is not an object", number)
        return None
    return unwrap(value)


class _Export:
    """The export's stream, re-opened for each pass (through gzip and UTF-16 decoding as needed)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.packing = ""

    def open(self) -> BinaryIO:
        self.stream.seek(0)
        plain, self.packing = plain_stream(self.stream)
        return plain


def _document_prefix(plain: BinaryIO) -> str:
    """Where the records of a JSON document are: a top-level array, or the array under a known key."""
    import ijson

    try:
        for seen, (prefix, event, _) in enumerate(ijson.parse(plain)):
            if event == "start_map" and prefix in DOCUMENT_ARRAYS:
                return str(prefix)
            if seen > _PREFIX_SCAN_EVENTS:
                break
    except ijson.JSONError:
        pass
    return ""


def _is_wrapper(value: Any) -> bool:
    """A search response holding the records (one line can hold a whole document)."""
    if not isinstance(value, dict):
        return False
    hits = value.get("hits")
    return any(isinstance(value.get(key), list) for key in ("results", "value", "records", "Records")) or (
        isinstance(hits, dict) and isinstance(hits.get("hits"), list)
    )


def _layout(export: _Export) -> str:
    """LINES, CSV, or for a JSON document the ijson prefix of its records ('' if it holds none we know)."""
    plain = export.open()
    if looks_like_csv_export(plain.read(4096)):
        return CSV
    for _, line in numbered_lines(export.open()):
        if line is None:  # over the line cap: a one-line document is streamed, anything else is damage
            return _document_prefix(export.open()) or LINES
        text = line.strip().removeprefix(codecs.BOM_UTF8)
        if not text:
            continue
        if text.startswith(b"{"):
            try:
                first = json.loads(line)
            except ValueError:
                if not text.endswith((b"{", b"[", b",")):
                    return LINES  # a damaged first line of JSON lines, reported as such
            else:
                return _document_prefix(export.open()) if _is_wrapper(first) else LINES
        return _document_prefix(export.open())
    return LINES


def _records(plain: BinaryIO, layout: str, damaged: _Tally) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number or item number, unwrapped record) for every readable record."""
    if layout == CSV:
        yield from csv_records(plain, damaged.note)
        return
    if layout == LINES:
        for number, line in numbered_lines(plain):
            if line is None:
                damaged.note(f"longer than the {MAX_LINE_BYTES >> 20} MiB line cap", number)
            elif line.strip():
                record = _parse(line, number, damaged)
                if record is not None:
                    yield number, record
        return
    import ijson

    number = 0
    try:
        for number, item in enumerate(ijson.items(plain, layout, use_float=True), 1):
            if isinstance(item, dict):
                yield number, unwrap(item)
            else:
                damaged.note("a JSON value that is not an object", number)
    except ijson.JSONError as exc:
        damaged.note(
            f"the document is malformed or cut short here, reading stopped: {str(exc).splitlines()[0]}", number + 1
        )


def _prescan(export: _Export, layout: str, clocks: HostClocks) -> bool:
    """Learn host offsets from the head of the export; True when it holds an event record of a known shape."""
    found = False
    settled = 0  # records in a row after which every host seen so far has its offset
    try:
        for count, (_, record) in enumerate(_records(export.open(), layout, _Tally()), 1):
            if count > PRESCAN_RECORDS or settled >= PRESCAN_SETTLED:
                break
            shape = detect(record)
            if shape is None:
                continue
            try:
                shape.head(shape.prepare(record), clocks)
            except NotAnEvent:
                continue
            found = True
            settled = settled + 1 if clocks.unplaced <= clocks.offsets.keys() else 0
    except (OSError, EOFError, zlib.error):  # a damaged compressed stream: the main pass reports it
        pass
    return found


def read_jsonl(
    stream: BinaryIO, name: str, stats: LogStats, select: Callable[[str, int], bool], since: str = "", until: str = ""
) -> Iterator[Event]:
    """Yield the selected events of one JSON-lines export or JSON document (plain, gzip or UTF-16)."""
    clocks = HostClocks()
    export = _Export(stream)
    try:
        layout = _layout(export)
        found = layout != "" and _prescan(export, layout, clocks)
        plain = export.open()
    except (OSError, EOFError, zlib.error) as exc:
        stats.unreadable = True
        stats.add_problem(f"cannot be decompressed: {exc}")
        return
    if not found:
        stats.kind = "json"  # JSON, but no event export: nothing counted (a folder scan passes over it)
        return
    stats.kind = {LINES: "jsonl", CSV: "csv"}.get(layout, "json") + (f"+{export.packing}" if export.packing else "")
    what = "item" if layout not in (LINES, CSV) else "line"
    locator = f"jsonl:{name}#{what}"
    damaged, unrecognised = _Tally(), _Tally()
    counts, shapes = stats.counts, stats.shapes
    try:
        for number, record in _records(plain, layout, damaged):
            shape = detect(record)
            if shape is None:
                unrecognised.note("no known export shape", number)
                continue
            try:
                record = shape.prepare(record)
                head = shape.head(record, clocks)
            except NotAnEvent as exc:
                damaged.note(f"{shape.name} record without an event: {exc}", number)
                continue
            stats.records_read += 1
            shapes[shape.name] += 1
            second = head.time[:19]
            stats.see_record(head.time)
            if (since and second < since) or (until and second > until):
                continue
            counts[(head.channel, head.provider, head.event_id)] += 1
            stats.see_time(head.time)
            if select(head.provider, head.event_id):
                yield Event(
                    channel=head.channel,
                    provider=head.provider,
                    event_id=head.event_id,
                    record_id=head.record_id,
                    time=head.time,
                    computer=head.computer,
                    level=head.level,
                    fields=clean_sysmon_wmi(head.provider, head.event_id, shape.fields(record, head)),
                    source=f"{locator} {number}",
                )
    except (OSError, EOFError, zlib.error) as exc:  # a damaged or cut compressed stream
        stats.records_skipped += 1
        stats.add_problem(f"reading stopped, the compressed stream is damaged: {exc}")
    stats.records_skipped += damaged.total
    if unrecognised.total:
        shapes[UNRECOGNISED] = unrecognised.total
    for message in damaged.messages(f"damaged {what}") + unrecognised.messages(f"unread {what}"):
        stats.add_problem(message)
    for host in sorted(clocks.unplaced - clocks.offsets.keys()):
        stats.add_problem(
            f"times of {host or 'an unnamed host'} are local times without a UTC offset in the export; read as UTC"
        )
