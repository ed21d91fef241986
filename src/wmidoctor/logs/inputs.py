"""Find the event logs a PATH argument names: files, folders (recursively) or a .zip bundle.

Logs are .evtx files, XML exports, JSON-lines exports (.json, .jsonl, .ndjson) and Log Analytics CSV
exports (.csv), also gzip-compressed;
which format a file holds is told by its content when it is read (artifacts.evtx.reader).
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from wmidoctor.artifacts.archive import Budget, Limits, open_archive
from wmidoctor.artifacts.gate import check_regular
from wmidoctor.errors import InputError

LOG_SUFFIXES = (".evtx", ".xml", ".json", ".jsonl", ".ndjson", ".csv", ".json.gz", ".jsonl.gz", ".ndjson.gz", ".csv.gz")
_SPOOL_IN_MEMORY = 64 << 20  # zip members up to this size stay in memory; larger ones go to a temp file


@dataclass(frozen=True)
class LogInput:
    """One log to read: a file on disk, or a member of a zip archive (`member` set, read within `budget`,
    the archive's shared allowance from artifacts.archive)."""

    path: Path
    member: str = ""
    budget: Budget | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    @property
    def name(self) -> str:
        return self.member.rpartition("/")[2] if self.member else self.path.name

    @contextmanager
    def open(self) -> Iterator[BinaryIO | None]:
        """None for a file on disk (readers open it by path); a seekable copy of a zip member otherwise.
        Raises DamagedMember for a member that cannot be read, InputError for one beyond the archive limits."""
        if not self.member:
            yield None
            return
        budget = self.budget or Budget(self.path, Limits())
        with open_archive(self.path) as archive, tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as copy:
            budget.copy(archive, archive.getinfo(self.member), copy)  # type: ignore[arg-type]
            copy.seek(0)
            yield copy  # type: ignore[misc]


def _is_log(name: str) -> bool:
    return name.lower().endswith(LOG_SUFFIXES)


def _zip_members(path: Path) -> list[LogInput]:
    """The logs in a zip, under the bundle limits (artifacts.archive), sharing one allowance for the archive."""
    with open_archive(path) as archive:
        members = archive.infolist()
    budget = Budget(path, Limits())
    return [LogInput(path, info.filename, budget) for info in members if not info.is_dir() and _is_log(info.filename)]


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
