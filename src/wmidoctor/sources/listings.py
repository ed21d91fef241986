"""Fill the repository section from the collector's file listings (files/*.json, gathered without WMI).

`files/repository.json`: the repository folder with file sizes and whether Corrupted.rec exists.
`files/autorecover-mofs.json`: the Autorecover MOFs list as the registry holds it, each with `exists`, and
`copy` (a bundle path) for the files the collector copied.
`files/provider-binaries.json`: per provider CLSID, the file its COM server registration names and `exists`.
"""

from __future__ import annotations

from typing import Any

from wmidoctor.evidence import Evidence, Setting
from wmidoctor.evidence.model import AutorecoverMof, RepositoryFile
from wmidoctor.sources.registry import normalise_clsid
from wmidoctor.sources.wmi_queries import QueryFormatError, as_list, provider_host


def _object(data: Any, source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise QueryFormatError(f"{source}: expected a JSON object")
    return data


def fill_repository_listing(evidence: Evidence, data: Any, source: str) -> None:
    data = _object(data, source)
    section = evidence.repository
    files = [
        RepositoryFile(str(item.get("name", "")), int(item.get("size") or 0), str(item.get("modified") or ""))
        for item in as_list(data.get("files"))
        if isinstance(item, dict) and item.get("name")
    ]
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
        if isinstance(item.get("copy"), str):
            entry.copy = item["copy"]
    section.autorecover_source = section.autorecover_source or source
    section.problems.extend(f"{source}: {e}" for e in as_list(data.get("errors")))
    section.mark_collected(
        source, None if section.collected else "the Autorecover MOFs were listed, the repository was not read"
    )


def fill_provider_binaries(evidence: Evidence, data: Any, source: str) -> None:
    """Set `binary_exists` on the COM servers the registry step found; a CLSID the registry exports do not
    hold is left alone (this listing cannot tell whether the rest of its registration exists)."""
    data = _object(data, source)
    section = evidence.providers
    filled = 0
    for item in as_list(data.get("servers")):
        if not isinstance(item, dict) or not isinstance(item.get("exists"), bool):
            continue
        server = section.com_servers.get(normalise_clsid(str(item.get("clsid") or "")))
        if server is None or not server.registered:
            continue
        # a CLSID with both server kinds: the binary is missing when either file is
        server.binary_exists = item["exists"] and server.binary_exists is not False
        filled += 1
    section.problems.extend(f"{source}: {e}" for e in as_list(data.get("errors")))
    if filled and section.collected:
        section.mark_collected(source)


def fill_winmgmt_host(evidence: Evidence, data: Any, source: str) -> None:
    """The Winmgmt svchost's figures; the services section is filled by the registry and sc.exe output."""
    evidence.services.winmgmt_host = provider_host(_object(data, source), source, "svchost.exe")


FILLERS = {
    "WinmgmtHost": fill_winmgmt_host,
    "RepositoryListing": fill_repository_listing,
    "AutorecoverListing": fill_autorecover_listing,
    "ProviderBinaries": fill_provider_binaries,
}
