"""Where a bundle's artifacts are: a collector folder, an extracted zip, a Windows volume, a triage
collection (KAPE, Velociraptor), a flat folder of artifacts, or one artifact file.

All lookups are case-insensitive (Windows names, any file system) and also match URL-encoded names
(Velociraptor writes `C%3A` for `C:` and `%254` for the `%4` in event-log names); each folder is listed once.

Recognised, in this order:
- a Windows volume: a folder holding Windows/System32 with any WMI artifact under it, found a few levels
  down so that triage collections load as they are: KAPE (`C/Windows/...`, `C%3A/Windows/...`) and
  Velociraptor (`uploads/auto/C%3A/Windows/...`, `uploads/ntfs/%5C%5C.%5CC%3A/Windows/...`);
- a collector bundle: its manifest or any artifact of the shared list (sources.artifacts);
- a flat folder: SYSTEM / SOFTWARE hives, the WMI event logs, repository files (OBJECTS.DATA, INDEX.BTR),
  .reg exports or Autorecover MOF files lying in it or in a Logs / Repository / config / wbem subfolder;
- a folder holding only one folder is looked into.
A single file (a hive, a .reg export, an event log, a repository file) is loaded as a flat layout of one.
Event-log exports beyond the collector's own logs (SIEM JSON lines, XML or .evtx copies a responder adds) are
picked up from a bundle's logs/, events/ and exports/ folders; a folder (or zip) holding nothing but such
exports is an `events` layout, read for its events section alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import unquote

from wmidoctor.artifacts.evtx.binary import EVTX_MAGIC
from wmidoctor.artifacts.evtx.xmlexport import looks_like_xml
from wmidoctor.artifacts.gate import open_regular
from wmidoctor.artifacts.registry.hive import is_hive
from wmidoctor.artifacts.registry.regfile import looks_like_reg
from wmidoctor.sources.artifacts import (
    ARTIFACTS,
    BY_KEY,
    EVENT_LOG,
    HIVE,
    REG_EXPORT,
    REPOSITORY_COPY,
    SYSTEM32,
    VOLUME_ARTIFACTS,
    VOLUME_FILES,
    Artifact,
)

FOLDER = "folder"
ZIP = "zip"
VOLUME = "volume"
EVENTS = "events"  # a folder of event-log exports only
EXPORT_FOLDERS = ("logs", "events", "exports")

# What `bundle inspect` and the evidence call the recognised layout.
COLLECTOR = "wmidoctor bundle"
WINDOWS = "Windows volume"
KAPE = "KAPE collection"
VELOCIRAPTOR = "Velociraptor collection"
FLAT = "flat folder"
SINGLE = "single file"
EVENT_EXPORTS = "event-log exports"

MAX_DEPTH = 4  # folder/uploads/auto/C%3A holds Windows at depth 4
REPOSITORY_FILES = ("objects.data", "index.btr")
EXPORT_FEEDS = ("identity", "dcom", "services", "firewall", "repository", "rpc_policy", "remote_uac", "providers")
HIVE_FEEDS = tuple(dict.fromkeys(VOLUME_ARTIFACTS[0].feeds + VOLUME_ARTIFACTS[1].feeds + ("identity",)))


@cache
def _listing(folder: Path) -> dict[str, str]:
    """lower-case name (and its URL-decoded form) -> actual name of the entries of `folder`."""
    try:
        names = os.listdir(folder)
    except OSError:
        return {}
    found: dict[str, str] = {}
    for name in names:
        found.setdefault(name.lower(), name)
        found.setdefault(unquote(name).lower(), name)
    return found


def find(root: Path, relative: str) -> Path | None:
    """`root/relative` matched case-insensitively part by part; None when some part is absent.
    (Links in a folder the user names are followed; zips never produce any, see artifacts.archive.)"""
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
    style: str = COLLECTOR  # which layout was recognised (COLLECTOR, WINDOWS, KAPE, ...)
    prefix: str = ""  # where the volume lies inside the folder given (KAPE, Velociraptor)
    event_files: list[Path] = field(default_factory=list)  # event-log exports besides the artifacts

    def path(self, key: str) -> Path | None:
        return self.found.get(key)

    @property
    def description(self) -> str:
        return f"{self.style} ({self.prefix})" if self.prefix else self.style


def _locate(root: Path, artifacts: tuple[Artifact, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for artifact in artifacts:
        for name in artifact.names:
            path = root if name == "." else find(root, name)
            if path is not None and path.is_dir() == artifact.folder and _acceptable(artifact, path):
                found[artifact.key] = path
                break
    return found


def _acceptable(artifact: Artifact, path: Path) -> bool:
    """A repository folder must hold repository files; a flat hive must be one (not any file named SYSTEM)."""
    if artifact.kind == REPOSITORY_COPY:
        return any(name in _listing(path) for name in REPOSITORY_FILES)
    if artifact.kind == HIVE:
        return is_hive(path)
    if artifact.key == "MofFiles":
        return any(name.endswith(".mof") for name in _listing(path))
    return True


# What feeds each evidence section, in words, for a layout that has nothing for it.
SECTION_SOURCES = {
    "identity": "the SYSTEM or SOFTWARE hive, an event log or the collector's wmi/identity.json",
    "services": "the SYSTEM hive, registry/services.reg or the collector's sc outputs",
    "repository": "the repository folder, the SOFTWARE hive or the collector's listings",
    "providers": "the repository folder or the collector's WMI queries (COM registrations: the SOFTWARE hive)",
    "dcom": "the SOFTWARE hive or registry/ole.reg and registry/wmi-appid.reg",
    "namespaces": "the repository folder or the collector's WMI queries",
    "firewall": "the SYSTEM hive, registry/firewall-policy.reg or the collector's netsh outputs",
    "remote_uac": "the SOFTWARE hive or registry/uac-policy.reg",
    "rpc_policy": "the SOFTWARE hive or registry/rpc.reg and registry/rpc-policy.reg",
    "quotas": "the repository folder or the collector's WMI queries",
    "provider_hosts": "the collector's WMI queries on the live host",
    "subscriptions": "the repository folder or the collector's WMI queries",
    "events": "the System, Application or WMI-Activity event log",
    "connectivity": "a `wmidoctor probe` of the host",
}


# --- collector bundles: extra .reg exports --------------------------------------------------------


def _extra_exports(root: Path, known: dict[str, Path]) -> tuple[Artifact, ...]:
    """Every .reg in the bundle's registry/ folder that the artifact list does not name (for example the
    HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion export that gives the host's edition)."""
    folder = find(root, "registry")
    if folder is None or not folder.is_dir():
        return ()
    claimed = {p.name.lower() for p in known.values()}
    extra = []
    for name in sorted(set(_listing(folder).values())):
        if name.lower().endswith(".reg") and name.lower() not in claimed:
            extra.append(
                Artifact(
                    f"RegExport:{name}",
                    (f"registry/{name}",),
                    REG_EXPORT,
                    ("identity",),
                    "a registry export the collector's list does not name",
                )
            )
    return tuple(extra)


