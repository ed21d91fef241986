"""The Autorecover MOFs a bundle holds, read through the MOF parser: does each compile, does it say
#pragma autorecover.

A collector bundle holds copies of the listed MOFs that lie outside System32\\wbem (`copy` in the
listing); a mounted volume holds every listed file. Third-party MOFs are parsed first (they are what
usually breaks a rebuild), within a byte budget that keeps a diagnosis fast; what is left over says why
it was not parsed.
"""

from __future__ import annotations

import re
from pathlib import Path

from wmidoctor.evidence.model import AutorecoverMof, Repository
from wmidoctor.sources.layout import find
from wmidoctor.sources.winpaths import volume_relative

MAX_FILE_BYTES = 2 << 20
PARSE_BUDGET_BYTES = 4 << 20  # ~3 s of parsing at the parser's measured 1.5 MB/s
MAX_ERRORS_KEPT = 3
WINDOWS_WBEM = re.compile(r"^(?:%windir%|%systemroot%|[a-z]:\\windows)\\system32\\wbem\\", re.I)


def _locate(mof: AutorecoverMof, root: Path, volume: bool) -> Path | None:
    """The copy in the bundle, or the file itself on a volume (found case-insensitively; a copy's name
    can only lead inside the bundle: `find` matches each part against a folder listing)."""
    relative = mof.copy or (volume_relative(mof.path) if volume else None)
    path = find(root, relative) if relative else None
    return path if path is not None and path.is_file() else None


def parse_autorecover(
    section: Repository, root: Path, volume: bool, quick: bool = False, budget: int = PARSE_BUDGET_BYTES
) -> int:
    """Parse the listed MOFs found under `root`; the number parsed. `quick` parses none (and says so)."""
    from wmidoctor.artifacts.mof import parse_file

    found = [(mof, path) for mof in section.autorecover_mofs if (path := _locate(mof, root, volume)) is not None]
    found.sort(key=lambda pair: bool(WINDOWS_WBEM.match(pair[0].path.strip('"'))))
    parsed = 0
    for mof, path in found:
        size = path.stat().st_size
        if quick:
            mof.problems = ["not parsed with --quick"]
            continue
        if size > MAX_FILE_BYTES or size > budget:
            limit = "the per-file limit" if size > MAX_FILE_BYTES else "what is left of the parse budget"
            mof.problems = [f"not parsed: {size:,} bytes is over {limit}"]
            continue
        budget -= size
        try:
            document = parse_file(path)
        except OSError as exc:
            mof.problems = [f"not parsed: cannot read the file ({exc.strerror or exc})"]
            continue
        errors = [d for d in document.diagnostics if d.severity == "error"]
        mof.parsed = not errors
        mof.autorecover_pragma = document.autorecover
        mof.problems = [f"{d.position} {d.message}" for d in errors[:MAX_ERRORS_KEPT]]
        parsed += 1
    return parsed
