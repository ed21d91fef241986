"""Which files a `mof lint FILE|DIR...` command line names: files as given, folders searched for
*.mof and *.mfl (any case)."""

from __future__ import annotations

from pathlib import Path

from wmidoctor.artifacts.gate import check_regular
from wmidoctor.errors import InputError

MOF_SUFFIXES = (".mof", ".mfl")


def discover(arguments: list[str]) -> list[Path]:
    """The MOF files to lint, in a stable order; a missing path or an empty folder is an input error."""
    found: dict[Path, None] = {}
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.suffix.lower() in MOF_SUFFIXES and p.is_file())
            if not inside:
                raise InputError(f"{argument}: no .mof or .mfl files in this folder")
            found.update(dict.fromkeys(inside))
        elif path.is_file():
            found[path] = None
        elif path.exists():
            check_regular(path)  # names what it is: a FIFO, a device, a socket
        else:
            raise InputError(f"{argument}: no such file or folder")
    return list(found)
