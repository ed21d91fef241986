"""Extract a bundle .zip into a private folder without trusting it.

Refused: entries with absolute paths, drive letters or `..` (path traversal), symbolic links, more
entries than a bundle can hold, more bytes than the limits allow, and compression ratios no real
artifact reaches (zip bombs). Sizes are enforced while decompressing, not taken from the headers.
The zip itself is only ever opened for reading.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from wmidoctor.errors import InputError


@dataclass(frozen=True)
class Limits:
    max_entries: int = 20_000
    max_total_bytes: int = 4 * 1024**3  # a full repository plus large logs stays well below
    max_entry_bytes: int = 2 * 1024**3
    max_ratio: int = 200  # uncompressed/compressed, checked for entries above `ratio_floor`
    ratio_floor: int = 1024 * 1024


CHUNK = 1024 * 1024


def _safe_name(name: str) -> PurePosixPath:
    text = name.replace("\\", "/")
    path = PurePosixPath(text)
    if text.startswith("/") or (len(text) > 1 and text[1] == ":") or ".." in path.parts:
        raise InputError(f"unsafe path in zip: {name!r} (absolute or leaving the bundle)")
    return path


def _is_link(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def extract(zip_path: Path, target: Path, limits: Limits = Limits()) -> dict[str, str]:
    """Extract `zip_path` into the empty folder `target`; return the members that could not be read
    (name -> reason), which the loader reports as damaged artifacts.

    A breach of the safety rules raises InputError (one line); nothing outside `target` is ever written.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"{zip_path}: not a readable zip ({exc})") from None
    damaged: dict[str, str] = {}
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_entries:
            raise InputError(f"{zip_path}: {len(members)} entries, more than a bundle holds ({limits.max_entries})")
        total = 0
        root = target.resolve()
        for info in members:
            relative = _safe_name(info.filename)
            if _is_link(info):
                raise InputError(f"{zip_path}: {info.filename!r} is a symbolic link; links are refused")
            destination = (root / relative).resolve()
            if destination != root and root not in destination.parents:
                raise InputError(f"unsafe path in zip: {info.filename!r}")
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                total += _copy_member(archive, info, destination, limits, total, zip_path)
            except _Damaged as exc:
                destination.unlink(missing_ok=True)
                damaged[relative.as_posix()] = str(exc)
    return damaged


class _Damaged(Exception):
    """One member cannot be decompressed (bad CRC, truncated, unsupported method, encrypted)."""


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, destination: Path, limits: Limits,
                 total_before: int, zip_path: Path) -> int:
    size = 0
    try:
        with archive.open(info) as source, open(destination, "xb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limits.max_entry_bytes or total_before + size > limits.max_total_bytes:
                    raise InputError(f"{zip_path}: {info.filename!r} expands beyond the size limit (zip bomb?)")
                if size > limits.ratio_floor and size > limits.max_ratio * max(info.compress_size, 1):
                    raise InputError(f"{zip_path}: {info.filename!r} expands more than {limits.max_ratio}:1 "
                                     "(zip bomb?)")
                out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, RuntimeError) as exc:
        raise _Damaged(f"cannot be decompressed: {exc}") from None  # RuntimeError: encrypted member
    except FileExistsError:
        raise InputError(f"{zip_path}: {info.filename!r} appears twice") from None
    return size
