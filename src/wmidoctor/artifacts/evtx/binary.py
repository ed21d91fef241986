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
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import compress, islice, repeat
from operator import add, getitem, itemgetter
from typing import Any, BinaryIO

import orjson

from wmidoctor.artifacts.evtx.event import Event, LogStats
from wmidoctor.artifacts.evtx.normalise import from_json, iso_utc

EVTX_MAGIC = b"ElfFile\x00"
# .evtx layout: a 4 KiB file header whose chunk count sits at 0x2A, then 64 KiB chunks.
EVTX_HEADER_BLOCK = 4096
EVTX_CHUNK_SIZE = 65536
CHUNK_COUNT_OFFSET = 0x2A

# The head of the System block as the `evtx` package writes it (indent off): Provider with Name first
# among its attributes, then EventID as a number or as an object with Qualifiers and #text, then Version;
# Channel (a string, or null on some records) comes later, just before Computer. A batch of records is cut
# at these marks with C-level string searches, and each distinct cut is judged once (see `_read_batch`).
_HEAD = re.compile(
    r'"Provider":\{"#attributes":\{"Name":"([^"\\]*)"(?:,"[^"]*":"[^"\\]*")*\}\},'
    r'"EventID":(?:(\d+)|\{"#attributes":\{[^{}"]*(?:"[^"]*"[^{}"]*)*\},"#text":(\d+)\})'
)
_CHANNEL = re.compile(r'"Channel":(?:"([^"\\]*)"|null),"Computer":"([^"\\]*)')
HEAD_END = ',"TimeCreated":'  # what lies before is the same for every record of a kind
_CHANNEL_START, _COMPUTER = '"Channel":', ',"Computer":"'
TIMESTAMP, DATA = itemgetter("timestamp"), itemgetter("data")
Summary = tuple[str, int, str, str]  # (provider, event id, channel, computer)


def _cuts(datas: list[str]) -> list[tuple[str, str]]:
    """Each record's (text up to TimeCreated, Channel and Computer) cut by string searches mapped over the batch:
    no Python loop runs per record. A record laid out otherwise gets a cut that `_summary` refuses."""
    ends = list(map(str.find, datas, repeat(HEAD_END)))
    heads: Iterator[str] = map(getitem, datas, map(slice, repeat(0), ends))
    channel_starts = list(map(str.find, datas, repeat(_CHANNEL_START), ends))
    computers = map(str.find, datas, repeat(_COMPUTER), channel_starts)
    computer_ends = map(str.find, datas, repeat('"'), map(add, computers, repeat(len(_COMPUTER))))
    channels: Iterator[str] = map(getitem, datas, map(slice, channel_starts, computer_ends))
    return list(zip(heads, channels, strict=True))


def head_kind(head: str) -> tuple[str, int] | None:
    """(provider, event id) from the head of a record's System block (its text before HEAD_END); None when it is
    laid out otherwise (escaped characters, attribute order), and the record is decoded whole instead."""
    found = _HEAD.search(head)
    return None if found is None else (found[1], int(found[2] or found[3]))


def _summary(cut: tuple[str, str]) -> Summary | None:
    """(provider, event id, channel, computer) of a cut; None when the System block is laid out otherwise
    (see `head_kind`; fields between Channel and Computer, or no Computer)."""
    kind, channel = head_kind(cut[0]), _CHANNEL.fullmatch(cut[1])
    if kind is None or channel is None:
        return None
    return *kind, channel[1] or "", channel[2]


_WARNING_PREFIX = re.compile(r"^Skipping EVTX data:\s*(?:RuntimeError:\s*)?")
# Records stamped before this (zero FILETIMEs read as 1601) do not move a file's first/last seen.
_PLAUSIBLE = "1980"
# Records parsed per warnings trap, the selected ones held until yielded. Small enough that a batch's record
# texts are still in the processor's cache when they are cut and decoded: 4096 made reading 15-25 % slower.
_BATCH = 256


_CHUNK_NUMBER = re.compile(r"(chunk number )(\d+)")


def _note_damage(stats: LogStats, caught: list[warnings.WarningMessage], first_chunk: int) -> None:
    for warning in caught:
        text = str(warning.message)
        if not _WARNING_PREFIX.match(text):
            continue
        message = _WARNING_PREFIX.sub("", text)
        if first_chunk:  # a range of a file: its chunks are numbered from the range's start
            message = _CHUNK_NUMBER.sub(lambda m: f"{m[1]}{int(m[2]) + first_chunk}", message)
        lowered = message.lower()
        if "chunk number" in lowered or "chunk header" in lowered:
            stats.chunks_skipped += 1
        else:
            stats.records_skipped += 1
        stats.add_problem(message)
    caught.clear()


