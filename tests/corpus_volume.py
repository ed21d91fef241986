"""Evidence made of links into the shared corpus (nothing copied): a collector-shaped bundle and a Windows
volume as a mounted disk image shows it. Used by tests and benchmarks alike."""

from __future__ import annotations

from pathlib import Path

APTSIM_EVTX = "evtx/hosts/dfirmuseum-win10-aptsimulator"
APTSIM_REPOSITORY = "repository/win10-dfirmuseum-aptsimulator"
COLLECTED_LOGS = ("Application.evtx", "System.evtx", "Microsoft-Windows-WMI-Activity%4Operational.evtx")


def link_bundle(folder: Path, corpus: Path) -> Path:
    """A bundle as the collector writes it: three logs, the Ole registry export and the repository."""
    (folder / "logs").mkdir(parents=True)
    (folder / "registry").mkdir()
    for name in COLLECTED_LOGS:
        (folder / "logs" / name).symlink_to(corpus / APTSIM_EVTX / name)
    (folder / "registry" / "ole.reg").symlink_to(corpus / "registry" / "HKLM_SOFTWARE_Microsoft_Ole.reg")
    (folder / "repository").symlink_to(corpus / APTSIM_REPOSITORY, target_is_directory=True)
    return folder


def link_volume(
    root: Path,
    corpus: Path,
    *,
    system32: str = "Windows/System32",
    config: str = "config",
    logs: str = "winevt/Logs",
    wbem: str = "wbem",
    software_hive: str | None = None,
) -> Path:
    """A volume holding the SYSTEM hive (and `software_hive`, a corpus registry file, as SOFTWARE when given),
    every log of the aptsimulator host and its repository. The folder names are parameters so that a test can
    spell them in odd letter case."""
    base = root / system32
    for folder in (config, logs, wbem):
        (base / folder).mkdir(parents=True)
    (base / config / "SYSTEM").symlink_to(corpus / "registry" / "SYSTEM")
    if software_hive:
        (base / config / "SOFTWARE").symlink_to(corpus / "registry" / software_hive)
    for log in (corpus / APTSIM_EVTX).iterdir():
        (base / logs / log.name).symlink_to(log)
    (base / wbem / "Repository").symlink_to(corpus / APTSIM_REPOSITORY, target_is_directory=True)
    return root
