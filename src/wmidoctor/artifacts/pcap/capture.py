"""Capture files to frames: pcap and pcapng (dpkt's readers), also gzip-compressed, read as a stream.

dpkt is used for the file formats because it reads record by record from any file object (so a
gzip stream works and memory stays flat), has no native dependencies, is BSD-licensed, and costs
little per record. A capture that ends mid-record (a copy cut short, a crashed writer) yields every
whole record before the cut and a warning, never an exception.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"

# Link types (https://www.tcpdump.org/linktypes.html) this reader unwraps down to IP.
ETHERNET, RAW, LINUX_SLL, LINUX_SLL2, NULL, LOOP, IPV4, IPV6 = 1, 101, 113, 276, 0, 108, 228, 229
LINK_NAMES = {ETHERNET: "Ethernet", RAW: "raw IP", 12: "raw IP", 14: "raw IP", LINUX_SLL: "Linux cooked",
              LINUX_SLL2: "Linux cooked v2", NULL: "BSD loopback", LOOP: "OpenBSD loopback",
              IPV4: "raw IPv4", IPV6: "raw IPv6"}


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
        return gzip.GzipFile(fileobj=raw, mode="rb"), True  # type: ignore[return-value]
    return raw, False


def _reader(stream: BinaryIO, info: CaptureInfo):
    import dpkt

    try:
        head = stream.read(4)
    except (OSError, EOFError) as exc:
        raise NotACapture(f"{info.path}: not a capture file (unreadable: {exc})") from exc
    rest = stream
    if head in PCAP_MAGICS:
        info.format = "pcap"
        cls = dpkt.pcap.Reader
    elif head == PCAPNG_MAGIC:
        info.format = "pcapng"
        cls = dpkt.pcapng.Reader
    else:
        kinds = "neither pcap nor pcapng" + (", gzip" if info.compressed else "")
        raise NotACapture(f"{info.path}: not a capture file ({kinds})")
    try:
        reader = cls(_Prepend(head, rest))
    except (ValueError, dpkt.NeedData, dpkt.UnpackError, OSError, EOFError) as exc:
        raise NotACapture(f"{info.path}: a damaged {info.format} header ({exc})") from exc
    info.link_type = reader.datalink()
    return reader


class _Prepend:
    """A read-only file object that gives back bytes already read from the start of a stream."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self.head, self.stream = head, stream
        self.name = getattr(stream, "name", "<capture>")

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.stream.read(size)
        if size < 0:
            data, self.head = self.head + self.stream.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        if len(data) < size:
            data += self.stream.read(size - len(data))
        return data


def frames(path: str | Path, info: CaptureInfo | None = None) -> Iterator[tuple[float, bytes]]:
    """(timestamp, frame bytes) of every record, in file order. Raises NotACapture before the first one
    for a file that is not a capture; later damage ends the stream with a warning in `info`."""
    import dpkt

    path = Path(path)
    info = info if info is not None else CaptureInfo(str(path))
    stream, info.compressed = _open(path)
    with stream:
        reader = _reader(stream, info)
        iterator = iter(reader)
        while True:
            try:
                ts, frame = next(iterator)
            except StopIteration:
                break
            except (dpkt.NeedData, dpkt.UnpackError, ValueError, struct_error()) as exc:
                info.warnings.append(f"the capture ends inside a record after {info.records} records "
                                     f"(truncated file?): {exc}")
                break
            except (OSError, EOFError) as exc:  # a gzip stream cut short or corrupt
                info.warnings.append(f"the file could not be read past record {info.records}: {exc}")
                break
            info.records += 1
            info.bytes_read += len(frame)
            if info.first_ts is None:
                info.first_ts = ts
            info.last_ts = ts
            yield ts, frame


def struct_error() -> type[Exception]:
    import struct

    return struct.error
