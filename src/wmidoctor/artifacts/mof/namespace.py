"""Namespace paths as `#pragma namespace` writes them, resolved the way the pragmas chain."""

from __future__ import annotations


def resolve_namespace(current: str | None, written: str) -> str:
    r"""The namespace a `#pragma namespace(written)` selects when `current` is in force.

    `\\server\root\x` is absolute (the server part is dropped); a path whose first element is
    `root` is taken as absolute too; anything else names a child of the current namespace.
    Forward slashes (the DMTF spelling) are read as backslashes.
    """
    path = written.strip().replace("/", "\\")
    if path.startswith("\\\\"):
        parts = path[2:].split("\\", 1)
        return parts[1].strip("\\") if len(parts) > 1 else ""
    path = path.strip("\\")
    if current is None or path.split("\\", 1)[0].lower() == "root":
        return path
    return f"{current}\\{path}" if path else current
