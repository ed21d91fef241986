"""A targeted index search: the keys of the live index pages that hold given key fragments, without walking
the whole B-tree (reading a handful of classes of a 25 MB repository in a fraction of a full walk).

Every key part is stored whole in its page's string table (`CI_<class hash>`, `CR_<class hash>`,
`CD_<class hash>.<page>.<record>.<size>`), so a page holding a key with that part holds the fragment's
bytes. Only pages the index mapping maps (live pages) with the active signature are parsed.
"""

from __future__ import annotations

import mmap
import re
import struct

from wmidoctor.artifacts.repository.index import ACTIVE, PAGE_SIZE, PageError, parse_page
from wmidoctor.artifacts.repository.mapping import UNMAPPED, PageTable


def live_pages(table: PageTable) -> dict[int, int]:
    """physical page -> logical page, for every page the mapping maps."""
    return {physical: logical for logical, physical in enumerate(table.pages) if physical != UNMAPPED}


def keys_holding(
    data: bytes | mmap.mmap, table: PageTable, fragments: list[str], done: set[int] | None = None
) -> list[str]:
    """The keys of every live, active page whose bytes contain one of `fragments` (pages in `done` are
    skipped and the pages read are added to it)."""
    done = set() if done is None else done
    live = live_pages(table)
    if not fragments:
        return []
    pattern = re.compile(b"|".join(re.escape(f.encode("ascii")) for f in sorted(set(fragments))))
    wanted = {match.start() // PAGE_SIZE for match in pattern.finditer(data)}
    keys: list[str] = []
    for physical in sorted(wanted - done):
        done.add(physical)
        offset = physical * PAGE_SIZE
        if physical not in live or offset + PAGE_SIZE > len(data):
            continue
        if struct.unpack_from("<I", data, offset)[0] != ACTIVE:
            continue
        try:
            keys.extend(parse_page(data[offset : offset + PAGE_SIZE], live[physical], physical).keys)
        except PageError:
            continue
    return keys
