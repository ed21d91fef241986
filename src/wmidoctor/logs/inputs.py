"""Find the event logs a PATH argument names: files, folders (recursively) or a .zip bundle.

Logs are .evtx files, XML exports, JSON-lines exports (.json, .jsonl, .ndjson) and Log Analytics CSV
exports (.csv), also gzip-compressed;
which format a file holds is told by its content when it is read (artifacts.evtx.reader).
"""

from __future__ import annotations

import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wmidoctor.artifacts.gate import check_regular
from wmidoctor.errors import InputError

LOG_SUFFIXES = (".evtx", ".xml", ".json", ".jsonl", ".ndjson", ".csv", ".json.gz", ".jsonl.gz", ".ndjson.gz",
                ".csv.gz")
_SPOOL_IN_MEMORY = 64 << 20  # zip members up to this size stay in memory; larger ones go to a temp file


@dataclass(frozen=True)
class LogInput:
    """One log to read: a file on disk, or a member of a zip archive (`member` set)."""

    path: Path
    member: str = ""

    @property
    def label(self) -> str:
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    @property
    def name(self) -> str:
        return self.member.rpartition("/")[2] if self.member else self.path.name

    @contextmanager
    def open(self) -> Iterator[BinaryIO | None]:
        """None for a file on disk (readers open it by path); a seekable copy of a zip member otherwise."""
        if not self.member:
            yield None
            return
        with zipfile.ZipFile(self.path) as archive, \
                tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as copy:
            try:
                with archive.open(self.member) as packed:
                    _copy_within_limits(packed, copy, archive.getinfo(self.member), self.label)  # type: ignore[arg-type]
            except (zipfile.BadZipFile, NotImplementedError, EOFError, RuntimeError, zlib.error) as exc:
                raise InputError(f"{self.label}: cannot be decompressed ({exc})") from None
            copy.seek(0)
            yield copy  # type: ignore[misc]


def _copy_within_limits(source: BinaryIO, out: BinaryIO, info: zipfile.ZipInfo, label: str) -> None:
    """Copy a zip member under the bundle limits of sources.safezip (size and ratio, counted while
    decompressing)."""
    from wmidoctor.sources.safezip import CHUNK, Limits

    limits, size = Limits(), 0
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if size > limits.max_entry_bytes:
            raise InputError(f"{label}: expands beyond the size limit (zip bomb?)")
        if size > limits.ratio_floor and size > limits.max_ratio * max(info.compress_size, 1):
            raise InputError(f"{label}: expands more than {limits.max_ratio}:1 (zip bomb?)")
        out.write(chunk)


def _is_log(name: str) -> bool:
    return name.lower().endswith(LOG_SUFFIXES)


def _zip_members(path: Path) -> list[LogInput]:
    """The logs in a zip, under the bundle limits (sources.safezip): too many entries is an input error,
    and each member is size- and ratio-checked as it is read."""
    from wmidoctor.sources.safezip import Limits

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable zip ({exc})") from None
    if len(members) > Limits.max_entries:
        raise InputError(f"{path}: {len(members)} entries, more than a bundle holds ({Limits.max_entries})")
    return [LogInput(path, info.filename) for info in members if not info.is_dir() and _is_log(info.filename)]


def find_logs(paths: list[str]) -> list[LogInput]:
    """Every log under the given paths, in a stable order; a path that does not exist is an input error."""
    found: list[LogInput] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found += [LogInput(p) for p in sorted(path.rglob("*")) if p.is_file() and _is_log(p.name)]
        elif path.is_file() and zipfile.is_zipfile(path):
            found += _zip_members(path)
        elif path.is_file():
            found.append(LogInput(path))
        elif path.exists():
            check_regular(path)  # names what it is: a FIFO, a device, a socket
        else:
            raise InputError(f"no such file or folder: {text}")
    return found
