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

import codecs
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
    (
        _size,
        _type,
        _marker,
        flags,
        _property,
        thread,
        process,
        stamp,
        provider,
        event_id,
        version,
        channel,
        level,
        opcode,
        task,
        keyword,
    ) = _HEAD.unpack_from(buffer, offset)
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
    return EventHeader(
        thread, process, stamp, provider, event_id, version, channel, level, opcode, task, keyword, data, end
    )


def guid_bytes(text: str) -> bytes:
    """'1418EF04-B0B4-...' (braces optional) -> the 16 bytes of the GUID as stored in a record."""
    return uuid.UUID(text.strip("{}")).bytes_le


# --- field readers ------------------------------------------------------------------------------------
# A template is a tuple of (name, width, render): width 0 is a NUL-terminated UTF-16LE string, -1 a
# NUL-terminated 8-bit string, otherwise `render(buffer, position)` reads that many bytes.

_UTF16 = codecs.utf_16_le_decode  # direct: bytes.decode looks the codec up by name on every call
UTF16_STRING, ANSI_STRING = 0, -1

Render = Callable[[bytes, int], str]
FIXED: dict[str, tuple[int, Render]] = {
    "UInt32": (4, lambda b, p: str(_U32.unpack_from(b, p)[0])),
    "Int32": (4, lambda b, p: str(_I32.unpack_from(b, p)[0])),
    "HexInt32": (4, lambda b, p: f"0x{_U32.unpack_from(b, p)[0]:X}"),
    "Boolean": (4, lambda b, p: "true" if _U32.unpack_from(b, p)[0] else "false"),
    "UInt64": (8, lambda b, p: str(_U64.unpack_from(b, p)[0])),
    "HexInt64": (8, lambda b, p: f"0x{_U64.unpack_from(b, p)[0]:X}"),
    "GUID": (16, lambda b, p: "{" + str(uuid.UUID(bytes_le=bytes(b[p : p + 16]))).upper() + "}"),
}
_STRINGS = {"UnicodeString": UTF16_STRING, "AnsiString": ANSI_STRING}

Template = tuple[tuple[str, int, Render | None], ...]


def compile_template(fields: list[tuple[str, str]]) -> Template:
    """[(name, input type)] -> a template; an unknown input type raises ValueError (the table is wrong)."""
    compiled: list[tuple[str, int, Render | None]] = []
    for name, kind in fields:
        if kind in _STRINGS:
            compiled.append((name, _STRINGS[kind], None))
        elif kind in FIXED:
            compiled.append((name, *FIXED[kind]))
        else:
            raise ValueError(f"no reader for the input type {kind}")
    return tuple(compiled)


def decode_fields(buffer: bytes, header: EventHeader, template: Template) -> tuple[dict[str, str], bool]:
    """The payload's fields by name, and whether it held all of them (False: a shorter, older version).

    One loop with the string cases inline: this runs once per event and is the reader's hot path."""
    fields: dict[str, str] = {}
    position, end = header.user_data, header.end
    find = buffer.find
    for name, width, render in template:
        if position >= end:
            return fields, False
        if width == UTF16_STRING:
            cut = find(b"\x00\x00", position, end)
            while cut != -1 and (cut - position) & 1:
                cut = find(b"\x00\x00", cut + 1, end)
            stop = end if cut == -1 else cut
            fields[name] = _UTF16(buffer[position:stop], "replace")[0]
            position = stop + 2
        elif width == ANSI_STRING:
            cut = find(b"\x00", position, end)
            stop = end if cut == -1 else cut
            fields[name] = buffer[position:stop].decode("latin-1")
            position = stop + 1
        else:
            if position + width > end:
                return fields, False
            fields[name] = render(buffer, position)  # type: ignore[misc]
            position += width
    return fields, True
