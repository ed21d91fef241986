"""`diagnose --quick` on event logs: read only the newest part of each large .evtx file.

An .evtx file is a 4 KiB header followed by 64 KiB chunks, each holding whole records and stating the
first and last record number it holds. The newest records are in the chunks with the highest numbers
(the log is circular, so these need not be at the end of the file). The header followed by those chunks,
in record order, is itself a readable log; the reader sees no difference. XML exports are read whole.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wmidoctor.artifacts.gate import open_regular
from wmidoctor.logs.analysis import Analysis
from wmidoctor.logs.inputs import LogInput
from wmidoctor.logs.run import analyse_alone, not_an_event_log

QUICK_LOG_BYTES = 4 << 20  # per log: 64 chunks, a few thousand records, well under a second to read
HEADER_BYTES = 4096
CHUNK_BYTES = 65536
FILE_MAGIC = b"ElfFile\0"
CHUNK_MAGIC = b"ElfChnk\0"
MIB = 1 << 20


def newest_chunks(path: Path, limit: int) -> tuple[bytes, int] | None:
    """The header and the newest chunks of the .evtx at `path` within `limit` bytes, and the number of
    chunks in the file; None when the whole file is within the limit or it is not a plain .evtx file."""
    size = path.stat().st_size
    if size <= limit or size < HEADER_BYTES + CHUNK_BYTES:
        return None
    with open_regular(path) as handle:
        header = handle.read(HEADER_BYTES)
        if not header.startswith(FILE_MAGIC):
            return None
        chunks: list[tuple[int, int]] = []  # (last record number, offset)
        offset = HEADER_BYTES
        while offset + CHUNK_BYTES <= size:
            handle.seek(offset)
            head = handle.read(24)
            if head.startswith(CHUNK_MAGIC):
                chunks.append((struct.unpack_from("<Q", head, 16)[0], offset))
            offset += CHUNK_BYTES
        keep = max(1, (limit - HEADER_BYTES) // CHUNK_BYTES)
        newest = sorted(sorted(chunks)[-keep:])
        body = []
        for _, start in newest:
            handle.seek(start)
            body.append(handle.read(CHUNK_BYTES))
    return header + b"".join(body), len(chunks)


@dataclass(frozen=True)
class _TailInput(LogInput):
    """A log on disk read through the in-memory image of its newest chunks."""

    image: bytes = b""

    @contextmanager
    def open(self) -> Iterator[BinaryIO | None]:
        yield io.BytesIO(self.image)


def analyse_newest(paths: list[Path], limit: int | None = None) -> tuple[Analysis, dict[str, str]]:
    """Analyse the logs, .evtx files over `limit` bytes (default QUICK_LOG_BYTES) only through their newest
    chunks; per shortened log (by the path its stats carry) what was left out."""
    limit = limit or QUICK_LOG_BYTES
    analysis, shortened = Analysis(), {}
    for path in paths:
        tail = newest_chunks(path, limit) if path.suffix.lower() == ".evtx" else None
        if tail is None:
            log = LogInput(path)
        else:
            image, total = tail
            log = _TailInput(path, image=image)
            kept = (len(image) - HEADER_BYTES) // CHUNK_BYTES
            shortened[log.label] = (
                f"--quick read the newest {kept} of {total} chunks "
                f"({len(image) / MIB:.1f} of {path.stat().st_size / MIB:.1f} MiB)"
            )
        stats, part = analyse_alone(log)
        if not_an_event_log(stats):
            continue
        part.add_log(stats)
        analysis.merge(part)  # each log on its own, then merged in order, as `logs` does
    return analysis, shortened
