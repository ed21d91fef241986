"""Packets of a pcapng file (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html): section
headers (byte order), interface descriptions (link type, timestamp resolution and offset), enhanced,
simple and obsolete packet blocks; every other block is skipped by its length.

Read here with one struct call per block because dpkt's pcapng reader, used first, builds an object and
parses the options of every packet block: it read a mixed capture at a third of the classic-pcap rate.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

SHB, IDB, EPB, SPB, OPB = 0x0A0D0D0A, 1, 6, 3, 2
BYTE_ORDER_MAGIC = 0x1A2B3C4D
BLOCK_MAX = 16 * 1024 * 1024
OPT_TSRESOL, OPT_TSOFFSET = 9, 14


class Damaged(ValueError):
    """The file stops being pcapng (a bad block length, a missing section header)."""


class Interface:
    __slots__ = ("divisor", "link_type", "offset", "snaplen")

    def __init__(self, link_type: int, snaplen: int, divisor: float, offset: int):
        self.link_type, self.snaplen, self.divisor, self.offset = link_type, snaplen, divisor, offset


class NgReader:
    """Yields (timestamp, frame) of the packets whose interface has the first interface's link type;
    `skipped` counts the others (a capture mixing link types is rare: Wireshark "any" uses one)."""

    def __init__(self, magic: bytes, stream: BinaryIO):
        self.read = stream.read
        self.order = "<"
        self.interfaces: list[Interface] = []
        self.skipped = 0
        self._section(magic + self.read(8))
        while not self.interfaces:  # the link type is known from the first interface description
            if self._block() is None:
                raise Damaged("no interface description block")
        self.link_type = self.interfaces[0].link_type

    def datalink(self) -> int:
        return self.link_type

    def _section(self, head: bytes) -> None:
        if len(head) < 12:
            raise Damaged("the section header is cut short")
        for order in ("<", ">"):
            if struct.unpack(order + "I", head[8:12])[0] == BYTE_ORDER_MAGIC:
                self.order = order
                break
        else:
            raise Damaged("no byte-order magic in the section header")
        length = struct.unpack(self.order + "I", head[4:8])[0]
        if not 28 <= length <= BLOCK_MAX:
            raise Damaged(f"a section header of {length} bytes")
        self.read(length - 12)
        self.interfaces = []  # interface numbers start again in each section

    def _interface(self, body: bytes) -> None:
        link_type, _, snaplen = struct.unpack_from(self.order + "HHI", body)
        divisor, offset, at = 1e6, 0, 8
        while at + 4 <= len(body):
            code, size = struct.unpack_from(self.order + "HH", body, at)
            value = body[at + 4 : at + 4 + size]
            if code == 0:
                break
            if code == OPT_TSRESOL and value:
                divisor = float((2 if value[0] & 0x80 else 10) ** (value[0] & 0x7F))
            elif code == OPT_TSOFFSET and len(value) == 8:
                offset = struct.unpack(self.order + "q", value)[0]
            at += 4 + size + (-size % 4)
        self.interfaces.append(Interface(link_type, snaplen, divisor, offset))

    def _block(self) -> tuple[float, bytes] | None:
        """Read one block: a packet gives (ts, frame); other blocks give (-1, b''); the end gives None."""
        head = self.read(8)
        if len(head) < 8:
            if head:
                raise Damaged("the file ends inside a block header")
            return None
        kind, length = struct.unpack(self.order + "II", head)
        if kind == SHB:
            self._section(head + self.read(4))
            return -1.0, b""
        if not 12 <= length <= BLOCK_MAX or length % 4:
            raise Damaged(f"a block of {length} bytes")
        body = self.read(length - 8)
        if len(body) < length - 8:
            raise Damaged("the file ends inside a block")
        if kind == EPB:
            number, high, low, caplen = struct.unpack_from(self.order + "IIII", body)
            return self._packet(number, high, low, body[20 : 20 + caplen])
        if kind == SPB:
            original = struct.unpack_from(self.order + "I", body)[0]
            snaplen = self.interfaces[0].snaplen if self.interfaces else 0
            size = min(original, snaplen) if snaplen else original
            return self._packet(0, None, None, body[4 : 4 + min(size, length - 16)])
        if kind == OPB:
            number, _, high, low, caplen = struct.unpack_from(self.order + "HHIII", body)
            return self._packet(number, high, low, body[20 : 20 + caplen])
        if kind == IDB:
            self._interface(body)
        return -1.0, b""

    def _packet(self, number: int, high: int | None, low: int | None, frame: bytes) -> tuple[float, bytes]:
        if number >= len(self.interfaces) or self.interfaces[number].link_type != self.interfaces[0].link_type:
            self.skipped += 1
            return -1.0, b""
        interface = self.interfaces[number]
        if high is None or low is None:  # a simple packet block has no timestamp
            return 0.0, frame
        return interface.offset + ((high << 32) | low) / interface.divisor, frame

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        block = self._block
        while (item := block()) is not None:
            if item[1]:
                yield item
