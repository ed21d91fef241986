"""The one way readers open evidence files: regular files only, read within a cap.

Evidence arrives as folders and archives someone else made. A FIFO where a file should be makes a plain
open() wait forever; a link to /dev/zero reports size 0 and then never ends; either turns a diagnosis into
a hang or an exhausted machine. Every reader therefore opens through here: the file is opened without
blocking, checked to be a regular file on the open descriptor (no race with a swapped path), and whole-file
reads stop at a cap for the kind of artifact, counted in bytes read, never taken from the reported size.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from wmidoctor.errors import InputError

MIB = 1024 * 1024

# The largest whole-file read each kind of artifact gets (streamed readers such as .evtx only need the check).
CAPS = {
    "json": 256 * MIB,  # WMI query results and saved evidence
    "manifest": 16 * MIB,
    "command output": 64 * MIB,
    "registry export": 1024 * MIB,
    "mof": 256 * MIB,
    "repository mapping": 256 * MIB,
    "text": 16 * MIB,
}

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


class NotARegularFile(InputError, OSError):
    """The path names a FIFO, device, socket or folder where a file is expected. An InputError (one line,
    exit 2) where the user named the file; an OSError, so a reader that records unreadable files per artifact
    records this one too."""


def _what(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_regular(path: str | Path) -> None:
    """Raise NotARegularFile unless `path` (links followed) is a regular file; OSError when it is missing."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise NotARegularFile(f"{path}: {_what(mode)}; wmidoctor reads regular files only")


def open_regular(path: str | Path) -> BinaryIO:
    """`path` opened for binary reading, once the open descriptor is known to be a regular file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(f"{path}: {_what(mode)}; wmidoctor reads regular files only")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: str | Path, kind: str) -> bytes:
    """The whole file, refused with one line when it holds more than the cap for its kind of artifact."""
    cap = CAPS[kind]
    with open_regular(path) as handle:
        data = handle.read(cap + 1)
    if len(data) > cap:
        raise InputError(f"{path}: more than {cap // MIB} MiB, too large for a {kind}")
    return data


def confined(path: Path, root: Path) -> bool:
    """Whether `path`, with every link resolved, stays inside `root` (a link may not lead out of the evidence)."""
    try:
        resolved, base = path.resolve(), root.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a link loop
        return False
    return resolved == base or base in resolved.parents
