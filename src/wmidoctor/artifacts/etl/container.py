"""Walk the ETL container: fixed-size buffers, each a header then 8-byte aligned trace records.

Layout facts (public: Geoff Chappell's notes on WMI_BUFFER_HEADER and the trace header types, and the
TRACE_LOGFILE_HEADER / EVENT_HEADER documentation on learn.microsoft.com):

* A buffer starts with a 0x48-byte header: BufferSize (u32, offset 0) is the whole buffer, SavedOffset
  (u32, 4) where its records end, BufferFlag (u16, 0x34; 0x40 = compressed) and BufferType (u16, 0x36).
* A record starts with a 4-byte marker whose third byte is the header type and whose fourth carries the
  0x80 "trace header" flag. System, compact and PerfInfo headers (types 1-4, 0x10, 0x11) keep the record
  size in the u16 at offset 4; every other header keeps it in the u16 at offset 0.
* The first record of the first buffer is the logfile header (a 64-bit system record of the header
  group): it gives the clock (ReservedFlags: 1 QPC, 2 system time, 3 CPU cycles), its frequency and the
  start time as a FILETIME, which turn record timestamps into UTC.

The walk is bounded in memory (one buffer at a time) and never raises on damage: a buffer or record
that does not fit is counted and named in `EtlStats.problems`, and reading goes on where it can.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

BUFFER_HEADER = 0x48
BUFFER_FLAG_COMPRESSED = 0x40
TRACE_HEADER_FLAG = 0x80

# header type byte -> the name we count records under
KINDS = {
    0x01: "system",
    0x02: "system",
    0x03: "compact",
    0x04: "compact",
    0x0A: "classic",
    0x14: "classic",
    0x0B: "instance",
    0x15: "instance",
    0x0C: "timed",
    0x0D: "error",
    0x0E: "wnode",
    0x0F: "message",
    0x10: "perfinfo",
    0x11: "perfinfo",
    0x12: "event",
    0x13: "event",
    0x00: "wintrace",
}
EVENT_TYPES = frozenset({0x12, 0x13})
_SIZE_AT_4 = frozenset({0x01, 0x02, 0x03, 0x04, 0x10, 0x11})
SYSTEM_HEADER = 32  # a 64- or 32-bit system record's header; the logfile header's payload follows it

_U16 = struct.Struct("<H")
_BUFFER = struct.Struct("<II")
_FLAGS = struct.Struct("<HH")
_HEADER_TIMES = struct.Struct("<QQQI")  # BootTime, PerfFreq, StartTime, ReservedFlags (8-aligned, at 248)
_END_TIME = struct.Struct("<Q")

FILETIME_UNIX_EPOCH = 116444736000000000  # 1970-01-01 as a FILETIME (100 ns ticks since 1601)
MAX_PROBLEMS = 20


@dataclass
class Clock:
    """Turns a record timestamp into a FILETIME (100 ns ticks since 1601, UTC)."""

    kind: int = 2  # 1 QPC, 2 system time (already a FILETIME), 3 CPU cycle counter
    frequency: int = 10_000_000
    start_filetime: int = 0
    start_stamp: int = 0

    def filetime(self, stamp: int) -> int:
        if self.kind == 2 or not self.frequency:
            return stamp
        return self.start_filetime + (stamp - self.start_stamp) * 10_000_000 // self.frequency


@dataclass
class EtlStats:
    """What walking one file gave: buffers, records per header kind, damage and the session's facts."""

    path: str
    buffers: int = 0
    buffers_skipped: int = 0  # compressed or malformed buffers whose records were not read
    records: Counter[str] = field(default_factory=Counter)  # header kind -> records (all buffers)
    first_buffer_records: int = 0  # records in the buffer holding the logfile header
    events_lost: int = 0
    pointer_size: int = 0
    start_filetime: int = 0
    end_filetime: int = 0
    problems: list[str] = field(default_factory=list)
    unreadable: bool = False

    def add_problem(self, message: str) -> None:
        if message not in self.problems and len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)

    @property
    def record_count(self) -> int:
        return sum(self.records.values())


