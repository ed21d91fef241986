"""Find the repository folder inside a path (the folder itself, a bundle, a mounted volume) and its files.

Windows file names are case-insensitive and real copies come in every case (INDEX.BTR, Index.btr),
so every lookup here compares upper-cased names.
"""

from __future__ import annotations

from pathlib import Path

# Where a repository sits below the path a user gives, tried in order (each segment case-insensitive).
CANDIDATE_SUBPATHS: tuple[tuple[str, ...], ...] = (
    (),
    ("FS",),
    ("Repository",),
    ("Repository", "FS"),
    ("wbem", "Repository"),
    ("wbem", "Repository", "FS"),
    ("System32", "wbem", "Repository"),
    ("System32", "wbem", "Repository", "FS"),
    ("Windows", "System32", "wbem", "Repository"),
    ("Windows", "System32", "wbem", "Repository", "FS"),
)

INDEX_FILE = "INDEX.BTR"
OBJECTS_FILE = "OBJECTS.DATA"


class NotARepository(Exception):
    """The path holds no WMI repository (no INDEX.BTR and OBJECTS.DATA anywhere we look)."""


def _child(folder: Path, name: str) -> Path | None:
    """The entry of `folder` whose name equals `name` ignoring case, or None."""
    wanted = name.upper()
    try:
        for entry in folder.iterdir():
            if entry.name.upper() == wanted:
                return entry
    except OSError:
        return None
    return None


def repository_files(folder: Path) -> dict[str, Path]:
    """The regular files of `folder` keyed by upper-case name."""
    try:
        return {entry.name.upper(): entry for entry in folder.iterdir() if entry.is_file()}
    except OSError:
        return {}


def find_repository(path: str | Path) -> Path:
    """The folder holding INDEX.BTR/OBJECTS.DATA at or below `path`; NotARepository when there is none."""
    start = Path(path)
    if not start.exists():
        raise NotARepository(f"{path}: no such file or directory")
    if start.is_file():
        start = start.parent
    for subpath in CANDIDATE_SUBPATHS:
        folder: Path | None = start
        for segment in subpath:
            folder = _child(folder, segment) if folder else None
        if folder is None or not folder.is_dir():
            continue
        files = repository_files(folder)
        if INDEX_FILE in files or OBJECTS_FILE in files:
            return folder
    raise NotARepository(
        f"{path}: not a WMI repository (no INDEX.BTR or OBJECTS.DATA found, "
        "nor Windows/System32/wbem/Repository below it)"
    )
