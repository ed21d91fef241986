"""Read a JSON-lines event export as a stream of selected `Event`s, counting every record.

One line is one record; its shape is detected per line (mixed files happen). Lines that cannot be read -
not JSON, not UTF-8, not an object, cut at the end of the file, over the line cap - are damaged lines:
counted in `records_skipped` with the reason and the first line number, never raised. Objects of no known
shape are counted under `shapes["unrecognised"]` and reported the same way.

Before the main pass, the first lines are read once to learn the hosts' UTC offsets (for exports that
write local times, see times.py) and to tell an event export from other JSON: a file whose first lines
hold no event record of a known shape is not an export (`kind` "json", nothing counted), so a folder scan
passes over settings files and the like.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from wmidoctor.artifacts.evtx.event import Event, LogStats
from wmidoctor.artifacts.jsonl.lines import MAX_LINE_BYTES, numbered_lines, plain_stream
from wmidoctor.artifacts.jsonl.shapes import NotAnEvent, detect, unwrap
from wmidoctor.artifacts.jsonl.times import HostClocks

PRESCAN_LINES = 2000
PRESCAN_BYTES = 8 << 20
UNRECOGNISED = "unrecognised"


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
        return [f"{count} {what} line{'s' if count > 1 else ''} ({reason}), first at line {first}"
                for reason, (count, first) in self.seen.items()]


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


def _prescan(stream: BinaryIO, clocks: HostClocks) -> bool:
    """Learn host offsets from the head of the export; True when it holds an event record of a known shape."""
    found = False
    size = 0
    ignored = _Tally()
    for number, line in numbered_lines(stream):
        if number > PRESCAN_LINES or size > PRESCAN_BYTES:
            break
        if line is None or not line.strip():
            continue
        size += len(line)
        record = _parse(line, number, ignored)
        shape = detect(record) if record is not None else None
        if shape is None:
            continue
        try:
            shape.head(shape.prepare(record), clocks)
        except NotAnEvent:
            continue
        found = True
    return found


def read_jsonl(stream: BinaryIO, name: str, stats: LogStats, select: Callable[[str, int], bool],
               since: str = "", until: str = "") -> Iterator[Event]:
    """Yield the selected events of one JSON-lines export (plain, gzip or UTF-16) read from `stream`."""
    locator = f"jsonl:{name}"
    clocks = HostClocks()
    try:
        plain, packing = plain_stream(stream)
        export = _prescan(plain, clocks)
        stream.seek(0)
        plain, _ = plain_stream(stream)
    except (OSError, EOFError, zlib.error) as exc:
        stats.unreadable = True
        stats.add_problem(f"cannot be decompressed: {exc}")
        return
    if not export:
        stats.kind = "json"
        return
    stats.kind = "jsonl" + (f"+{packing}" if packing else "")
    damaged, unrecognised = _Tally(), _Tally()
    counts, shapes = stats.counts, stats.shapes
    try:
        for number, line in numbered_lines(plain):
            if line is None:
                damaged.note(f"longer than the {MAX_LINE_BYTES >> 20} MiB line cap", number)
                continue
            if not line.strip():
                continue
            record = _parse(line, number, damaged)
            if record is None:
                continue
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
            if (since and second < since) or (until and second > until):
                continue
            counts[(head.channel, head.provider, head.event_id)] += 1
            stats.see_time(head.time)
            if select(head.provider, head.event_id):
                yield Event(channel=head.channel, provider=head.provider, event_id=head.event_id,
                            record_id=head.record_id, time=head.time, computer=head.computer, level=head.level,
                            fields=shape.fields(record, head), source=f"{locator}#line {number}")
    except (OSError, EOFError, zlib.error) as exc:  # a damaged or cut compressed stream
        stats.records_skipped += 1
        stats.add_problem(f"reading stopped, the compressed stream is damaged: {exc}")
    stats.records_skipped += damaged.total
    if unrecognised.total:
        shapes[UNRECOGNISED] = unrecognised.total
    for message in damaged.messages("damaged") + unrecognised.messages("unread"):
        stats.add_problem(message)
    for host in sorted(clocks.unplaced - clocks.offsets.keys()):
        stats.add_problem(f"times of {host or 'an unnamed host'} are local times without a UTC offset in the "
                          "export; read as UTC")
