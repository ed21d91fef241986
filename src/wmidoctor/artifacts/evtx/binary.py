"""Read .evtx files through the `evtx` package (Rust core), decoding only the records asked for.

Every record arrives as a JSON string. A few string searches pull provider, event id and channel out
of its System block, which is enough to count it; only records the selector wants are decoded (orjson) and
normalised. Damage never stops reading: with `skip_errors` the parser steps over broken records
and chunks and says so in a RuntimeWarning, which we count and keep as the file's problems.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import orjson

from wmidoctor.artifacts.evtx.event import Event, LogStats
from wmidoctor.artifacts.evtx.normalise import from_json, iso_utc

# .evtx layout: a 4 KiB file header whose chunk count sits at 0x2A, then 64 KiB chunks.
EVTX_HEADER_BLOCK = 4096
EVTX_CHUNK_SIZE = 65536
CHUNK_COUNT_OFFSET = 0x2A

# The head of the System block as the `evtx` package writes it (indent off): Provider with Name first
# among its attributes, then EventID as a number or as an object with Qualifiers and #text; Channel
# (a string, or null on some records) follows a little later.
_HEAD = re.compile(
    r'"Provider":\{"#attributes":\{"Name":"([^"\\]*)"(?:,"[^"]*":"[^"\\]*")*\}\},'
    r'"EventID":(?:(\d+)|\{"#attributes":\{[^{}"]*(?:"[^"]*"[^{}"]*)*\},"#text":(\d+)\})'
)
_CHANNEL = re.compile(r'"Channel":(?:"([^"\\]*)"|null)')


def system_summary(data: str) -> tuple[str, int, str] | None:
    """(provider, event id, channel) from a record's JSON text without decoding it; None when the
    System block is laid out otherwise (escaped characters, attribute order), and the caller decodes."""
    head = _HEAD.search(data)
    if head is None:
        return None
    channel = _CHANNEL.search(data, head.end())
    if channel is None:
        return None
    return head[1], int(head[2] or head[3]), channel[1] or ""


_WARNING_PREFIX = re.compile(r"^Skipping EVTX data:\s*(?:RuntimeError:\s*)?")
# Records stamped before this (zero FILETIMEs read as 1601) do not move a file's first/last seen.
_PLAUSIBLE = "1980"
_BATCH = 4096  # records parsed per warnings trap; the selected ones are held until yielded


def _note_damage(stats: LogStats, caught: list[warnings.WarningMessage]) -> None:
    for warning in caught:
        text = str(warning.message)
        if not _WARNING_PREFIX.match(text):
            continue
        message = _WARNING_PREFIX.sub("", text)
        lowered = message.lower()
        if "chunk number" in lowered or "chunk header" in lowered:
            stats.chunks_skipped += 1
        else:
            stats.records_skipped += 1
        stats.add_problem(message)
    caught.clear()


class _Window:
    """Filters records by time and remembers the first and last record time seen inside the window."""

    def __init__(self, since: str, until: str) -> None:
        self.since, self.until = since, until
        self.first = self.last = ""
        self.all_first = self.all_last = ""  # every record, inside the window or not

    def admits(self, stamp: str) -> bool:
        second = stamp[:19]
        if stamp >= _PLAUSIBLE:
            if not self.all_first or stamp < self.all_first:
                self.all_first = stamp
            if stamp > self.all_last:
                self.all_last = stamp
        if (self.since and second < self.since) or (self.until and second > self.until):
            return False
        if stamp < _PLAUSIBLE:
            return True
        if not self.first or stamp < self.first:
            self.first = stamp
        if stamp > self.last:
            self.last = stamp
        return True


def _header_problem(source: str | BinaryIO, exc: Exception) -> str:
    """Say in plain words why a file is not an .evtx (the parser's message is a Rust error chain)."""
    if isinstance(source, str):
        try:
            with open(source, "rb") as handle:
                head = handle.read(8)
        except OSError:
            head = None
        if head == b"":
            return "the file is empty"
        if head is not None and head != b"ElfFile\0":
            return "no .evtx file header (the file does not start with 'ElfFile')"
    return str(exc).replace("An error occurred while trying to deserialize evtx stream.: ", "")


def _note_truncation(path: str, stats: LogStats) -> None:
    """A file shorter than the chunks its header announces was cut (a partial copy): count them as lost.

    The parser reads what is there without complaint, so without this a cut log would pass as intact.
    """
    try:
        with open(path, "rb") as handle:
            header = handle.read(EVTX_HEADER_BLOCK)
            size = os.fstat(handle.fileno()).st_size
    except OSError:
        return
    if len(header) < CHUNK_COUNT_OFFSET + 2:
        return
    announced = int.from_bytes(header[CHUNK_COUNT_OFFSET : CHUNK_COUNT_OFFSET + 2], "little")
    present = max(0, size - EVTX_HEADER_BLOCK) // EVTX_CHUNK_SIZE
    if present < announced:
        stats.chunks_skipped += announced - present
        stats.add_problem(f"file truncated: the header announces {announced} chunk(s), the file holds {present}")


def read_evtx(
    source: str | BinaryIO,
    name: str,
    stats: LogStats,
    select: Callable[[str, int], bool],
    since: str = "",
    until: str = "",
) -> Iterator[Event]:
    """Yield the selected events of one .evtx file; count every record in `stats`.

    `since`/`until` are UTC ISO prefixes ('2024-05-01T13:00:00'); records outside them are neither
    counted nor yielded (but are part of `records_read`). The parser runs in batches inside a warnings
    trap, and the batch's events are yielded outside it, so the caller's own warnings are never
    mistaken for damage.
    """
    import evtx

    try:
        records = evtx.PyEvtxParser(source, skip_errors=True, indent=False).records_json()
    except (OSError, RuntimeError, ValueError) as exc:
        stats.unreadable = True
        stats.add_problem(f"not readable as an event log: {_header_problem(source, exc)}")
        return
    if isinstance(source, str):
        _note_truncation(source, stats)
    window = _Window(since, until)
    locator = f"evtx:{name}"
    while True:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # evtx's stub types next() as Optional, but the iterator ends with StopIteration, never None
            batch, exhausted = _read_batch(records, stats, select, window, locator)  # type: ignore[arg-type]
            _note_damage(stats, caught)
        yield from batch
        if exhausted:
            break
    if window.first:
        stats.see_time(iso_utc(window.first))
        stats.see_time(iso_utc(window.last))
    if window.all_first:
        stats.see_record(iso_utc(window.all_first))
        stats.see_record(iso_utc(window.all_last))


def _read_batch(
    records: Iterator[dict[str, Any]],
    stats: LogStats,
    select: Callable[[str, int], bool],
    window: _Window,
    locator: str,
) -> tuple[list[Event], bool]:
    counts = stats.counts
    batch: list[Event] = []
    read = 0
    for record in records:
        read += 1
        if window.admits(record["timestamp"]):
            data = record["data"]
            summary = system_summary(data)
            if summary:
                provider, event_id, channel = summary
                counts[(channel, provider, event_id)] += 1
                if select(provider, event_id):
                    _decode(data, locator, stats, batch, None)
            else:  # an unusual System layout: decode to count it
                _decode(data, locator, stats, batch, select)
        if read == _BATCH:
            stats.records_read += read
            return batch, False
    stats.records_read += read
    return batch, True


_LENIENT = json.JSONDecoder(strict=False)


def _record_json(data: str) -> Any:
    """One record's JSON: orjson (three times the standard library's speed), or the standard library without
    its strictness for what orjson refuses (a raw control character inside a string). Integers are exact:
    event data types are at most 64 bits wide, and orjson keeps every integer of that size."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return _LENIENT.decode(data)


def _decode(
    data: str, locator: str, stats: LogStats, batch: list[Event], select: Callable[[str, int], bool] | None
) -> None:
    event = from_json(_record_json(data), locator)
    if event is None:
        stats.add_problem("a record without a System block was ignored")
        return
    if select is not None:
        stats.counts[(event.channel, event.provider, event.event_id)] += 1
        if not select(event.provider, event.event_id):
            return
    batch.append(event)
