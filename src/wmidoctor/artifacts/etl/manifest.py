"""Decode manifest-based events (EVENT_HEADER records) by a template: field names and ETW input types.

An EVENT_HEADER record (header types 0x12/0x13) is 80 bytes: size (u16), header type, marker flags,
flags (u16 at 4; 0x0001 = extended data items follow), event property (u16), thread id (u32 at 8),
process id (u32 at 12), timestamp (u64 at 16), provider GUID (24), the event descriptor at 40 (id u16,
version u8, channel u8, level u8, opcode u8, task u16, keyword u64), processor time (56) and the
activity GUID (64). Extended data items (8-byte header each: reserved, type, linkage with bit 0 "more
follow", size; data padded to 8 bytes) come next, then the user data up to the record's size.

Values are rendered as an XML rendering of the event shows them, so events from ETL files, .evtx files
and XML exports land on the same strings: decimal integers, HexInt32 as 0x%X, Boolean as true/false,
GUIDs in braces and upper case.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass

EVENT_HEADER_SIZE = 80
FLAG_EXTENDED_INFO = 0x0001

_HEAD = struct.Struct("<HBBHHIIQ16sHBBBBHQ")  # up to and including the event descriptor
_EXTENDED = struct.Struct("<HHHH")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_I32 = struct.Struct("<i")


@dataclass(slots=True)
class EventHeader:
    thread_id: int
    process_id: int
    timestamp: int
    provider: bytes  # the GUID as 16 bytes (little-endian fields, as on disk)
    event_id: int
    version: int
    channel: int
    level: int
    opcode: int
    task: int
    keyword: int
    user_data: int  # offset of the user data in the buffer
    end: int  # offset just past the record


def event_header(buffer: bytes, offset: int, size: int) -> EventHeader | None:
    """The header of the EVENT_HEADER record at `offset`; None when it does not fit its size."""
    if size < EVENT_HEADER_SIZE:
        return None
    (_size, _type, _marker, flags, _property, thread, process, stamp, provider, event_id, version, channel,
     level, opcode, task, keyword) = _HEAD.unpack_from(buffer, offset)
    end = offset + size
    data = offset + EVENT_HEADER_SIZE
    if flags & FLAG_EXTENDED_INFO:
        while data + 8 <= end:
            _reserved, _kind, linkage, item_size = _EXTENDED.unpack_from(buffer, data)
            data += 8 + ((item_size + 7) & ~7)
            if not linkage & 1:
                break
        if data > end:
            return None
    return EventHeader(thread, process, stamp, provider, event_id, version, channel, level, opcode, task,
                       keyword, data, end)


def guid_bytes(text: str) -> bytes:
    """'1418EF04-B0B4-...' (braces optional) -> the 16 bytes of the GUID as stored in a record."""
    return uuid.UUID(text.strip("{}")).bytes_le


# --- field readers: (buffer, position, end) -> (text, next position) ---------------------------------

def _unicode(buffer: bytes, position: int, end: int) -> tuple[str, int]:
    cut = position
    while True:
        cut = buffer.find(b"\x00\x00", cut, end)
        if cut == -1:
            return buffer[position:end].decode("utf-16-le", "replace"), end
        if (cut - position) % 2 == 0:
            return buffer[position:cut].decode("utf-16-le", "replace"), cut + 2
        cut += 1


def _ansi(buffer: bytes, position: int, end: int) -> tuple[str, int]:
    cut = buffer.find(b"\x00", position, end)
    cut = end if cut == -1 else cut
    return buffer[position:cut].decode("latin-1"), min(cut + 1, end)


def _fixed(width: int, render: Callable[[bytes, int], str]) -> Callable[[bytes, int, int], tuple[str, int]]:
    def read(buffer: bytes, position: int, end: int) -> tuple[str, int]:
        if position + width > end:
            raise ValueError("the payload ends inside a field")
        return render(buffer, position), position + width
    return read


READERS: dict[str, Callable[[bytes, int, int], tuple[str, int]]] = {
    "UnicodeString": _unicode,
    "AnsiString": _ansi,
    "UInt32": _fixed(4, lambda b, p: str(_U32.unpack_from(b, p)[0])),
    "Int32": _fixed(4, lambda b, p: str(_I32.unpack_from(b, p)[0])),
    "HexInt32": _fixed(4, lambda b, p: f"0x{_U32.unpack_from(b, p)[0]:X}"),
    "Boolean": _fixed(4, lambda b, p: "true" if _U32.unpack_from(b, p)[0] else "false"),
    "UInt64": _fixed(8, lambda b, p: str(_U64.unpack_from(b, p)[0])),
    "HexInt64": _fixed(8, lambda b, p: f"0x{_U64.unpack_from(b, p)[0]:X}"),
    "GUID": _fixed(16, lambda b, p: "{" + str(uuid.UUID(bytes_le=bytes(b[p:p + 16]))).upper() + "}"),
}

Template = tuple[tuple[str, Callable[[bytes, int, int], tuple[str, int]]], ...]


def compile_template(fields: list[tuple[str, str]]) -> Template:
    """[(name, input type)] -> readers; an unknown input type raises ValueError (the table is wrong)."""
    try:
        return tuple((name, READERS[kind]) for name, kind in fields)
    except KeyError as exc:
        raise ValueError(f"no reader for the input type {exc.args[0]}") from None


def decode_fields(buffer: bytes, header: EventHeader, template: Template) -> tuple[dict[str, str], bool]:
    """The payload's fields by name, and whether it held all of them (False: a shorter, older version)."""
    fields: dict[str, str] = {}
    position, end = header.user_data, header.end
    for name, read in template:
        if position >= end:
            return fields, False
        try:
            fields[name], position = read(buffer, position, end)
        except ValueError:
            return fields, False
    return fields, True
