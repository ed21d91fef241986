"""OBJECTS.DATA: 8 KiB pages, each starting with a table of contents of the records it holds.

A TOC entry is 16 bytes: record id, offset from the page start, size, checksum; an all-zero id and
offset end the table. A record larger than what is left of its page continues at the start of the
following logical pages (each resolved through the mapping), which then carry no TOC.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from dataclasses import dataclass

from wmidoctor.artifacts.repository.mapping import PageTable
from wmidoctor.artifacts.repository.model import ObjectRef

PAGE_SIZE = 0x2000
TOC_ENTRY = struct.Struct("<4I")
OBJECTS_FILE = "OBJECTS.DATA"


class RecordError(Exception):
    """A reference that cannot be resolved to record bytes; `kind` is the problem tag."""

    def __init__(self, kind: str, detail: str, page: int | None = None, record: int | None = None):
        super().__init__(detail)
        self.kind, self.detail, self.page, self.record = kind, detail, page, record


@dataclass(frozen=True)
class TocEntry:
    record: int
    offset: int
    size: int
    checksum: int


class ObjectStore:
    """Resolves ObjectRefs to record bytes; caches each page's TOC."""

    def __init__(self, data: bytes | memoryview | mmap.mmap, table: PageTable | None):
        self.data = data
        self.table = table
        self._tocs: dict[int, dict[int, TocEntry] | RecordError] = {}

    def physical_page(self, logical: int) -> memoryview:
        if self.table is None:
            raise RecordError("mapping-none", "no objects mapping", page=logical)
        physical = self.table.physical(logical)
        if physical is None:
            raise RecordError("object-page-unmapped", "object page not in the objects mapping", page=logical)
        start = physical * PAGE_SIZE
        if start + PAGE_SIZE > len(self.data):
            raise RecordError(
                "object-page-outside",
                f"object page maps to physical page {physical}, beyond the end of OBJECTS.DATA (truncated?)",
                page=logical,
            )
        return memoryview(self.data)[start : start + PAGE_SIZE]

    def toc(self, logical: int) -> dict[int, TocEntry]:
        cached = self._tocs.get(logical)
        if cached is None:
            try:
                cached = self._read_toc(logical)
            except RecordError as exc:
                cached = exc
            self._tocs[logical] = cached
        if isinstance(cached, RecordError):
            raise cached
        return cached

    def _read_toc(self, logical: int) -> dict[int, TocEntry]:
        page = self.physical_page(logical)
        entries: dict[int, TocEntry] = {}
        for position in range(0, PAGE_SIZE - TOC_ENTRY.size + 1, TOC_ENTRY.size):
            record, offset, size, checksum = TOC_ENTRY.unpack_from(page, position)
            if record == 0 and offset == 0:
                return entries
            entries[record] = TocEntry(record, offset, size, checksum)
        raise RecordError("object-toc", "table of contents has no terminator", page=logical)

    def read(self, ref: ObjectRef) -> bytes:
        """The record's bytes; RecordError when any part cannot be found or does not fit."""
        entry = self.toc(ref.page).get(ref.record)
        if entry is None:
            raise RecordError(
                "record-missing", "record id not in the page's table of contents", page=ref.page, record=ref.record
            )
        if entry.size != ref.size:
            raise RecordError(
                "record-size",
                f"index says {ref.size} bytes, page table of contents says {entry.size}",
                page=ref.page,
                record=ref.record,
            )
        if entry.offset >= PAGE_SIZE or entry.offset < TOC_ENTRY.size:
            raise RecordError(
                "record-bounds", f"record offset {entry.offset} outside the page", page=ref.page, record=ref.record
            )
        page = self.physical_page(ref.page)
        first = page[entry.offset : min(PAGE_SIZE, entry.offset + entry.size)]
        if len(first) == entry.size:
            return bytes(first)
        parts = [first]
        remaining = entry.size - len(first)
        logical = ref.page
        while remaining > 0:
            logical += 1
            try:
                continuation = self.physical_page(logical)
            except RecordError as exc:
                raise RecordError(
                    "record-continuation",
                    f"record spans pages but continuation page {logical} is unusable: {exc.detail}",
                    page=ref.page,
                    record=ref.record,
                ) from None
            parts.append(continuation[:remaining])
            remaining -= min(remaining, PAGE_SIZE)
        return b"".join(parts)

    def checksum_ok(self, ref: ObjectRef, record: bytes) -> bool | None:
        """CRC-32 of the record against the TOC; None when the TOC leaves the checksum empty (0)."""
        entry = self.toc(ref.page).get(ref.record)
        if entry is None or entry.checksum == 0:
            return None
        return zlib.crc32(record) == entry.checksum
