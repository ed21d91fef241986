"""Opening a SQLite database that a report only reads, without ever changing it or trusting it.

`mode=ro` alone still creates the `-shm` file of a WAL database beside it; when no write-ahead log is beside the
file (no writer at work), the database is opened `immutable`, which creates nothing. Text that is not UTF-8
is read with replacement characters instead of failing, and a file that is not a SQLite database, or is damaged,
is one line (InputError), whenever SQLite notices it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from wmidoctor.errors import InputError

T = TypeVar("T")


def open_read_only(path: str | Path) -> sqlite3.Connection:
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{path}: no such file")
    resolved = file.resolve()
    writer_at_work = resolved.with_name(resolved.name + "-wal").exists()
    uri = f"{resolved.as_uri()}?{'mode=ro' if writer_at_work else 'immutable=1'}"
    conn = sqlite3.connect(uri, uri=True)
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
    return conn


@contextmanager
def damage_is_input_error(path: str | Path) -> Iterator[None]:
    """Turn SQLite's complaints about a damaged or foreign file into one line naming it."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path}: not a readable wmidoctor database ({exc})") from None


def typed(value: object, kind: type[T] | tuple[type, ...], where: str, *, optional: bool = False) -> T:
    """`value` when it has the type a column should hold (None allowed when `optional`); InputError otherwise."""
    if value is None and optional:
        return value  # type: ignore[return-value]
    if isinstance(value, kind) and not (isinstance(value, bool)):
        return value  # type: ignore[return-value]
    raise InputError(f"{where}: expected {getattr(kind, '__name__', kind)}, found {type(value).__name__}")
