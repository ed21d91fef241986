"""Turn the SOURCES of `fleet diagnose` into host tasks: each argument is one host's evidence, or a manifest
file listing them, one per line (`path[,site[,label]]`, tab or comma separated; # comments; relative paths are
relative to the manifest)."""

from __future__ import annotations

import csv
from pathlib import Path

from wmidoctor.errors import InputError
from wmidoctor.fleet.model import HostTask

MANIFEST_SUFFIXES = (".txt", ".csv", ".tsv", ".lst")


def _is_manifest(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES


def read_manifest(path: Path) -> list[HostTask]:
    from wmidoctor.artifacts.gate import read_capped

    try:
        text = read_capped(path, "text").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: a manifest must be UTF-8 text ({exc.reason} at byte {exc.start})") from None
    tasks = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        delimiter = "\t" if "\t" in stripped else ","
        cells = [c.strip() for c in next(csv.reader([stripped], delimiter=delimiter))]
        if number == 1 and cells[0].lower() in ("path", "source"):
            continue  # a header row
        source = Path(cells[0])
        if not source.is_absolute():
            source = path.parent / source
        tasks.append(HostTask(str(source), cells[1] if len(cells) > 1 else "", cells[2] if len(cells) > 2 else ""))
    return tasks


def host_tasks(arguments: list[str], site: str = "") -> list[HostTask]:
    """Every entry named by the arguments, in order, each source once; a missing path is an input error."""
    tasks: list[HostTask] = []
    for argument in arguments:
        path = Path(argument)
        if not path.exists():
            raise InputError(f"no such file or folder: {argument}")
        tasks += read_manifest(path) if _is_manifest(path) else [HostTask(str(path), site)]
    seen: set[str] = set()
    unique = []
    for task in tasks:
        if task.source not in seen:
            seen.add(task.source)
            unique.append(task)
    if not unique:
        raise InputError("no fleet entries: name bundle folders, zips, volumes, evidence files or a manifest")
    return unique
