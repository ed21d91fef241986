"""Find the event logs a PATH argument names: files, folders (recursively) or a .zip bundle.

Logs are .evtx files, XML exports and JSON-lines exports (.json, .jsonl, .ndjson, also gzip-compressed);
which format a file holds is told by its content when it is read (artifacts.evtx.reader).
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wmidoctor.errors import InputError

LOG_SUFFIXES = (".evtx", ".xml", ".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")
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
        with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as packed, \
                tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as copy:
            shutil.copyfileobj(packed, copy, 1 << 20)
            copy.seek(0)
            yield copy  # type: ignore[misc]


def _is_log(name: str) -> bool:
    return name.lower().endswith(LOG_SUFFIXES)


def find_logs(paths: list[str]) -> list[LogInput]:
    """Every log under the given paths, in a stable order; a path that does not exist is an input error."""
    found: list[LogInput] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found += [LogInput(p) for p in sorted(path.rglob("*")) if p.is_file() and _is_log(p.name)]
        elif path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                found += [LogInput(path, info.filename) for info in archive.infolist()
                          if not info.is_dir() and _is_log(info.filename)]
        elif path.is_file():
            found.append(LogInput(path))
        else:
            raise InputError(f"no such file or folder: {text}")
    return found
