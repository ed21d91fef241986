"""Mapping files: the tables that turn logical page numbers into physical pages of INDEX.BTR/OBJECTS.DATA.

Vista and later keep three MAPPING<n>.MAP files, each holding an objects table and an index table, and
the current one is the one with the highest sequence number. XP keeps OBJECTS.MAP and INDEX.MAP plus
MAPPING1/2.MAP copies, and MAPPING.VER names the active copy. A table is: a header (signature 0xABCD,
sequence number, page counts), one entry per logical page (24 bytes on Vista+, 4 on XP; 0xFFFFFFFF
means unmapped), a list of free physical pages, and a footer (signature 0xDCBA).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from wmidoctor.artifacts.gate import read_capped
from wmidoctor.artifacts.repository.model import Problem

HEADER_SIGNATURE = 0xABCD
FOOTER_SIGNATURE = 0xDCBA
UNMAPPED = 0xFFFFFFFF
VISTA, XP = "vista", "xp"
# Sanity bound on entry counts: a 4 GB repository (the documented maximum) has 524,288 pages.
MAX_ENTRIES = 1 << 20


@dataclass
class PageTable:
    """One logical-to-physical table (objects or index) as read from one file."""

    file: str
    sequence: int
    physical_pages: int
    pages: tuple[int, ...]  # logical page -> physical page (UNMAPPED when not mapped)
    free: tuple[int, ...] = ()
    root_hint: int | None = None  # Vista+: the index table's first entry names the B-tree root page

    def physical(self, logical: int) -> int | None:
        if 0 <= logical < len(self.pages):
            physical = self.pages[logical]
            return None if physical == UNMAPPED else physical
        return None


@dataclass
class MappingFile:
    name: str
    sequence: int | None = None
    objects: PageTable | None = None
    index: PageTable | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.objects is not None


def _read_table(
    data: bytes, offset: int, layout: str, file: str, problems: list[Problem]
) -> tuple[PageTable | None, int]:
    """Parse one table at `offset`; returns (table or None, offset after it). Damage becomes problems."""
    header_size = 24 if layout == VISTA else 16
    if offset + header_size > len(data):
        problems.append(Problem("mapping-truncated", "mapping table header cut short", file=file))
        return None, len(data)
    if layout == VISTA:
        signature, sequence, _first, _second, physical_pages, count = struct.unpack_from("<6I", data, offset)
    else:
        signature, sequence, physical_pages, count = struct.unpack_from("<4I", data, offset)
    if signature != HEADER_SIGNATURE:
        problems.append(
            Problem(
                "mapping-signature",
                f"mapping header signature is 0x{signature:X}, expected 0x{HEADER_SIGNATURE:X}",
                file=file,
            )
        )
    entry_size = 24 if layout == VISTA else 4
    position = offset + header_size
    if count > MAX_ENTRIES or position + count * entry_size + 4 > len(data):
        problems.append(
            Problem("mapping-truncated", f"mapping table claims {count} entries, more than the file holds", file=file)
        )
        return None, len(data)
    words = struct.unpack_from(f"<{count * entry_size // 4}I", data, position)
    pages = words[0::6] if layout == VISTA else words
    root_hint = words[3] if layout == VISTA and count else None
    position += count * entry_size
    (free_count,) = struct.unpack_from("<I", data, position)
    position += 4
    if free_count > MAX_ENTRIES or position + free_count * 4 + 4 > len(data):
        problems.append(
            Problem(
                "mapping-truncated", f"free-page list claims {free_count} entries, more than the file holds", file=file
            )
        )
        return PageTable(file, sequence, physical_pages, tuple(pages), (), root_hint), len(data)
    free = struct.unpack_from(f"<{free_count}I", data, position)
    position += free_count * 4
    (footer,) = struct.unpack_from("<I", data, position)
    if footer != FOOTER_SIGNATURE:
        problems.append(
            Problem(
                "mapping-signature",
                f"mapping footer signature is 0x{footer:X}, expected 0x{FOOTER_SIGNATURE:X}",
                file=file,
            )
        )
    return PageTable(file, sequence, physical_pages, tuple(pages), tuple(free), root_hint), position + 4


def detect_layout(files: dict[str, Path]) -> str:
    """XP keeps MAPPING.VER/OBJECTS.MAP; otherwise a Vista+ header is recognised by its footer placement."""
    if "MAPPING.VER" in files or "OBJECTS.MAP" in files:
        return XP
    for name in ("MAPPING1.MAP", "MAPPING2.MAP", "MAPPING3.MAP"):
        path = files.get(name)
        if path is None:
            continue
        try:
            data = read_capped(path, "repository mapping")
        except OSError:
            continue
        if len(data) >= 24:
            count = struct.unpack_from("<I", data, 20)[0]
            if count <= MAX_ENTRIES and 24 + count * 24 <= len(data):
                return VISTA
            return XP
    return VISTA


def read_mapping_file(path: Path, layout: str) -> MappingFile:
    """Read a MAPPING<n>.MAP (objects table, then the index table on Vista+ and 2003)."""
    name = path.name.upper()
    mapping = MappingFile(name)
    try:
        data = read_capped(path, "repository mapping")
    except OSError as exc:
        mapping.problems.append(Problem("mapping-unreadable", f"cannot read: {exc.strerror or exc}", file=name))
        return mapping
    mapping.objects, offset = _read_table(data, 0, layout, name, mapping.problems)
    if mapping.objects is not None:
        mapping.sequence = mapping.objects.sequence
    if offset + 16 <= len(data):
        index_problems: list[Problem] = []
        mapping.index, _ = _read_table(data, offset, layout, name, index_problems)
        if layout == VISTA:
            mapping.problems.extend(index_problems)
        elif index_problems:  # XP 32-bit copies hold no index table: trailing bytes mean nothing then
            mapping.index = None
    elif layout == VISTA and mapping.objects is not None:
        mapping.problems.append(Problem("mapping-truncated", "index mapping table missing", file=name))
    return mapping


def read_table_file(path: Path, file: str) -> tuple[PageTable | None, list[Problem]]:
    """Read an XP INDEX.MAP or OBJECTS.MAP (a single table)."""
    problems: list[Problem] = []
    try:
        data = read_capped(path, "repository mapping")
    except OSError as exc:
        return None, [Problem("mapping-unreadable", f"cannot read: {exc.strerror or exc}", file=file)]
    table, _ = _read_table(data, 0, XP, file, problems)
    return table, problems


def _differences(current: PageTable, other: PageTable) -> int:
    longest = max(len(current.pages), len(other.pages))
    a = current.pages + (UNMAPPED,) * (longest - len(current.pages))
    b = other.pages + (UNMAPPED,) * (longest - len(other.pages))
    return sum(1 for x, y in zip(a, b, strict=True) if x != y)


@dataclass
class Mappings:
    """The chosen objects and index tables, every mapping file read, and what the cross-check found."""

    layout: str
    objects: PageTable | None
    index: PageTable | None
    current: str = ""
    files: list[MappingFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _cross_check(chosen: PageTable, others: list[PageTable], what: str, result: Mappings) -> None:
    for other in others:
        if other is chosen:
            continue
        differing = _differences(chosen, other)
        if other.sequence == chosen.sequence and differing:
            result.problems.append(
                Problem(
                    "mapping-disagreement",
                    f"{other.file} has the same sequence number ({other.sequence}) as "
                    f"{chosen.file} but {differing} {what} page entries differ",
                    file=other.file,
                )
            )
        elif differing:
            result.notes.append(
                f"{other.file} is an older generation (sequence {other.sequence} vs "
                f"{chosen.sequence}): {differing} {what} page entries differ"
            )


def read_mappings(files: dict[str, Path], layout: str) -> Mappings:
    """Read every mapping file present, choose the current tables, and cross-check the others."""
    mapping_files = [
        read_mapping_file(files[name], layout)
        for name in ("MAPPING1.MAP", "MAPPING2.MAP", "MAPPING3.MAP")
        if name in files
    ]
    problems = [p for m in mapping_files for p in m.problems]
    expected = ("MAPPING1.MAP", "MAPPING2.MAP", "MAPPING3.MAP") if layout == VISTA else ("MAPPING1.MAP", "MAPPING2.MAP")
    for name in expected:
        if name not in files:
            problems.append(Problem("mapping-missing", f"{name} is missing", file=name))
    usable = [m for m in mapping_files if m.usable]
    if layout == VISTA:
        chosen = max(usable, key=lambda m: m.sequence or 0, default=None)
        result = Mappings(
            layout,
            chosen.objects if chosen else None,
            chosen.index if chosen else None,
            chosen.name if chosen else "",
            mapping_files,
            problems,
        )
        if chosen is None:
            result.problems.append(Problem("mapping-none", "no readable mapping file: pages cannot be located"))
            return result
        _cross_check(chosen.objects, [m.objects for m in usable if m.objects], "objects", result)  # type: ignore[arg-type]
        if chosen.index is None:
            result.problems.append(
                Problem("mapping-none", "the current mapping file has no index table", file=chosen.name)
            )
        else:
            _cross_check(chosen.index, [m.index for m in usable if m.index], "index", result)
        return result
    return _read_xp(files, mapping_files, usable, problems)


def _read_xp(
    files: dict[str, Path], mapping_files: list[MappingFile], usable: list[MappingFile], problems: list[Problem]
) -> Mappings:
    active = None
    if "MAPPING.VER" in files:
        try:
            raw = read_capped(files["MAPPING.VER"], "repository mapping")
            active = struct.unpack_from("<I", raw)[0] if len(raw) >= 4 else None
        except OSError:
            active = None
        if active is None:
            problems.append(Problem("mapping-version", "MAPPING.VER is unreadable or too short", file="MAPPING.VER"))
    objects = index = None
    current = ""
    if "OBJECTS.MAP" in files:
        objects, found = read_table_file(files["OBJECTS.MAP"], "OBJECTS.MAP")
        problems.extend(found)
        current = "OBJECTS.MAP"
    if "INDEX.MAP" in files:
        index, found = read_table_file(files["INDEX.MAP"], "INDEX.MAP")
        problems.extend(found)
    active_file = next((m for m in usable if m.name == f"MAPPING{active}.MAP"), None)
    if objects is None and active_file is not None:
        objects, current = active_file.objects, active_file.name
    if index is None and active_file is not None:
        index = active_file.index
    result = Mappings(XP, objects, index, current, mapping_files, problems)
    if objects is None:
        result.problems.append(Problem("mapping-none", "no readable objects mapping: pages cannot be located"))
    elif active_file is not None and active_file.objects is not objects:
        _cross_check(objects, [active_file.objects], "objects", result)  # type: ignore[list-item]
    if index is None:
        result.problems.append(Problem("mapping-none", "no readable index mapping (INDEX.MAP)"))
    return result
