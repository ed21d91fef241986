"""INDEX.BTR: a B-tree of 8 KiB pages whose keys are the hashed paths of every stored object.

A page starts with a signature (0xACCC active, 0xADDD administrative, 0xBADD deleted), its logical
number, a reserved word, a root-page word and the key count; then one reserved word per key, the child
page numbers (one more than keys; 0xFFFFFFFF for none), the offset of each key in a table of 16-bit
string indexes, that table, and finally a string table (count, offsets, total size, NUL-terminated
ASCII strings). A key is the sequence of strings its index entry names, joined here with "/", e.g.
`NS_<hash>/CI_<hash>/IL_<hash>.<page>.<record>.<size>`.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field

from wmidoctor.artifacts.repository.mapping import UNMAPPED, XP, PageTable
from wmidoctor.artifacts.repository.model import Problem

PAGE_SIZE = 0x2000
ACTIVE, ADMIN, DELETED = 0xACCC, 0xADDD, 0xBADD
INDEX_FILE = "INDEX.BTR"


class PageError(Exception):
    """A page whose structure does not hold together."""


@dataclass
class IndexPage:
    logical: int
    physical: int
    signature: int
    header_root: int
    keys: list[str]
    children: list[int]


def parse_page(data: bytes | memoryview | mmap.mmap, logical: int, physical: int) -> IndexPage:
    """Decode one index page; raises PageError when offsets or counts point outside the page."""
    if len(data) < PAGE_SIZE:
        raise PageError("page cut short (file truncated)")
    signature, _logical_id, _zero, header_root, count = struct.unpack_from("<5I", data, 0)
    if signature != ACTIVE:
        return IndexPage(logical, physical, signature, header_root, [], [])
    if count > PAGE_SIZE // 8:
        raise PageError(f"key count {count} cannot fit in a page")
    try:
        offset = 20 + 4 * count
        children = list(struct.unpack_from(f"<{count + 1}I", data, offset))
        offset += 4 * (count + 1)
        key_offsets = struct.unpack_from(f"<{count}H", data, offset)
        offset += 2 * count
        (table_size,) = struct.unpack_from("<H", data, offset)
        offset += 2
        table = struct.unpack_from(f"<{table_size}H", data, offset)
        offset += 2 * table_size
        (string_count,) = struct.unpack_from("<H", data, offset)
        offset += 2
        string_offsets = struct.unpack_from(f"<{string_count}H", data, offset)
        offset += 2 * string_count
        (strings_size,) = struct.unpack_from("<H", data, offset)
        offset += 2
        if offset + strings_size > PAGE_SIZE:
            raise PageError("string table runs past the page end")
        region = bytes(data[offset : offset + strings_size])
        strings = []
        for start in string_offsets:
            end = region.find(b"\0", start)
            if start >= strings_size or end < 0:
                raise PageError("string offset outside the string table")
            strings.append(region[start:end].decode("ascii"))
        keys = []
        for key_offset in key_offsets:
            parts = table[key_offset]
            indexes = table[key_offset + 1 : key_offset + 1 + parts]
            if len(indexes) != parts:
                raise PageError("key entry runs past the key table")
            keys.append("/".join(strings[i] for i in indexes))
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise PageError(f"malformed page: {exc}") from None
    return IndexPage(logical, physical, signature, header_root, keys, children)


@dataclass
class IndexWalk:
    keys: list[str] = field(default_factory=list)
    pages: dict[int, IndexPage] = field(default_factory=dict)  # logical -> page, every page reached
    root: int | None = None
    problems: list[Problem] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)  # active pages no parent points to


def _read_page(
    data: bytes | memoryview | mmap.mmap, table: PageTable, logical: int, problems: list[Problem]
) -> IndexPage | None:
    physical = table.physical(logical)
    if physical is None:
        problems.append(
            Problem(
                "index-page-unmapped",
                "index page referenced but not in the index mapping",
                file=INDEX_FILE,
                page=logical,
            )
        )
        return None
    start = physical * PAGE_SIZE
    if start + PAGE_SIZE > len(data):
        problems.append(
            Problem(
                "index-page-outside",
                f"index page maps to physical page {physical}, beyond the end of INDEX.BTR (truncated?)",
                file=INDEX_FILE,
                page=logical,
            )
        )
        return None
    try:
        return parse_page(data[start : start + PAGE_SIZE], logical, physical)
    except PageError as exc:
        problems.append(Problem("index-page-malformed", str(exc), file=INDEX_FILE, page=logical))
        return None


def _find_root(data: bytes | memoryview | mmap.mmap, table: PageTable, layout: str, walk: IndexWalk) -> int | None:
    if layout == XP:
        admin = _read_page(data, table, 0, walk.problems)
        if admin is not None and admin.signature == ADMIN:
            return admin.header_root
        walk.problems.append(
            Problem(
                "index-root",
                "index page 0 is not the administrative page (0xADDD) that names the root",
                file=INDEX_FILE,
                page=0,
            )
        )
        return None
    return table.root_hint


def walk_index(data: bytes | memoryview | mmap.mmap, table: PageTable, layout: str) -> IndexWalk:
    """Walk the B-tree from its root, checking every page; collect every key reached."""
    walk = IndexWalk()
    root = _find_root(data, table, layout, walk)
    walk.root = root
    if root is None:
        return walk
    # XP leaves say "no child" with 0 (page 0 is the administrative page there), Vista+ with 0xFFFFFFFF.
    no_child = {UNMAPPED, 0} if layout == XP else {UNMAPPED}
    seen: set[int] = set()
    stack = [root]
    while stack:
        logical = stack.pop()
        if logical in seen:
            walk.problems.append(
                Problem(
                    "index-cycle", "index page reached twice (cycle or shared child)", file=INDEX_FILE, page=logical
                )
            )
            continue
        seen.add(logical)
        page = _read_page(data, table, logical, walk.problems)
        if page is None:
            continue
        walk.pages[logical] = page
        if page.signature != ACTIVE:
            walk.problems.append(
                Problem(
                    "index-page-signature",
                    f"page in the tree has signature 0x{page.signature:X}, not an active page (0xACCC)",
                    file=INDEX_FILE,
                    page=logical,
                )
            )
            continue
        if any(a >= b for a, b in zip(page.keys, page.keys[1:], strict=False)):
            walk.problems.append(
                Problem("index-key-order", "keys on the page are not in ascending order", file=INDEX_FILE, page=logical)
            )
        walk.keys.extend(page.keys)
        children = [c for c in page.children if c not in no_child]
        if children and len(children) != len(page.children):
            walk.problems.append(
                Problem("index-children", "page mixes child pointers and empty slots", file=INDEX_FILE, page=logical)
            )
        stack.extend(reversed(children))
    _check_unreachable(data, table, seen | {0} if layout == XP else seen, walk)
    return walk


def _check_unreachable(data: bytes | memoryview | mmap.mmap, table: PageTable, seen: set[int], walk: IndexWalk) -> None:
    """Active pages that the mapping holds but no walk reached are lost subtrees (orphans)."""
    for logical, physical in enumerate(table.pages):
        if logical in seen or physical == UNMAPPED:
            continue
        start = physical * PAGE_SIZE
        if start + 4 > len(data):
            continue
        (signature,) = struct.unpack_from("<I", data, start)
        if signature == ACTIVE:
            walk.unreachable.append(logical)
