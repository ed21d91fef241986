"""Registry text exports (.reg), as `reg export` and regedit write them, read and written.

Both dialects: "Windows Registry Editor Version 5.00" (normally UTF-16 LE with a BOM; hex(2)/hex(7)
data in UTF-16 LE) and "REGEDIT4" (ANSI; hex(2)/hex(7) data in the ANSI code page). Key deletions
`[-KEY]` and value deletions `"name"=-` apply to the tree being built. Lines continue with a final
backslash; comments start with ';'.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from wmidoctor.artifacts.gate import read_capped
from wmidoctor.artifacts.registry.model import (
    REG_BINARY,
    REG_DWORD,
    REG_DWORD_BIG_ENDIAN,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_QWORD,
    REG_SZ,
    RegData,
    RegValue,
    canonical_path,
    is_under,
)
from wmidoctor.artifacts.registry.tree import RegTree

HEADER_V5 = "Windows Registry Editor Version 5.00"
HEADER_V4 = "REGEDIT4"
ANSI = "cp1252"


class RegFileError(ValueError):
    """Not a registry export at all (a bad line inside one is a problem, not this error)."""


def decode_text(raw: bytes) -> str:
    """Text of an export: UTF-16 LE/BE by BOM (or by NUL pattern), UTF-8 with or without BOM, else ANSI."""
    if raw.startswith(b"\xff\xfe"):
        return raw[2:].decode("utf-16-le", errors="replace")
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", errors="replace")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    if len(raw) > 3 and raw[1] == 0 and raw[3] == 0:
        return raw.decode("utf-16-le", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode(ANSI, errors="replace")


def looks_like_reg(raw: bytes) -> bool:
    head = decode_text(raw[:200]).lstrip("\ufeff").lstrip()
    return head.startswith(HEADER_V5) or head.upper().startswith(HEADER_V4)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash-continued lines; return (first physical line number, joined text) pairs."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, physical in enumerate(text.splitlines(), 1):
        piece = physical.strip() if pending else physical.rstrip()
        if not pending:
            start = number
        if piece.endswith("\\") and not piece.endswith('"') and ("=hex" in (pending + piece).lower()):
            pending += piece[:-1]
            continue
        lines.append((start, pending + piece))
        pending = ""
    if pending:
        lines.append((start, pending))
    return lines


def _read_quoted(text: str, at: int) -> tuple[str, int]:
    """The string starting at the quote at `text[at]`, unescaped; return it and the index after it."""
    out, i = [], at + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise ValueError("unterminated string")


_HEX_TYPE = re.compile(r"hex(?:\(([0-9a-fA-F]+)\))?:(.*)$", re.S)


def _hex_bytes(text: str) -> bytes:
    cleaned = text.replace(" ", "").replace("\t", "").strip().rstrip(",")
    return bytes(int(b, 16) for b in cleaned.split(",")) if cleaned else b""


def decode_data(type_code: int, raw: bytes, ansi: bool = False) -> RegData:
    """Typed data from the bytes a hex value holds (hex(2)/hex(7) in UTF-16 LE unless `ansi`)."""
    if type_code in (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ):
        text = raw.decode(ANSI, errors="replace") if ansi else raw.decode("utf-16-le", errors="replace")
        if type_code == REG_MULTI_SZ:
            return [s for s in text.split("\x00") if s] if text.strip("\x00") else []
        return text.split("\x00", 1)[0]
    if type_code == REG_DWORD and len(raw) == 4:
        return int.from_bytes(raw, "little")
    if type_code == REG_DWORD_BIG_ENDIAN and len(raw) == 4:
        return int.from_bytes(raw, "big")
    if type_code == REG_QWORD and len(raw) == 8:
        return int.from_bytes(raw, "little")
    return raw


def _parse_data(text: str, ansi: bool) -> tuple[int, RegData] | None:
    """(type, data) for the right-hand side of a value line; None means a deletion ("=-")."""
    text = text.strip()
    if text == "-":
        return None
    if text.startswith('"'):
        value, end = _read_quoted(text, 0)
        if text[end:].strip():
            raise ValueError(f"text after string: {text[end : end + 20]!r}")
        return REG_SZ, value
    lower = text.lower()
    if lower.startswith("dword:"):
        return REG_DWORD, int(text[6:].strip(), 16)
    match = _HEX_TYPE.match(lower)
    if not match:
        raise ValueError(f"unknown data {text[:30]!r}")
    type_code = int(match.group(1), 16) if match.group(1) is not None else REG_BINARY
    return type_code, decode_data(type_code, _hex_bytes(match.group(2)), ansi)


def parse_reg_text(
    text: str, tree: RegTree | None = None, source: str = "", problems: list[str] | None = None
) -> RegTree:
    """Read export text into `tree` (a new one by default); bad lines go to `problems`, if given."""
    tree = tree if tree is not None else RegTree()
    problems = problems if problems is not None else []
    text = text.lstrip("\ufeff")
    first = text.lstrip().split("\n", 1)[0].strip()
    if first == HEADER_V5:
        ansi = False
    elif first.upper() == HEADER_V4:
        ansi = True
    else:
        raise RegFileError(f"{source or 'text'}: not a registry export (first line {first[:50]!r})")
    current: str | None = None
    declared: list[str] = []
    for number, line in _logical_lines(text)[1:]:
        stripped = line.strip()
        if not stripped or stripped.startswith(";"):
            continue
        try:
            if stripped.startswith("[") and stripped.endswith("]"):
                name = stripped[1:-1]
                if name.startswith("-"):
                    tree.delete_key(name[1:])
                    current = None
                else:
                    current = canonical_path(name)
                    tree.add_key(current, source)
                    declared.append(current)
                continue
            if current is None:
                raise ValueError("value outside a key")
            if stripped.startswith("@"):
                value_name, rest = "", stripped[1:].lstrip()
            elif stripped.startswith('"'):
                value_name, end = _read_quoted(stripped, 0)
                rest = stripped[end:].lstrip()
            else:
                raise ValueError(f"unexpected text {stripped[:30]!r}")
            if not rest.startswith("="):
                raise ValueError("missing '=' after the value name")
            parsed = _parse_data(rest[1:], ansi)
            if parsed is None:
                tree.delete_value(current, value_name)
            else:
                tree.set_value(current, RegValue(value_name, parsed[0], parsed[1]), source)
        except ValueError as exc:
            problems.append(f"{source or 'reg'} line {number}: {exc}")
    declared_lower = {path.lower() for path in declared}
    for path in declared:
        parent = path.rsplit("\\", 1)[0]
        if parent.lower() not in declared_lower:
            tree.add_root(path)
    return tree


def read_reg_file(path: str | Path, tree: RegTree | None = None, problems: list[str] | None = None) -> RegTree:
    """Read one export file (never modified) into `tree`."""
    path = Path(path)
    return parse_reg_text(decode_text(read_capped(path, "registry export")), tree, source=path.name, problems=problems)


# --- writing -------------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_data(value: RegValue) -> bytes:
    """The bytes a value holds in the registry (strings as UTF-16 LE with their terminators)."""
    data = value.data
    if isinstance(data, list):
        return "".join(s + "\x00" for s in data).encode("utf-16-le") + b"\x00\x00"
    if isinstance(data, str):
        return (data + "\x00").encode("utf-16-le")
    if isinstance(data, int):
        if value.type == REG_QWORD:
            return struct.pack("<Q", data)
        return struct.pack(">I" if value.type == REG_DWORD_BIG_ENDIAN else "<I", data)
    return bytes(data)


def _hex_lines(prefix: str, raw: bytes, width: int = 80) -> str:
    """`prefix` then comma-separated bytes, wrapped with trailing backslashes as regedit does."""
    out, line = [], prefix
    hexes = [f"{b:02x}" for b in raw]
    for i, item in enumerate(hexes):
        piece = item + ("," if i < len(hexes) - 1 else "")
        if len(line) + len(piece) > width - 2 and line.strip():
            out.append(line + "\\")
            line = "  "
        line += piece
    out.append(line)
    return "\r\n".join(out)


def format_value(value: RegValue) -> str:
    name = "@" if value.name == "" else _quote(value.name)
    if value.type == REG_SZ and isinstance(value.data, str) and "\x00" not in value.data:
        return f"{name}={_quote(value.data)}"
    if value.type == REG_DWORD and isinstance(value.data, int):
        return f"{name}=dword:{value.data:08x}"
    kind = "hex" if value.type == REG_BINARY else f"hex({value.type:x})"
    return _hex_lines(f"{name}={kind}:", encode_data(value))


LONG_ROOTS = {"HKLM": "HKEY_LOCAL_MACHINE", "HKU": "HKEY_USERS", "HKCU": "HKEY_CURRENT_USER"}


def write_reg_text(tree: RegTree) -> str:
    """Export text (Version 5.00, CRLF), parents first: the subtrees of `tree.roots`, or when it has none
    every key below the hive roots."""
    blocks = [HEADER_V5]
    for key in tree.iter_keys():
        if "\\" not in key.path or (tree.roots and not any(is_under(key.path, r) for r in tree.roots)):
            continue
        root, separator, rest = key.path.partition("\\")
        lines = [f"[{LONG_ROOTS.get(root, root)}{separator}{rest}]"]
        lines.extend(format_value(value) for value in key.values)
        blocks.append("\r\n".join(lines))
    return "\r\n\r\n".join(blocks) + "\r\n\r\n"


def write_reg_file(tree: RegTree, path: str | Path, encoding: str = "utf-16") -> None:
    """Write `tree` as `reg export` does: UTF-16 LE with a BOM by default; "utf-8" for a plain text file."""
    text = write_reg_text(tree)
    raw = b"\xff\xfe" + text.encode("utf-16-le") if encoding == "utf-16" else text.encode(encoding)
    Path(path).write_bytes(raw)
