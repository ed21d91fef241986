"""The key/value model every registry reader produces, so callers never know hive from export.

Paths are canonical: a root abbreviation (HKLM, HKU, HKCU) then key names joined by backslashes, e.g.
`HKLM\\SOFTWARE\\Microsoft\\Ole`. HKEY_CLASSES_ROOT is folded into `HKLM\\SOFTWARE\\Classes` (the
machine part of the merged view, which is what services and DCOM read).
"""

from __future__ import annotations

from dataclasses import dataclass, field

REG_NONE = 0
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_DWORD_BIG_ENDIAN = 5
REG_LINK = 6
REG_MULTI_SZ = 7
REG_QWORD = 11

TYPE_NAMES = {
    REG_NONE: "REG_NONE",
    REG_SZ: "REG_SZ",
    REG_EXPAND_SZ: "REG_EXPAND_SZ",
    REG_BINARY: "REG_BINARY",
    REG_DWORD: "REG_DWORD",
    REG_DWORD_BIG_ENDIAN: "REG_DWORD_BIG_ENDIAN",
    REG_LINK: "REG_LINK",
    REG_MULTI_SZ: "REG_MULTI_SZ",
    8: "REG_RESOURCE_LIST",
    9: "REG_FULL_RESOURCE_DESCRIPTOR",
    10: "REG_RESOURCE_REQUIREMENTS_LIST",
    REG_QWORD: "REG_QWORD",
}
TYPE_CODES = {name: code for code, name in TYPE_NAMES.items()}

RegData = str | int | list[str] | bytes

ROOT_ALIASES = {
    "HKEY_LOCAL_MACHINE": "HKLM",
    "HKLM": "HKLM",
    "HKEY_USERS": "HKU",
    "HKU": "HKU",
    "HKEY_CURRENT_USER": "HKCU",
    "HKCU": "HKCU",
    "HKEY_CLASSES_ROOT": "HKLM\\SOFTWARE\\Classes",
    "HKCR": "HKLM\\SOFTWARE\\Classes",
    "HKEY_CURRENT_CONFIG": "HKLM\\SYSTEM\\CurrentControlSet\\Hardware Profiles\\Current",
    "HKCC": "HKLM\\SYSTEM\\CurrentControlSet\\Hardware Profiles\\Current",
}


def canonical_path(path: str) -> str:
    """`HKEY_LOCAL_MACHINE\\Software\\X` -> `HKLM\\Software\\X`; also accepts `HKLM:` and forward slashes."""
    parts = [p for p in path.replace("/", "\\").strip().strip("\\").split("\\") if p]
    if not parts:
        raise ValueError("empty registry path")
    root = ROOT_ALIASES.get(parts[0].rstrip(":").upper())
    if root is None:
        raise ValueError(f"registry path does not start with a known root: {path!r}")
    return "\\".join([root, *parts[1:]])


def is_under(path: str, root: str) -> bool:
    """True when `path` is `root` or lies below it (case-insensitive, canonical paths)."""
    path_l, root_l = path.lower(), root.lower()
    return path_l == root_l or path_l.startswith(root_l + "\\")


@dataclass
class RegValue:
    name: str  # "" is the key's default value ("@" in .reg files, "(default)" in regedit)
    type: int
    data: RegData

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, f"REG_0x{self.type:x}")


@dataclass
class RegKey:
    """One key as read: its values (names compared case-insensitively), its subkey names, its origin."""

    path: str
    values: list[RegValue] = field(default_factory=list)
    subkeys: list[str] = field(default_factory=list)
    source: str = ""  # the artifact it came from: a hive or .reg file name
    last_written: str = ""  # ISO 8601 UTC for hive keys; exports do not record it

    def value(self, name: str) -> RegValue | None:
        wanted = name.lower()
        return next((v for v in self.values if v.name.lower() == wanted), None)

    def data(self, name: str) -> RegData | None:
        found = self.value(name)
        return None if found is None else found.data
