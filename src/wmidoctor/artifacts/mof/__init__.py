"""Microsoft-dialect MOF reader: `parse_file(path) -> MofDocument`, tolerant of bad input.

Importing this package does not import lark; the parser is built on first use.
"""

from __future__ import annotations

from pathlib import Path

from wmidoctor.artifacts.mof.model import (
    REGISTRATION_CLASSES,
    AliasRef,
    Assignment,
    ClassDecl,
    Diagnostic,
    Instance,
    Method,
    MofDocument,
    Position,
    Pragma,
    Property,
    Qualifier,
    QualifierDecl,
    TypeRef,
)

__all__ = [
    "REGISTRATION_CLASSES",
    "AliasRef",
    "Assignment",
    "ClassDecl",
    "Diagnostic",
    "Instance",
    "Method",
    "MofDocument",
    "Position",
    "Pragma",
    "Property",
    "Qualifier",
    "QualifierDecl",
    "TypeRef",
    "parse_bytes",
    "parse_file",
    "parse_text",
]


def parse_file(path: str | Path) -> MofDocument:
    """Parse one MOF file (UTF-8 with or without BOM, UTF-16 LE/BE). Bad MOF gives diagnostics, not
    exceptions; only an unreadable file raises (OSError)."""
    from wmidoctor.artifacts.mof.parser import parse_file as _parse_file

    return _parse_file(path)


def parse_text(text: str, path: str = "<text>") -> MofDocument:
    from wmidoctor.artifacts.mof.parser import parse_text as _parse_text

    return _parse_text(text, path)


def parse_bytes(data: bytes, path: str = "<bytes>") -> MofDocument:
    from wmidoctor.artifacts.mof.parser import parse_bytes as _parse_bytes

    return _parse_bytes(data, path)
