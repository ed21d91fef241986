"""Shared helpers for command outputs: decoding saved bytes and the `NAME : value` line shape."""

from __future__ import annotations

import re

# `        START_TYPE         : 2   AUTO_START` (sc) and `Enabled:      Yes` (netsh)
FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_ ]*?)\s*:\s?(.*)$")


def decode_output(raw: bytes) -> str:
    """Command output as text: UTF-16 when it has a BOM (PowerShell's Out-File), else UTF-8, else the
    OEM code page most consoles use (cp437)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437", errors="replace")


def lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
