"""Files a mounted Windows volume holds for the registry's paths: Autorecover MOFs and COM server binaries.

The paths come from the SOFTWARE hive (read earlier into the Evidence); each is resolved against the
volume root case-insensitively. A path that cannot be resolved (another drive, a share, an 8.3 short
name) is left unknown (None) rather than called missing.
"""

from __future__ import annotations

from pathlib import Path

from wmidoctor.evidence.model import Providers, Repository
from wmidoctor.sources.layout import find
from wmidoctor.sources.winpaths import server_relative, volume_relative


def _is_file(root: Path, relative: str) -> bool:
    path = find(root, relative)
    return path is not None and path.is_file()


def autorecover_files(section: Repository, root: Path) -> int:
    """Set `exists` on every listed MOF the volume can answer for; the number answered."""
    answered = 0
    for mof in section.autorecover_mofs:
        relative = volume_relative(mof.path)
        if relative is not None:
            mof.exists = _is_file(root, relative)
            answered += 1
    return answered


def server_binaries(section: Providers, root: Path) -> int:
    """Set `binary_exists` on every registered COM server whose files the volume can answer for (missing
    when any of its InprocServer32 / LocalServer32 files is); the number answered."""
    answered = 0
    for server in section.com_servers.values():
        commands = [c for c in (server.inproc_server, server.local_server) if c]
        places = [server_relative(c) for c in commands]
        if not server.registered or not places or None in places:
            continue
        server.binary_exists = all(_is_file(root, relative) for relative in places if relative)
        answered += 1
    return answered
