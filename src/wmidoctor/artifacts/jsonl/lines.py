"""Split a byte stream into JSON lines with bounded memory, and open compressed exports as plain streams.

A line longer than MAX_LINE_BYTES (16 MiB, far above any real event record) is never held whole: it is
read past in 1 MiB pieces and reported as damaged, so memory stays bounded by the cap whatever the input.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections.abc import Iterator
from typing import BinaryIO

MAX_LINE_BYTES = 16 << 20
_SKIP_PIECE = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def numbered_lines(stream: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | None]]:
    """(1-based line number, the line's bytes) for every line; None for a line over `limit` bytes.

    The last line may lack its newline (the caller tells a cut record from a complete one by parsing it).
    """
    number = 0
    readline = stream.readline
    while True:
        line = readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while True:  # read past the rest of the oversized line without keeping it
                rest = readline(_SKIP_PIECE)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, None
            continue
        yield number, line


class _Utf16AsUtf8(io.RawIOBase):
    """A UTF-16 export (PowerShell's default encoding) re-encoded to UTF-8 as it is read; the underlying
    stream is left open (the caller owns it)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            block = self._stream.read(1 << 16)
            self._done = not block
            self._pending = self._decoder.decode(block, final=self._done).encode("utf-8")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def plain_stream(stream: BinaryIO) -> tuple[BinaryIO, str]:
    """The stream to read lines from (gunzipped, UTF-16 re-encoded) and how it was packed: '', 'gzip'."""
    head = stream.read(4)
    stream.seek(0)
    packing = ""
    if head.startswith(GZIP_MAGIC):
        stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
        head = stream.read(4)
        stream.seek(0)
        packing = "gzip"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return io.BufferedReader(_Utf16AsUtf8(stream)), packing
    return stream, packing


def unpacked_head(head: bytes) -> bytes:
    """The first bytes of a file, gunzipped when it is gzip ('' when too little of it is there to tell)."""
    if not head.startswith(GZIP_MAGIC):
        return head
    decompressor = zlib.decompressobj(wbits=31)
    try:
        return decompressor.decompress(head, 4096)
    except zlib.error:
        return b""


def looks_like_json(head: bytes) -> bool:
    """Does the text start like JSON lines or a JSON document (an object or an array)?"""
    head = unpacked_head(head)
    for bom in _BOMS:
        head = head.removeprefix(bom)
    text = head.replace(b"\x00", b"").lstrip()
    return text[:1] in (b"{", b"[")