class TimeWindow:
    """Filters records by time and remembers the first and last record time seen inside the window."""

    def __init__(self, since: str, until: str) -> None:
        self.since, self.until = since, until
        self.first = self.last = ""
        self.all_first = self.all_last = ""  # every record, inside the window or not

    def admit(self, stamps: list[str]) -> list[bool] | None:
        """Which records of a batch fall inside the window (None: every one), noting the plausible times seen."""
        plausible = stamps if min(stamps) >= _PLAUSIBLE else [s for s in stamps if s >= _PLAUSIBLE]
        if plausible:
            self.all_first, self.all_last = _widen(self.all_first, self.all_last, plausible)
        if not (self.since or self.until):
            if plausible:
                self.first, self.last = _widen(self.first, self.last, plausible)
            return None
        inside = list(map(self._inside, stamps))
        kept = [stamp for stamp, keep in zip(stamps, inside, strict=True) if keep and stamp >= _PLAUSIBLE]
        if kept:
            self.first, self.last = _widen(self.first, self.last, kept)
        return inside

    def report(self, stats: LogStats) -> None:
        """The time spans seen into `stats`: inside the window, and of every record."""
        if self.first:
            stats.see_time(iso_utc(self.first))
            stats.see_time(iso_utc(self.last))
        if self.all_first:
            stats.see_record(iso_utc(self.all_first))
            stats.see_record(iso_utc(self.all_last))

    def _inside(self, stamp: str) -> bool:
        second = stamp[:19]
        return not (self.since and second < self.since) and not (self.until and second > self.until)


def _widen(first: str, last: str, stamps: list[str]) -> tuple[str, str]:
    low, high = min(stamps), max(stamps)
    return (low if not first or low < first else first), max(last, high)


def _header_problem(source: str | BinaryIO | ChunkRange, exc: Exception) -> str:
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


class ChunkRange:
    """A read-only file-like view of an .evtx file that holds its header and chunks `first` up to `last` (None:
    to the end). The evtx package reads chunks up to the end of what it is given, whatever the header counts,
    so it reads the view as a log of those chunks: several processes can share one big log."""

    def __init__(self, path: str, first: int, last: int | None) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close(), which the reader calls
        size = os.fstat(self._file.fileno()).st_size
        self._start = EVTX_HEADER_BLOCK + first * EVTX_CHUNK_SIZE
        end = size if last is None else min(size, EVTX_HEADER_BLOCK + last * EVTX_CHUNK_SIZE)
        self._length = EVTX_HEADER_BLOCK + max(0, end - self._start)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._length}[whence]
        self._position = max(0, base + offset)
        return self._position

    def read(self, size: int = -1) -> bytes:
        wanted = self._length - self._position if size is None or size < 0 else size
        parts = []
        while wanted > 0 and self._position < self._length:
            if self._position < EVTX_HEADER_BLOCK:  # the header, where it is
                at, room = self._position, EVTX_HEADER_BLOCK - self._position
            else:  # the chunks, shifted to the range's start
                at, room = self._start + self._position - EVTX_HEADER_BLOCK, self._length - self._position
            self._file.seek(at)
            data = self._file.read(min(wanted, room))
            if not data:
                break
            parts.append(data)
            self._position += len(data)
            wanted -= len(data)
        return b"".join(parts)

    def close(self) -> None:
        self._file.close()


def read_evtx_chunks(
    path: str,
    name: str,
    stats: LogStats,
    select: Callable[[str, int], bool],
    chunks: tuple[int, int | None],
    since: str = "",
    until: str = "",
) -> Iterator[Event]:
    """`read_evtx` over chunks [first, last) of the .evtx file at `path` (last None: to the end), as one
    process's share of a big log; damage is numbered by the file's chunks, and the range that starts the
    file also checks that the file holds every chunk its header announces."""
    first, last = chunks
    view = ChunkRange(path, first, last)
    try:
        yield from read_evtx(view, name, stats, select, since, until, first)
    finally:
        view.close()
    if first == 0:
        _note_truncation(path, stats)


