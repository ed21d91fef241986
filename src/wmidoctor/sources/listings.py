"""Fill the repository section from the collector's file listings (files/*.json, gathered without WMI).

`files/repository.json`: the repository folder with file sizes and whether Corrupted.rec exists.
`files/autorecover-mofs.json`: the Autorecover MOFs list as the registry holds it, each with `exists`.
"""

from __future__ import annotations

from typing import Any

from wmidoctor.evidence import Evidence, Setting
from wmidoctor.evidence.model import AutorecoverMof, RepositoryFile
from wmidoctor.sources.wmi_queries import QueryFormatError, as_list


def _object(data: Any, source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise QueryFormatError(f"{source}: expected a JSON object")
    return data


def fill_repository_listing(evidence: Evidence, data: Any, source: str) -> None:
    data = _object(data, source)
    section = evidence.repository
    files = [RepositoryFile(str(item.get("name", "")), int(item.get("size") or 0), str(item.get("modified") or ""))
             for item in as_list(data.get("files")) if isinstance(item, dict) and item.get("name")]
    if files and not section.files:
        section.files = files
    if isinstance(data.get("corrupted_rec"), bool):
        section.corrupted_rec = data["corrupted_rec"]
    elif files:
        section.corrupted_rec = any(f.name.lower().endswith("corrupted.rec") for f in files)
    if data.get("directory") and section.directory is None:
        section.directory = Setting(str(data["directory"]), f"{source}#directory")
    section.problems.extend(f"{source}: {e}" for e in as_list(data.get("errors")))
    section.mark_collected(source, None if section.collected else "the repository files were listed, not read")


def fill_autorecover_listing(evidence: Evidence, data: Any, source: str) -> None:
    data = _object(data, source)
    section = evidence.repository
    known = {m.path.lower(): m for m in section.autorecover_mofs}
    for item in as_list(data.get("mofs")):
        if not isinstance(item, dict) or not item.get("path"):
            continue
        path = str(item["path"])
        exists = item.get("exists") if isinstance(item.get("exists"), bool) else None
        entry = known.get(path.lower())
        if entry is None:
            entry = known[path.lower()] = AutorecoverMof(path, source=f"{source}#{path}")
            section.autorecover_mofs.append(entry)
        entry.exists = exists
        entry.source = f"{source}#{path}"
    section.autorecover_source = section.autorecover_source or source
    section.problems.extend(f"{source}: {e}" for e in as_list(data.get("errors")))
    section.mark_collected(source, None if section.collected else "the Autorecover MOFs were listed, the repository "
                                                                  "was not read")


FILLERS = {
    "RepositoryListing": fill_repository_listing,
    "AutorecoverListing": fill_autorecover_listing,
}
