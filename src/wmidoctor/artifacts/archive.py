"""Read a .zip of evidence without trusting it: every archive limit lives here, for bundles and for `logs`.

Refused with one line (InputError): entries with absolute paths, drive letters or `..` (path traversal),
symbolic links, more entries than a bundle can hold, and expansion no real artifact reaches (zip bombs):
per member above its size cap or its compression ratio, and for the whole archive above its total cap or
`max_ratio` times the archive's own size. Sizes are counted while decompressing, never taken from headers.
A member that cannot be read (bad CRC, damaged deflate/bzip2/lzma stream, truncated, unsupported method,
encrypted, nested deeper than any bundle) is a damaged member: reported by name, the rest is still read.
The zip itself is only ever opened for reading.
"""

from __future__ import annotations

import lzma
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from wmidoctor.errors import InputError


@dataclass(frozen=True)
class Limits:
    max_entries: int = 20_000
    max_total_bytes: int = 4 * 1024**3  # a full repository plus large logs stays well below
    max_entry_bytes: int = 2 * 1024**3
    max_ratio: int = 200  # uncompressed/compressed
    ratio_floor: int = 1024 * 1024  # a member below this may compress better (zero-filled hive logs do)
    total_ratio_floor: int = 64 * 1024 * 1024  # the whole archive may always expand to this much
    max_depth: int = 32  # folders a member may sit in; a bundle or volume needs about ten


CHUNK = 1024 * 1024
ENCRYPTED = 0x1  # general-purpose flag bit 0


class DamagedMember(Exception):
    """One member cannot be read; the message says why."""


def _safe_name(name: str) -> PurePosixPath:
    text = name.replace("\\", "/")
    path = PurePosixPath(text)
    if text.startswith("/") or (len(text) > 1 and text[1] == ":") or ".." in path.parts:
        raise InputError(f"unsafe path in zip: {name!r} (absolute or leaving the bundle)")
    return path


def _is_link(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def open_archive(zip_path: Path, limits: Limits = Limits()) -> zipfile.ZipFile:
    """The archive, opened for reading, once its entry count is known to be within the limit."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"{zip_path}: not a readable zip ({exc})") from None
    if len(archive.infolist()) > limits.max_entries:
        archive.close()
        raise InputError(
            f"{zip_path}: {len(archive.infolist())} entries, more than a bundle holds ({limits.max_entries})"
        )
    return archive


class Budget:
    """What the whole archive may still expand to, shared by all its members."""

    def __init__(self, zip_path: Path, limits: Limits) -> None:
        self.zip_path, self.limits = zip_path, limits
        size = zip_path.stat().st_size
        self.allowed = min(limits.max_total_bytes, max(limits.total_ratio_floor, limits.max_ratio * size))
        self.used = 0

    def copy(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, out: BinaryIO) -> int:
        """Decompress one member into `out` within the limits; returns its size. Raises DamagedMember for a
        member that cannot be read and InputError for a breach of the limits."""
        if info.flag_bits & ENCRYPTED:
            raise DamagedMember("encrypted; wmidoctor does not read encrypted members")
        depth = len(PurePosixPath(info.filename.replace("\\", "/")).parts) - 1
        if depth > self.limits.max_depth:
            raise DamagedMember(f"nested {depth} folders deep, more than any bundle ({self.limits.max_depth})")
        limits, name, size = self.limits, info.filename, 0
        try:
            source = archive.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
            raise DamagedMember(f"cannot be decompressed: {exc}") from None
        with source:
            while True:
                try:
                    chunk = source.read(CHUNK)
                except (
                    zipfile.BadZipFile,
                    zipfile.LargeZipFile,
                    NotImplementedError,
                    EOFError,
                    RuntimeError,
                    zlib.error,
                    lzma.LZMAError,
                    OSError,
                    ValueError,
                ) as exc:  # OSError: bzip2 stream damage
                    raise DamagedMember(f"cannot be decompressed: {exc}") from None
                if not chunk:
                    return size
                size += len(chunk)
                self.used += len(chunk)
                if size > limits.max_entry_bytes or self.used > self.allowed:
                    raise InputError(f"{self.zip_path}: {name!r} expands beyond the size limit (zip bomb?)")
                if size > limits.ratio_floor and size > limits.max_ratio * max(info.compress_size, 1):
                    raise InputError(f"{self.zip_path}: {name!r} expands more than {limits.max_ratio}:1 (zip bomb?)")
                out.write(chunk)


def extract(zip_path: Path, target: Path, limits: Limits = Limits()) -> dict[str, str]:
    """Extract `zip_path` into the empty folder `target`; return the members that could not be read
    (name -> reason), which the loader reports as damaged artifacts.

    A breach of the safety rules raises InputError (one line); nothing outside `target` is ever written.
    """
    damaged: dict[str, str] = {}
    budget = Budget(zip_path, limits)
    with open_archive(zip_path, limits) as archive:
        root = target.resolve()
        for info in archive.infolist():
            relative = _safe_name(info.filename)
            if _is_link(info):
                raise InputError(f"{zip_path}: {info.filename!r} is a symbolic link; links are refused")
            if len(relative.parts) - 1 > limits.max_depth:
                damaged[relative.as_posix()[:200]] = (
                    f"nested {len(relative.parts) - 1} folders deep, more than any bundle ({limits.max_depth})"
                )
                continue
            destination = (root / relative).resolve()
            if destination != root and root not in destination.parents:
                raise InputError(f"unsafe path in zip: {info.filename!r}")
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                with open(destination, "xb") as out:
                    budget.copy(archive, info, out)
            except DamagedMember as exc:
                destination.unlink(missing_ok=True)
                damaged[relative.as_posix()] = str(exc)
            except FileExistsError:
                raise InputError(f"{zip_path}: {info.filename!r} appears twice") from None
    return damaged