def is_evtx_file(path: str) -> bool:
    """Whether the file at `path` starts as an .evtx file does (an unreadable one does not)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(EVTX_MAGIC)) == EVTX_MAGIC
    except OSError:
        return False


def evtx_chunk_count(path: str) -> int:
    """How many 64 KiB chunks (the last one possibly cut short) follow the header of the file at `path`."""
    size = os.path.getsize(path)
    return max(0, -(-(size - EVTX_HEADER_BLOCK) // EVTX_CHUNK_SIZE))


def record_batches(
    source: str | BinaryIO | ChunkRange, stats: LogStats, first_chunk: int = 0
) -> Iterator[list[dict[str, Any]]]:
    """The records of one .evtx file as the `evtx` package gives them, in batches of up to `_BATCH`; every record
    is counted in `stats` (`records_read`), and damage, truncation and an unreadable file are noted there.

    Each batch is parsed inside a warnings trap and yielded outside it, so the caller's own warnings are never
    mistaken for damage.
    """
    import evtx

    try:
        # evtx's stub types next() as Optional, but the iterator ends with StopIteration, never None
        records: Iterator[dict[str, Any]] = evtx.PyEvtxParser(  # type: ignore[assignment]
            source, skip_errors=True, indent=False
        ).records_json()
    except (OSError, RuntimeError, ValueError) as exc:
        stats.unreadable = True
        stats.add_problem(f"not readable as an event log: {_header_problem(source, exc)}")
        return
    if isinstance(source, str):
        _note_truncation(source, stats)
    while True:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            batch = list(islice(records, _BATCH))
            _note_damage(stats, caught, first_chunk)
        stats.records_read += len(batch)
        if batch:
            yield batch
        if len(batch) < _BATCH:
            return


def read_evtx(
    source: str | BinaryIO | ChunkRange,
    name: str,
    stats: LogStats,
    select: Callable[[str, int], bool],
    since: str = "",
    until: str = "",
    first_chunk: int = 0,
) -> Iterator[Event]:
    """Yield the selected events of one .evtx file; count every record in `stats`.

    `since`/`until` are UTC ISO prefixes ('2024-05-01T13:00:00'); records outside them are neither
    counted nor yielded (but are part of `records_read`).
    """
    window = TimeWindow(since, until)
    locator = f"evtx:{name}"
    decode_all = False
    for records in record_batches(source, stats, first_chunk):
        batch, admitted = _read_batch(records, stats, select, window, locator, decode_all)
        yield from batch
        # a log the selector mostly wants (a trace) is cheaper decoded whole than cut first
        decode_all = len(batch) * 2 > admitted
    window.report(stats)


def _read_batch(
    chunk: list[dict[str, Any]],
    stats: LogStats,
    select: Callable[[str, int], bool],
    window: TimeWindow,
    locator: str,
    decode_all: bool,
) -> tuple[list[Event], int]:
    """Count a batch's records and decode the selected ones (the events, and how many records the window
    admitted). Every per-record step but the decoding is a C-level map over the batch, and each distinct (head,
    channel and computer) cut is judged once; with `decode_all` every record is decoded and judged from its
    fields instead."""
    datas, stamps = list(map(DATA, chunk)), list(map(TIMESTAMP, chunk))
    inside = window.admit(stamps)
    if inside is not None:
        datas, stamps = list(compress(datas, inside)), list(compress(stamps, inside))
    if datas:
        _see_newest_computer(stats, datas, stamps)
    if decode_all:
        return _judged(_decoded(datas, locator, stats), stats, select), len(datas)
    cuts = _cuts(datas)
    wanted: dict[tuple[str, str], bool] = {}  # cut -> decode it knowing it is selected (False: judge it decoded)
    counts = stats.counts
    for cut, n in Counter(cuts).items():
        summary = _summary(cut)
        if summary is None:
            wanted[cut] = False
            continue
        provider, event_id, channel, computer = summary
        counts[(channel, provider, event_id)] += n
        if computer:
            stats.computers[computer] += n
        if select(provider, event_id):
            wanted[cut] = True
    known = [wanted[cut] for cut in cuts if cut in wanted]
    events = _decoded([data for data, cut in zip(datas, cuts, strict=True) if cut in wanted], locator, stats)
    # a record laid out otherwise than its cut expects is judged from its decoded fields
    batch = [
        event
        for event, sure in zip(events, known, strict=True)
        if event is not None and (sure or _judged([event], stats, select))
    ]
    return batch, len(datas)


_COMPUTER_VALUE = re.compile(r'"Computer":"([^"\\]+)"')


def _see_newest_computer(stats: LogStats, datas: list[str], stamps: list[str]) -> None:
    """The Computer name on the batch's newest record: the name the host had when it wrote it. A host renamed
    after its installation wrote its first records under the set-up name, so the newest record is the one to
    trust."""
    newest = max(range(len(stamps)), key=stamps.__getitem__)
    found = _COMPUTER_VALUE.search(datas[newest])
    if found and stamps[newest] >= _PLAUSIBLE:
        stats.see_computer(iso_utc(stamps[newest]), found[1])


_LENIENT = json.JSONDecoder(strict=False)


def record_json(data: str) -> Any:
    """One record's JSON: orjson (three times the standard library's speed), or the standard library without
    its strictness for what orjson refuses (a raw control character inside a string). Integers are exact:
    event data types are at most 64 bits wide, and orjson keeps every integer of that size."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return _LENIENT.decode(data)


def _decoded(datas: list[str], locator: str, stats: LogStats) -> list[Event | None]:
    """The records decoded and normalised (None for one without a System block, said once as a problem). Each
    record is normalised as soon as it is decoded, while its objects are still in the processor's cache: decoding
    the whole batch first tripled the cache misses that reach memory."""
    events = [from_json(record_json(data), locator) for data in datas]
    if not all(events):
        stats.add_problem("a record without a System block was ignored")
    return events


def _judged(events: list[Event | None], stats: LogStats, select: Callable[[str, int], bool]) -> list[Event]:
    """Count decoded events whose kind no cut told and keep the selected ones; each kind is judged once."""
    present = [event for event in events if event is not None]
    kinds = [(event.channel, event.provider, event.event_id) for event in present]
    stats.counts.update(kinds)
    stats.computers.update([event.computer for event in present if event.computer])
    verdicts = {kind: select(kind[1], kind[2]) for kind in set(kinds)}
    return list(compress(present, map(verdicts.__getitem__, kinds)))
