"""Indicators in a command line or script: URLs, hosts, IP addresses, file paths, and Base64 payloads decoded
(PowerShell -EncodedCommand is UTF-16LE Base64; FromBase64String may hold either encoding)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from urllib.parse import urlsplit

MAX_EACH = 50  # indicators of one kind kept per payload
MAX_DEPTH = 3  # an encoded command inside an encoded command ...

_URL = re.compile(r"(?i)\b(?:https?|ftp)://[^\s'\"<>()`]+")
_IP = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_EXECUTABLE = re.compile(r"(?i)(?<![\w\\/.-])[\w.-]+\.(?:exe|dll|ps1|vbs|js|hta|bat|cmd|scr)\b")
_PATH = re.compile(r"(?i)(?<![\w/])(?:[a-z]:\\|\\\\[\w.$-]+\\|%\w+%\\)[^\s'\"<>|*?,;]*")
_ENCODED = re.compile(r"(?i)\s-e(?:n|nc|nco|ncod|ncode|ncoded|ncodedc\w*)?\s+([A-Za-z0-9+/]{16,}={0,2})")
_FROM_BASE64 = re.compile(r"(?i)FromBase64String\(\s*['\"]([A-Za-z0-9+/]{16,}={0,2})['\"]")


def _decode(blob: str, utf16: bool) -> str:
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
    except (binascii.Error, ValueError):
        return ""
    if utf16 or raw[1:2] == b"\x00":
        text = raw.decode("utf-16-le", errors="replace")
    else:
        text = raw.decode("utf-8", errors="replace")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return text if text and printable / len(text) > 0.9 else ""


def _add(found: dict[str, list[str]], kind: str, value: str) -> None:
    values = found.setdefault(kind, [])
    if value and value not in values and len(values) < MAX_EACH:
        values.append(value)


def _valid_ip(text: str) -> bool:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return not address.is_unspecified


def extract(text: str, depth: int = 0) -> dict[str, list[str]]:
    """{"urls": [...], "hosts": [...], "ips": [...], "paths": [...], "files": [...], "decoded": [...]} (kinds
    found only; `files` are bare program and script names, such as the process a filter waits for)."""
    found: dict[str, list[str]] = {}
    for url in _URL.findall(text):
        url = url.rstrip(".,;")
        _add(found, "urls", url)
        host = urlsplit(url).hostname or ""
        _add(found, "ips" if _valid_ip(host) else "hosts", host)
    for ip in _IP.findall(text):
        if _valid_ip(ip):
            _add(found, "ips", ip)
    for path in _PATH.findall(text):
        _add(found, "paths", path.rstrip(".)"))
    for name in _EXECUTABLE.findall(text):
        _add(found, "files", name)
    if depth < MAX_DEPTH:
        decoded = [_decode(blob, utf16=True) for blob in _ENCODED.findall(" " + text)]
        decoded += [_decode(blob, utf16=False) for blob in _FROM_BASE64.findall(text)]
        for plain in filter(None, decoded):
            _add(found, "decoded", plain)
            for kind, values in extract(plain, depth + 1).items():
                for value in values:
                    _add(found, kind, value)
    return {kind: values for kind, values in found.items() if values}


def summary(indicators: dict[str, list[str]]) -> str:
    """One line: `urls: a, b; ips: c` (decoded payloads are counted, shown elsewhere in full)."""
    parts = []
    for kind, values in indicators.items():
        if kind == "decoded":
            parts.append(f"{len(values)} decoded Base64 payload{'s' if len(values) != 1 else ''}")
        else:
            parts.append(f"{kind}: {', '.join(values)}")
    return "; ".join(parts)