@dataclass(slots=True)
class Record:
    """One trace record: its header type, where it lies inside `buffer`, and which buffer (0-based)."""

    header_type: int
    buffer: bytes
    offset: int
    size: int
    buffer_index: int


def _read_header(buffer: bytes, stats: EtlStats, clock: Clock) -> None:
    """Fill the clock and session facts from the logfile header record at the start of `buffer`."""
    base = BUFFER_HEADER + SYSTEM_HEADER
    if len(buffer) < base + 280:
        stats.add_problem("the first buffer is too short for a logfile header")
        return
    (stats.end_filetime,) = _END_TIME.unpack_from(buffer, base + 16)
    stats.pointer_size = int.from_bytes(buffer[base + 44 : base + 48], "little")
    stats.events_lost = int.from_bytes(buffer[base + 48 : base + 52], "little")
    times_at = base + (248 if stats.pointer_size != 4 else 240)
    _boot, frequency, start, reserved = _HEADER_TIMES.unpack_from(buffer, times_at)
    stats.start_filetime = start
    (stamp,) = struct.unpack_from("<Q", buffer, BUFFER_HEADER + 16)  # the header record's own timestamp
    clock.kind, clock.frequency, clock.start_filetime, clock.start_stamp = reserved or 2, frequency, start, stamp


def _records(buffer: bytes, index: int, end: int, stats: EtlStats) -> Iterator[Record]:
    position = BUFFER_HEADER
    records = stats.records
    while position + 8 <= end:
        header_type, marker_flags = buffer[position + 2], buffer[position + 3]
        if not marker_flags & TRACE_HEADER_FLAG:
            if buffer[position : position + 4] not in (b"\x00\x00\x00\x00", b"\xff\xff\xff\xff"):
                stats.add_problem(
                    f"buffer {index}: a record without a trace header at offset {position}; "
                    "the rest of the buffer was skipped"
                )
            return
        at = position + 4 if header_type in _SIZE_AT_4 else position
        (size,) = _U16.unpack_from(buffer, at)
        if size < 8 or position + size > end:
            stats.add_problem(
                f"buffer {index}: a record of {size} bytes at offset {position} does not fit; "
                "the rest of the buffer was skipped"
            )
            return
        records[KINDS.get(header_type, f"type-{header_type:#04x}")] += 1
        if index == 0:
            stats.first_buffer_records += 1
        yield Record(header_type, buffer, position, size, index)
        position += (size + 7) & ~7


def walk(stream: BinaryIO, stats: EtlStats, clock: Clock) -> Iterator[Record]:
    """Yield every record of the file, buffer by buffer; fills `stats` and, from the first buffer, `clock`."""
    index = 0
    while True:
        head = stream.read(BUFFER_HEADER)
        if not head:
            break
        if len(head) < BUFFER_HEADER:
            stats.add_problem(f"the file ends inside buffer {index}'s header (truncated copy?)")
            break
        size, saved = _BUFFER.unpack_from(head)
        flag, _kind = _FLAGS.unpack_from(head, 0x34)
        if size < BUFFER_HEADER or size > 64 << 20 or saved > size:
            if index == 0:
                stats.unreadable = True
                stats.add_problem("not an ETL file (the first buffer header is not valid)")
            else:
                stats.add_problem(
                    f"buffer {index} has an invalid header (size {size}, used {saved}); reading stopped there"
                )
            break
        buffer = head + stream.read(size - BUFFER_HEADER)
        if len(buffer) < size:
            stats.add_problem(f"the file ends inside buffer {index} (truncated copy?)")
            saved = min(saved, len(buffer))
        stats.buffers += 1
        if flag & BUFFER_FLAG_COMPRESSED:
            stats.buffers_skipped += 1
            stats.add_problem(
                "compressed buffers are not read (record the session without compression, "
                "or relog it with tracerpt / xperf)"
            )
        else:
            if index == 0:
                _read_header(buffer, stats, clock)
            yield from _records(buffer, index, max(saved, BUFFER_HEADER), stats)
        index += 1
        if len(buffer) < size:
            break
