"""Where a bundle's artifacts are: a collector folder, an extracted zip, or a Windows volume.

All lookups are case-insensitive (Windows names, any file system), and each folder is listed once.
A bundle folder is recognised by its manifest or any known artifact; a volume by
Windows/System32/config. A zip that holds one top folder (as zipping a folder makes) is looked into.
Event-log exports beyond the collector's own logs (SIEM JSON lines, XML or .evtx copies a responder adds)
are picked up from a bundle's logs/, events/ and exports/ folders; a folder (or zip) holding nothing but
such exports is an `events` layout, read for its events section alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from wmidoctor.sources.artifacts import ARTIFACTS, SYSTEM32, VOLUME_ARTIFACTS, Artifact

FOLDER = "folder"
ZIP = "zip"
VOLUME = "volume"
EVENTS = "events"  # a folder of event-log exports only
EXPORT_FOLDERS = ("logs", "events", "exports")


@cache
def _listing(folder: Path) -> dict[str, str]:
    """lower-case name -> actual name of the entries of `folder` (empty when unreadable)."""
    try:
        return {name.lower(): name for name in os.listdir(folder)}
    except OSError:
        return {}


def find(root: Path, relative: str) -> Path | None:
    """`root/relative` matched case-insensitively part by part; None when some part is absent.
    (Links in a folder the user names are followed; zips never produce any, see safezip.)"""
    current = root
    for part in relative.split("/"):
        actual = _listing(current).get(part.lower())
        if actual is None:
            return None
        current = current / actual
    return current


def forget_listings() -> None:
    """Drop cached folder listings (the loader calls this once per load, so a re-load sees changes)."""
    _listing.cache_clear()


@dataclass
class Layout:
    root: Path  # the folder the artifact names are relative to
    kind: str  # folder | zip | volume
    expected: tuple[Artifact, ...]
    found: dict[str, Path] = field(default_factory=dict)  # artifact key -> path
    event_files: list[Path] = field(default_factory=list)  # event-log exports besides the artifacts

    def path(self, key: str) -> Path | None:
        return self.found.get(key)


def _locate(root: Path, artifacts: tuple[Artifact, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for artifact in artifacts:
        for name in artifact.names:
            path = find(root, name)
            if path is not None and path.is_dir() == artifact.folder:
                found[artifact.key] = path
                break
    return found


def _volume_root(folder: Path) -> Path | None:
    if find(folder, f"{SYSTEM32}/config") is not None:
        return folder
    if folder.name.lower() == "windows" and find(folder, "System32/config") is not None:
        return folder.parent
    return None


def _event_files(folder: Path, skip: set[Path]) -> list[Path]:
    """Files under `folder` named like event logs or exports (their content decides when read)."""
    from wmidoctor.logs.inputs import find_logs

    return [log.path for log in find_logs([str(folder)]) if log.path not in skip]


def _exports(root: Path, found: dict[str, Path]) -> list[Path]:
    skip = set(found.values())
    files: list[Path] = []
    for name in EXPORT_FOLDERS:
        folder = find(root, name)
        if folder is not None and folder.is_dir():
            files += _event_files(folder, skip)
    return files


def detect(folder: Path, kind: str = FOLDER) -> Layout | None:
    """The layout of `folder`, or None when it holds neither bundle artifacts, a Windows volume nor
    event-log exports."""
    volume = _volume_root(folder)
    if volume is not None:
        return Layout(volume, VOLUME, VOLUME_ARTIFACTS, _locate(volume, VOLUME_ARTIFACTS))
    found = _locate(folder, ARTIFACTS)
    if found:
        return Layout(folder, kind, ARTIFACTS, found, _exports(folder, found))
    entries = [folder / name for name in _listing(folder).values()]
    folders = [e for e in entries if e.is_dir()]
    if len(folders) == 1 and len(entries) == 1:
        return detect(folders[0], kind)
    exports = _event_files(folder, set())
    return Layout(folder, EVENTS, (), {}, exports) if exports else None
