"""Bytes to text the way mofcomp reads them: a BOM decides; UTF-16 without one is recognised by its
zero bytes; anything else is UTF-8, or the ANSI code page when it is not valid UTF-8."""

from __future__ import annotations

import codecs


def decode_mof(data: bytes) -> tuple[str, str, bool]:
    """Return (text, encoding name, exact) - `exact` is False when a fallback code page was guessed."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig", True
    if data.startswith(codecs.BOM_UTF16_LE):
        return data[2:].decode("utf-16-le", errors="replace"), "utf-16-le", True
    if data.startswith(codecs.BOM_UTF16_BE):
        return data[2:].decode("utf-16-be", errors="replace"), "utf-16-be", True
    sniffed = _sniff_utf16(data)
    if sniffed:
        return data.decode(sniffed, errors="replace"), sniffed, True
    try:
        return data.decode("utf-8"), "utf-8", True
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252", False


def _sniff_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII-range text leaves every other byte zero."""
    head = data[:512]
    if len(head) < 4:
        return None
    even_zero = head[0::2].count(0)
    odd_zero = head[1::2].count(0)
    half = len(head) // 2
    if odd_zero > half * 0.6 and even_zero < half * 0.1:
        return "utf-16-le"
    if even_zero > half * 0.6 and odd_zero < half * 0.1:
        return "utf-16-be"
    return None