# --- Windows volumes, KAPE and Velociraptor collections -------------------------------------------


def _is_drive_root(folder: Path) -> bool:
    system32 = find(folder, SYSTEM32)
    return system32 is not None and system32.is_dir()


def _drive_roots(folder: Path) -> list[Path]:
    """Folders at most MAX_DEPTH - 1 levels down that hold Windows/System32, nearest first."""
    if folder.name.lower() == "system32" and folder.parent.name.lower() == "windows":
        return [folder.parent.parent]
    if folder.name.lower() == "windows" and find(folder, "System32") is not None:
        return [folder.parent]
    roots, level = [], [folder]
    for _ in range(MAX_DEPTH):
        roots += [f for f in level if _is_drive_root(f)]
        if roots:
            return roots
        level = [
            f / name
            for f in level
            for name in set(_listing(f).values())
            if name.lower() != "windows" and (f / name).is_dir()
        ]
    return roots


def _style_of(folder: Path, root: Path) -> tuple[str, str]:
    try:
        parts = root.relative_to(folder).parts
    except ValueError:
        return WINDOWS, ""
    if not parts:
        return WINDOWS, ""
    prefix = "/".join(parts)
    return (VELOCIRAPTOR if "uploads" in (p.lower() for p in parts) else KAPE), prefix


def _volume(folder: Path, kind: str) -> Layout | None:
    for root in _drive_roots(folder):
        found = _locate(root, VOLUME_ARTIFACTS)
        # Windows/System32 itself is always there: a volume needs some WMI artifact besides it.
        if set(found) - {"ProviderServerFiles", "AutorecoverFiles"}:
            style, prefix = _style_of(folder, root)
            return Layout(root, VOLUME if kind == FOLDER else kind, VOLUME_ARTIFACTS, found, style, prefix)
    return None


# --- flat folders and single files -----------------------------------------------------------------


def _flat_names(stem: str, *folders: str) -> tuple[str, ...]:
    return (stem, *(f"{folder}/{stem}" for folder in folders))


def _flat_log(key: str) -> Artifact:
    volume = next(a for a in VOLUME_ARTIFACTS if a.key == key)
    file = volume.name.rsplit("/", 1)[-1]
    return Artifact(
        key, _flat_names(file, "Logs", "winevt/Logs"), EVENT_LOG, volume.feeds, volume.what, personal=volume.personal
    )


