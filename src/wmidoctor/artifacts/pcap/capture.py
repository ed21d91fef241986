"""Capture files to frames: pcap and pcapng, also gzip-compressed, read as a stream.

Both formats are read record by record from any file object (a gzip stream works, memory stays flat),
with one struct call per record. Classic pcap is a 24-byte header and a 16-byte header per record; for
pcapng see pcapng.py. dpkt's readers were used first: they hand back a record cut short by the end of
the file as if it were whole (a truncated capture must be reported) and build an object per record
(pcapng: with its options parsed), which made them the slowest part of reading a large capture. A
capture that ends mid-record yields every whole record before the cut and a warning, never an exception.
"""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from wmidoctor.artifacts.pcap.pcapng import Damaged, NgReader

PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"
MAX_RECORD = 256 * 1024  # larger than any snap length in use: a bigger record length means a damaged file

# Link types (https://www.tcpdump.org/linktypes.html) this reader unwraps down to IP.
ETHERNET, RAW, LINUX_SLL, LINUX_SLL2, NULL, LOOP, IPV4, IPV6 = 1, 101, 113, 276, 0, 108, 228, 229
LINK_NAMES = {
    ETHERNET: "Ethernet",
    RAW: "raw IP",
    12: "raw IP",
    14: "raw IP",
    LINUX_SLL: "Linux cooked",
    LINUX_SLL2: "Linux cooked v2",
    NULL: "BSD loopback",
    LOOP: "OpenBSD loopback",
    IPV4: "raw IPv4",
    IPV6: "raw IPv6",
}


class NotACapture(ValueError):
    """The file is neither pcap nor pcapng (compressed or not)."""


@dataclass
class CaptureInfo:
    path: str
    format: str = ""  # pcap | pcapng
    compressed: bool = False
    link_type: int = 0
    records: int = 0
    bytes_read: int = 0  # captured bytes of every record, as stored
    first_ts: float | None = None
    last_ts: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def link_name(self) -> str:
        return LINK_NAMES.get(self.link_type, f"link type {self.link_type}")


def _open(path: Path) -> tuple[BinaryIO, bool]:
    raw = path.open("rb")
    head = raw.read(4)
    raw.seek(0)
    if head[:2] == GZIP_MAGIC:
        # GzipFile.read is a Python call per record header; a C buffer in front serves those from memory.
        return io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), 1024 * 1024), True
    return raw, False


def _reader(stream: BinaryIO, info: CaptureInfo) -> _ClassicReader | NgReader:
    try:
        head = stream.read(4)
    except (OSError, EOFError) as exc:
        raise NotACapture(f"{info.path}: not a capture file (unreadable: {exc})") from exc
    reader: _ClassicReader | NgReader
    try:
        if head in PCAP_MAGICS:
            info.format = "pcap"
            reader = _ClassicReader(head, stream, info)
        elif head == PCAPNG_MAGIC:
            info.format = "pcapng"
            reader = NgReader(head, stream)
        else:
            kinds = "neither pcap nor pcapng" + (", gzip" if info.compressed else "")
            raise NotACapture(f"{info.path}: not a capture file ({kinds})")
    except (Damaged, struct.error, OSError, EOFError) as exc:
        raise NotACapture(f"{info.path}: a damaged {info.format} header ({exc})") from exc
    info.link_type = reader.datalink()
    return reader


class _ClassicReader:
    """Records of a classic pcap file (https://www.tcpdump.org/manpages/pcap-savefile.5.html)."""

    def __init__(self, magic: bytes, stream: BinaryIO, info: CaptureInfo):
        self.stream, self.info = stream, info
        header = stream.read(20)
        if len(header) < 20:
            raise NotACapture(f"{info.path}: a damaged pcap header (the file ends inside it)")
        order = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        self.divisor = 1e9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e6
        self.record = struct.Struct(order + "IIII")
        self.link_type: int = struct.unpack(order + "I", header[16:20])[0] & 0x0FFFFFFF

    def datalink(self) -> int:
        return self.link_type

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        read, unpack, divisor, info = self.stream.read, self.record.unpack, self.divisor, self.info
        records = size = 0
        first = last = None
        try:
            while True:
                header = read(16)
                if len(header) < 16:
                    if header:
                        info.warnings.append(
                            f"the capture ends inside a record header after {records} records (truncated file?)"
                        )
                    return
                seconds, fraction, caplen, _ = unpack(header)
                if caplen > MAX_RECORD:
                    info.warnings.append(
                        f"record {records + 1} claims {caplen} bytes: the file is damaged from "
                        "there on; reading stopped"
                    )
                    return
                frame = read(caplen)
                if len(frame) < caplen:
                    info.warnings.append(
                        f"the capture ends inside record {records + 1} ({len(frame)} of "
                        f"{caplen} bytes; truncated file?)"
                    )
                    return
                last = seconds + fraction / divisor
                if first is None:
                    first = last
                records += 1
                size += caplen
                yield last, frame
        finally:
            info.records, info.bytes_read, info.first_ts, info.last_ts = records, size, first, last


def frames(path: str | Path, info: CaptureInfo | None = None) -> Iterator[tuple[float, bytes]]:
    """(timestamp, frame bytes) of every record, in file order. Raises NotACapture before the first one
    for a file that is not a capture; later damage ends the stream with a warning in `info`."""
    path = Path(path)
    info = info if info is not None else CaptureInfo(str(path))
    stream, info.compressed = _open(path)
    with stream:
        reader = _reader(stream, info)
        try:
            if isinstance(reader, _ClassicReader):
                yield from reader  # it keeps the counts itself
            else:
                yield from _counted(reader, info)
                if reader.skipped:
                    info.warnings.append(f"{reader.skipped} packets of interfaces with another link type skipped")
        except (Damaged, struct.error) as exc:
            info.warnings.append(f"the capture is damaged after {info.records} records (truncated file?): {exc}")
        except (OSError, EOFError) as exc:  # a gzip stream cut short or corrupt
            info.warnings.append(f"the file could not be read past record {info.records}: {exc}")


def _counted(reader: NgReader, info: CaptureInfo) -> Iterator[tuple[float, bytes]]:
    for ts, frame in reader:
        info.records += 1
        info.bytes_read += len(frame)
        if info.first_ts is None:
            info.first_ts = ts
        info.last_ts = ts
        yield ts, frame
