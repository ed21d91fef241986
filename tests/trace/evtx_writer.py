"""A minimal .evtx writer for tests and benchmarks: records as plain Binary XML (no templates).

Facts of the layout (public: libyal's EVTX format notes and Microsoft's MS-EVEN6): a 4 KiB file header
("ElfFile", CRC32 of its first 120 bytes), 64 KiB chunks ("ElfChnk", a 512-byte header whose CRC32 covers
bytes 0-120 and 128-512, and a CRC32 of the records), records (0x2A2A0000, size, id, FILETIME, Binary XML,
size again). In Binary XML an element is a token (0x01, 0x41 with attributes), the size of the rest of the
element, the chunk offset of its name and - when that offset points just past itself - the name inline.
Used to put WMI-Activity Trace events (built from the provider's templates) into a real .evtx that the
`evtx` package reads, since no public capture of the Trace channel exists.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable

CHUNK = 65536
CHUNK_HEADER = 512
RECORD_HEADER = 24
EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"

# (name, attributes, children or text); a text given as an int is written as a UInt16 value, as the
# templates of real logs type EventID and Level, and a UInt64 as a 64-bit value (EventRecordID)
Node = tuple[str, dict[str, str], "list[Node] | str | int | None"]


class UInt64(int):
    """A value written as a 64-bit unsigned integer (value type 0x0A), as real logs write EventRecordID."""


def _name_hash(name: str) -> int:
    value = 0
    for char in name:
        value = (value * 65599 + ord(char)) & 0xFFFFFFFF
    return value & 0xFFFF


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


class _Encoder:
    """Encodes one record's Binary XML; `base` is the chunk offset where the Binary XML starts."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.out = bytearray()

    def _inline_name(self, name: str) -> bytes:
        return struct.pack("<IHH", 0, _name_hash(name), len(name)) + _utf16(name) + b"\x00\x00"

    def _text(self, text: str) -> bytes:
        return struct.pack("<BBH", 0x05, 0x01, len(text)) + _utf16(text)

    def element(self, node: Node) -> None:
        name, attributes, content = node
        start = len(self.out)
        self.out += struct.pack("<BII", 0x41 if attributes else 0x01, 0, 0)
        self.out[start + 5 : start + 9] = struct.pack("<I", self.base + len(self.out))
        self.out += self._inline_name(name)
        if attributes:
            listing = len(self.out)
            self.out += b"\x00\x00\x00\x00"
            items = list(attributes.items())
            for index, (key, value) in enumerate(items):
                at = len(self.out)
                self.out += struct.pack("<BI", 0x46 if index < len(items) - 1 else 0x06, 0)
                self.out[at + 1 : at + 5] = struct.pack("<I", self.base + len(self.out))
                self.out += self._inline_name(key) + self._text(value)
            self.out[listing : listing + 4] = struct.pack("<I", len(self.out) - listing - 4)
        if content is None or content == "":
            self.out.append(0x03)
        else:
            self.out.append(0x02)
            if isinstance(content, UInt64):
                self.out += struct.pack("<BBQ", 0x05, 0x0A, content)
            elif isinstance(content, int):
                self.out += struct.pack("<BBH", 0x05, 0x06, content)
            elif isinstance(content, str):
                self.out += self._text(content)
            else:
                for child in content:
                    self.element(child)
            self.out.append(0x04)
        self.out[start + 1 : start + 5] = struct.pack("<I", len(self.out) - start - 5)

    def fragment(self, root: Node) -> bytes:
        self.out += b"\x0f\x01\x01\x00"
        self.element(root)
        self.out.append(0x00)
        return bytes(self.out)


def event_node(
    provider: str,
    event_id: int,
    channel: str,
    record_id: int,
    system_time: str,
    fields: dict[str, str],
    computer: str = "HOST1.contoso.test",
) -> Node:
    system: list[Node] = [
        ("Provider", {"Name": provider}, None),
        ("EventID", {}, event_id),
        ("Level", {}, 4),
        ("TimeCreated", {"SystemTime": system_time}, None),
        ("EventRecordID", {}, UInt64(record_id)),
        ("Channel", {}, channel),
        ("Computer", {}, computer),
    ]
    data: list[Node] = [(k, {}, v) for k, v in fields.items()]
    return ("Event", {"xmlns": EVENT_NS}, [("System", {}, system), ("UserData", {}, [("Operation", {}, data)])])


def _record(node: Node, record_id: int, filetime: int, offset: int) -> bytes:
    binxml = _Encoder(offset + RECORD_HEADER).fragment(node)
    size = RECORD_HEADER + len(binxml) + 4
    return struct.pack("<4sIQQ", b"\x2a\x2a\x00\x00", size, record_id, filetime) + binxml + struct.pack("<I", size)


def _chunk(records: list[bytes], first_id: int, last_offset: int) -> bytes:
    body = b"".join(records)
    count = len(records)
    head = bytearray(CHUNK_HEADER)
    struct.pack_into(
        "<8sQQQQIIII",
        head,
        0,
        b"ElfChnk\x00",
        first_id,
        first_id + count - 1,
        first_id,
        first_id + count - 1,
        128,
        last_offset,
        CHUNK_HEADER + len(body),
        zlib.crc32(body),
    )
    struct.pack_into("<I", head, 120, 1)
    struct.pack_into("<I", head, 124, zlib.crc32(bytes(head[:120]) + bytes(head[128:512])))
    return bytes(head) + body + b"\x00" * (CHUNK - CHUNK_HEADER - len(body))


def write_evtx(events: Iterable[tuple[Node, int]]) -> bytes:
    """An .evtx holding the given (event tree, FILETIME) records, record ids from 1, chunks filled in order."""
    chunks: list[bytes] = []
    records: list[bytes] = []
    offset, last_offset, record_id, first_id = CHUNK_HEADER, CHUNK_HEADER, 1, 1
    for node, filetime in events:
        record = _record(node, record_id, filetime, offset)
        if offset + len(record) > CHUNK:
            chunks.append(_chunk(records, first_id, last_offset))
            records, offset, first_id = [], CHUNK_HEADER, record_id
            record = _record(node, record_id, filetime, offset)
        records.append(record)
        last_offset = offset
        offset += len(record)
        record_id += 1
    if records:
        chunks.append(_chunk(records, first_id, last_offset))
    header = bytearray(4096)
    struct.pack_into(
        "<8sQQQIHHHH", header, 0, b"ElfFile\x00", 0, max(0, len(chunks) - 1), record_id, 128, 2, 3, 4096, len(chunks)
    )
    struct.pack_into("<I", header, 120, 0)
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    return bytes(header) + b"".join(chunks)
