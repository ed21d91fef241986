"""Pinned outputs: a test computes a document, compares it with the one stored beside it, and on request writes
it instead (`WMIDOCTOR_UPDATE_SNAPSHOTS=1`, then review the diff like code). Documents made from the corpus are
stored as digests only: the corpus is never copied into the repository."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

UPDATE = os.environ.get("WMIDOCTOR_UPDATE_SNAPSHOTS") == "1"


def canonical(data: object) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False)


def digest(data: object) -> str:
    return hashlib.sha256(canonical(data).encode()).hexdigest()[:16]


def compare(path: Path, actual: dict, shown: dict | None = None) -> None:
    """Assert `actual` (a dict of named parts) equals the stored snapshot, part by part; `shown` holds what to
    print for a part that changed when `actual` holds digests."""
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(canonical(actual) + "\n", encoding="utf-8")
        return
    assert path.is_file(), f"no snapshot {path.name}: run with WMIDOCTOR_UPDATE_SNAPSHOTS=1 and review it"
    expected = json.loads(path.read_text(encoding="utf-8"))
    for part in sorted(set(expected) | set(actual)):
        now = (shown or {}).get(part, actual.get(part))
        assert actual.get(part) == expected.get(part), f"{path.name}: {part} changed; it is now {canonical(now)}"
