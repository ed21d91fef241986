"""Offline registry hives (regf files) read through regipy, with transaction-log replay.

A dirty hive (primary and secondary sequence numbers differ) whose .LOG1/.LOG2 files lie beside it is
replayed into a copy in a temporary folder: the input is only ever read. The copy's header checksum is
recomputed, since the replay leaves the old one. Reads are targeted and cached per key; damage met on
the way is recorded in `problems` and the read carries on with what it can reach.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from wmidoctor.artifacts.gate import check_regular, open_regular
from wmidoctor.artifacts.registry.model import RegKey, RegValue, canonical_path
from wmidoctor.artifacts.registry.regfile import decode_data

REGF_MAGIC = b"regf"
HBIN_BASE = 4096  # cell offsets count from the first hive bin, after the 4 KiB base block
HEADER_CHECKSUM_SPAN = 508  # the checksum covers the first 508 bytes and sits right after them

# Where a hive is mounted in the one namespace, by the name stored in its header or its file name.
MOUNT_POINTS = {
    "SYSTEM": "HKLM\\SYSTEM",
    "SOFTWARE": "HKLM\\SOFTWARE",
    "SAM": "HKLM\\SAM",
    "SECURITY": "HKLM\\SECURITY",
    "DEFAULT": "HKU\\.DEFAULT",
    "NTUSER.DAT": "HKCU",
    "USRCLASS.DAT": "HKCU\\Software\\Classes",
}


class HiveError(ValueError):
    """The file cannot be opened as a hive at all."""


def header_checksum(header: bytes) -> int:
    """XOR of the first 127 little-endian dwords, with 0 and 0xFFFFFFFF avoided as Windows does."""
    value = 0
    for (dword,) in struct.iter_unpack("<I", header[:HEADER_CHECKSUM_SPAN]):
        value ^= dword
    if value == 0xFFFFFFFF:
        return 0xFFFFFFFE
    return value or 1


def fix_header_checksum(path: Path) -> None:
    with open(path, "r+b") as handle:
        header = handle.read(HEADER_CHECKSUM_SPAN)
        handle.write(struct.pack("<I", header_checksum(header)))


def is_hive(path: Path) -> bool:
    """Whether `path` starts like a hive; a FIFO or device raises NotARegularFile rather than hang."""
    try:
        with open_regular(path) as handle:
            return handle.read(4) == REGF_MAGIC
    except OSError:
        return False


def transaction_logs(path: Path) -> list[Path]:
    """The .LOG1 and .LOG2 (or legacy .LOG) files beside `path`, matched case-insensitively."""
    wanted = {f"{path.name}.log1".lower(): 0, f"{path.name}.log2".lower(): 1, f"{path.name}.log".lower(): 2}
    found = sorted((wanted[p.name.lower()], p) for p in path.parent.iterdir() if p.name.lower() in wanted)
    return [p for _, p in found]


def _filetime_iso(value: int) -> str:
    if not value:
        return ""
    try:
        moment = datetime(1601, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=value // 10)
    except OverflowError:
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Hive:
    """One hive file mounted at a point of the namespace (e.g. a SYSTEM hive at HKLM\\SYSTEM)."""

    def __init__(self, path: str | Path, mount: str | None = None) -> None:
        from regipy.registry import RegistryHive

        self.path = Path(path)
        self.problems: list[str] = []
        self.replayed_pages = 0
        self.logs: list[Path] = []
        if not is_hive(self.path):
            raise HiveError(f"{self.path.name}: not a registry hive (no 'regf' signature)")
        try:
            self._hive = RegistryHive(str(self.path))
        except Exception as exc:  # regipy raises construct/parsing errors of many kinds
            raise HiveError(f"{self.path.name}: cannot open the hive: {exc}") from exc
        header = self._hive.header
        self.dirty = header.primary_sequence_num != header.secondary_sequence_num
        if self.dirty:
            self._replay()
        self.mount = canonical_path(mount) if mount else self._guess_mount()
        self.name = self.path.name
        self._keys: dict[str, object | None] = {"": self._hive.root}
        self._children: dict[str, dict[str, object]] = {}

    # --- opening ---------------------------------------------------------------------------------

    def _replay(self) -> None:
        from regipy.recovery import apply_transaction_logs
        from regipy.registry import RegistryHive

        for log in transaction_logs(self.path):
            if log.suffix.lower() not in (".log1", ".log2"):
                continue
            try:
                check_regular(log)
            except OSError as exc:
                self.problems.append(f"{log.name}: {exc}; not replayed")
                continue
            self.logs.append(log)
        if not self.logs:
            self.problems.append(
                f"{self.path.name}: the hive is dirty (unsaved changes) and no .LOG1/.LOG2 "
                "files lie beside it; recent changes may be missing"
            )
            return
        with tempfile.TemporaryDirectory(prefix="wmidoctor-hive-") as folder:
            copy = Path(folder) / self.path.name
            shutil.copyfile(self.path, copy)
            restored = Path(folder) / f"{self.path.name}.restored"
            secondary = self.logs[1] if len(self.logs) > 1 else None
            try:
                _, pages = apply_transaction_logs(
                    str(copy), str(self.logs[0]), str(secondary) if secondary else None, str(restored)
                )
                fix_header_checksum(restored)
                self._hive = RegistryHive(str(restored))
                self.replayed_pages = pages
            except Exception as exc:
                self.problems.append(
                    f"{self.path.name}: replaying its transaction logs failed ({exc}); "
                    "read without them, recent changes may be missing"
                )

    def _guess_mount(self) -> str:
        stored = (self._hive.name or "").replace("/", "\\").rsplit("\\", 1)[-1].strip().upper()
        for name in (stored, self.path.name.upper(), self.path.stem.upper()):
            if name in MOUNT_POINTS:
                return MOUNT_POINTS[name]
        self.problems.append(
            f"{self.path.name}: hive kind not recognised (header name {stored!r}); mounted at HKU\\{self.path.name}"
        )
        return f"HKU\\{self.path.name}"

    # --- reading ---------------------------------------------------------------------------------

    def _children_of(self, parts: list[str], record: object) -> dict[str, object]:
        rel = "\\".join(parts).lower()
        children = self._children.get(rel)
        if children is None:
            children = {}
            try:
                for sub in record.iter_subkeys() or ():  # type: ignore[attr-defined]
                    children[sub.name.lower()] = sub
            except Exception as exc:
                where = printable("\\".join([self.mount, *parts]))
                self.problems.append(f"{self.path.name}: subkeys of {where} unreadable: {printable(str(exc))}")
            self._children[rel] = children
        return children

    def _record(self, parts: list[str]) -> object | None:
        rel = "\\".join(parts).lower()
        if rel in self._keys:
            return self._keys[rel]
        parent = self._record(parts[:-1])
        record = None
        if parent is not None:
            record = self._children_of(parts[:-1], parent).get(parts[-1].lower())
        self._keys[rel] = record
        return record

    def relative(self, path: str) -> list[str] | None:
        """Key names below the mount point for canonical `path`, or None when the hive does not hold it."""
        parts, mount = canonical_path(path).split("\\"), self.mount.split("\\")
        if [p.lower() for p in parts[: len(mount)]] != [m.lower() for m in mount]:
            return None
        return parts[len(mount) :]

    def key(self, path: str) -> RegKey | None:
        parts = self.relative(path)
        if parts is None:
            return None
        record = self._record(parts)
        if record is None:
            return None
        values = self._values(record, path)
        subkeys = [sub.name for sub in self._children_of(parts, record).values()]  # type: ignore[attr-defined]
        written = _filetime_iso(getattr(record.header, "last_modified", 0))  # type: ignore[attr-defined]
        return RegKey(path=canonical_path(path), values=values, subkeys=subkeys, source=self.name, last_written=written)

    def _values(self, record: object, path: str) -> list[RegValue]:
        """The key's values, read straight from the hive buffer (regipy's value reader copies the rest of
        the file for every inline value, which makes it a thousand times slower)."""
        header = record.header  # type: ignore[attr-defined]
        values: list[RegValue] = []
        if not header.values_count:
            return values
        try:
            data = self._hive._stream.getbuffer()
            offsets = _cell(data, header.values_list_offset, 4 * header.values_count)
            for (vk_offset,) in struct.iter_unpack("<I", offsets):
                values.append(_read_vk(data, vk_offset))
        except (ValueError, struct.error) as exc:
            self.problems.append(f"{self.path.name}: values of {printable(path)} unreadable: {exc}")
        return values


def printable(text: str, limit: int = 120) -> str:
    """Damaged hives yield key names of binary garbage: keep messages on one readable line."""
    cleaned = "".join(c if c.isprintable() and ord(c) < 0x2000 else "?" for c in text)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "..."


BIG_DATA_THRESHOLD = 16344  # larger values of hive format 1.4+ are split into "db" segments


def _cell(data: memoryview, offset: int, size: int) -> bytes:
    """`size` bytes of the cell at hive-bin `offset` (past its 4-byte size field)."""
    start = HBIN_BASE + offset + 4
    if offset < 0 or start + size > len(data):
        raise ValueError(f"cell at offset 0x{offset:x} lies outside the hive")
    return bytes(data[start : start + size])


def _read_vk(data: memoryview, offset: int) -> RegValue:
    fixed = _cell(data, offset, 20)
    signature, name_size, size, data_offset, type_code, flags = struct.unpack("<2sHIIIH", fixed[:18])
    if signature != b"vk":
        raise ValueError(f"no value record at offset 0x{offset:x}")
    raw_name = _cell(data, offset, 20 + name_size)[20:]
    name = raw_name.decode("latin-1") if flags & 1 else raw_name.decode("utf-16-le", errors="replace")
    if size & 0x80000000:
        raw = struct.pack("<I", data_offset)[: size & 0x7FFFFFFF]
    elif size > BIG_DATA_THRESHOLD and _cell(data, data_offset, 2) == b"db":
        count, list_offset = struct.unpack("<HI", _cell(data, data_offset, 8)[2:8])
        segments = struct.unpack(f"<{count}I", _cell(data, list_offset, 4 * count))
        raw = b"".join(
            _cell(data, seg, min(BIG_DATA_THRESHOLD, size - i * BIG_DATA_THRESHOLD))
            for i, seg in enumerate(segments)
            if size > i * BIG_DATA_THRESHOLD
        )
    else:
        raw = _cell(data, data_offset, size) if size else b""
    return RegValue(name, type_code, decode_data(type_code, raw))