FLAT_ARTIFACTS: tuple[Artifact, ...] = (
    Artifact(
        "SystemHive",
        _flat_names("SYSTEM", "config", "registry"),
        HIVE,
        VOLUME_ARTIFACTS[0].feeds,
        VOLUME_ARTIFACTS[0].what,
        personal=VOLUME_ARTIFACTS[0].personal,
    ),
    Artifact(
        "SoftwareHive",
        _flat_names("SOFTWARE", "config", "registry"),
        HIVE,
        VOLUME_ARTIFACTS[1].feeds,
        VOLUME_ARTIFACTS[1].what,
        personal=VOLUME_ARTIFACTS[1].personal,
    ),
    _flat_log("WmiActivityLog"),
    _flat_log("ApplicationLog"),
    _flat_log("SystemLog"),
    Artifact(
        "RepositoryFolder",
        ("Repository", ".", "wbem/Repository"),
        REPOSITORY_COPY,
        BY_KEY["RepositoryCopy"].feeds,
        "the WMI repository folder (OBJECTS.DATA, INDEX.BTR, mappings)",
        folder=True,
    ),
    Artifact(
        "MofFiles",
        ("wbem", ".", "mofs"),
        VOLUME_FILES,
        ("repository",),
        "MOF files, matched by name to the Autorecover MOFs list (SOFTWARE hive or wbem.reg) and parsed",
        folder=True,
    ),
)


def _reg_exports(folder: Path) -> tuple[Artifact, ...]:
    found = []
    for sub in ("", "registry"):
        base = folder if not sub else find(folder, sub)
        if base is None or not base.is_dir():
            continue
        for name in sorted(set(_listing(base).values())):
            if name.lower().endswith(".reg") and (base / name).is_file():
                relative = f"{sub}/{name}" if sub else name
                found.append(
                    Artifact(f"RegExport:{relative}", (relative,), REG_EXPORT, EXPORT_FEEDS, "a registry export")
                )
    return tuple(found)


def _flat(folder: Path, kind: str) -> Layout | None:
    exports = _reg_exports(folder)
    expected = FLAT_ARTIFACTS + exports
    found = _locate(folder, expected)
    if not found:
        return None
    return Layout(folder, kind, expected, found, FLAT)


def _head(path: Path) -> bytes:
    try:
        with open_regular(path) as handle:  # a FIFO among the files would block a plain open
            return handle.read(4096)
    except OSError:
        return b""


def single_file(path: Path) -> Layout | None:
    """One artifact file as a layout of one, told by its content: a hive, a .reg export, an event log (.evtx, or
    an XML export), or a repository file (whose folder is then read as the repository)."""
    name = path.name
    if name.lower() in REPOSITORY_FILES or (name.lower().startswith("mapping") and name.lower().endswith(".map")):
        layout = _flat(path.parent, FOLDER)
        if layout is not None and "RepositoryFolder" in layout.found:
            repository = next(a for a in FLAT_ARTIFACTS if a.key == "RepositoryFolder")
            return Layout(path.parent, FOLDER, (repository,), {repository.key: path.parent}, SINGLE)
        return None
    artifact: Artifact | None = None
    head = _head(path)
    if is_hive(path):
        artifact = Artifact("Hive", (name,), HIVE, HIVE_FEEDS, "a registry hive", personal=("host name",))
    elif looks_like_reg(head):
        artifact = Artifact("RegExport", (name,), REG_EXPORT, EXPORT_FEEDS, "a registry export")
    elif head.startswith(EVTX_MAGIC) or (name.lower().endswith(".xml") and looks_like_xml(head)):
        artifact = Artifact(
            "EventLog", (name,), EVENT_LOG, ("events",), "an event log", personal=BY_KEY["SystemLog"].personal
        )
    if artifact is None:
        return None
    return Layout(path.parent, FOLDER, (artifact,), {artifact.key: path}, SINGLE)


# --- the entry point -------------------------------------------------------------------------------


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
    """The layout of `folder`, or None when it holds neither bundle artifacts, any WMI artifact nor event-log
    exports."""
    volume = _volume(folder, kind)
    if volume is not None:
        return volume
    found = _locate(folder, ARTIFACTS)
    flat = _flat(folder, kind)
    # A lone Repository folder beside loose logs is a flat folder, not a collector bundle missing its logs.
    if found and ("Manifest" in found or flat is None or len(found) >= len(flat.found)):
        extra = _extra_exports(folder, found)
        found.update({a.key: folder / a.name for a in extra})
        return Layout(folder, kind, ARTIFACTS + extra, found, COLLECTOR, event_files=_exports(folder, found))
    if flat is not None:
        return flat
    entries = [folder / name for name in set(_listing(folder).values())]
    folders = [e for e in entries if e.is_dir()]
    if len(folders) == 1 and len(entries) == 1:
        return detect(folders[0], kind)
    exports = _event_files(folder, set())
    return Layout(folder, EVENTS, (), {}, EVENT_EXPORTS, event_files=exports) if exports else None
