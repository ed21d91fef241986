"""One registry namespace over any mix of hives and .reg exports.

`Registry.open(paths)` takes hive files, .reg files, and folders (a bundle, or a mounted Windows volume
with Windows/System32/config). Lookups go to whichever artifact holds the path; the first that has the
key answers. `HKLM\\SYSTEM\\CurrentControlSet` is resolved through `HKLM\\SYSTEM\\Select!Current` when
the artifact has no such key itself (offline hives never do; exports may).
"""

from __future__ import annotations

import os
from pathlib import Path

from wmidoctor.artifacts.gate import open_regular
from wmidoctor.artifacts.registry.hive import Hive, HiveError, is_hive
from wmidoctor.artifacts.registry.model import RegData, RegKey, RegValue, canonical_path, is_under
from wmidoctor.artifacts.registry.regfile import RegFileError, looks_like_reg, read_reg_file
from wmidoctor.artifacts.registry.tree import RegTree

CURRENT_CONTROL_SET = "HKLM\\SYSTEM\\CurrentControlSet"
SELECT_KEY = "HKLM\\SYSTEM\\Select"
MACHINE_HIVE_NAMES = {"system", "software"}  # the hives a folder scan picks up
HIVE_SUFFIXES = {"", ".hiv", ".hive", ".dat"}
MAX_SCAN_DEPTH = 4


class Registry:
    """Hives and .reg exports merged into one read-only namespace of canonical paths."""

    def __init__(self) -> None:
        self.hives: list[Hive] = []
        self.exports = RegTree()
        self.export_files: list[Path] = []
        self.problems: list[str] = []

    # --- opening ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, paths: list[str | Path]) -> Registry:
        registry = cls()
        for path in paths:
            registry.add(Path(path))
        return registry

    def add(self, path: Path) -> None:
        """Add a hive, a .reg file or every hive/export found in a folder; raise OSError if it is missing."""
        if not path.exists():
            raise FileNotFoundError(2, "no such file or folder", str(path))
        if path.is_dir():
            for found in find_registry_files(path):
                # A file named like a machine hive that is not one is damage worth saying, not noise.
                self.add_file(found, explicit=_hive_candidate(found.name))
        else:
            self.add_file(path, explicit=True)

    def add_file(self, path: Path, explicit: bool = False) -> None:
        try:
            if is_hive(path):
                hive = Hive(path)
                self.hives.append(hive)
                self.problems.extend(hive.problems)
                return
            with open_regular(path) as handle:
                head = handle.read(400)
            if looks_like_reg(head):
                read_reg_file(path, self.exports, self.problems)
                self.export_files.append(path)
            elif explicit:
                self.problems.append(f"{path.name}: neither a registry hive nor a .reg export; skipped")
        except (HiveError, RegFileError) as exc:
            self.problems.append(str(exc))

    @property
    def sources(self) -> list[str]:
        return [str(h.path) for h in self.hives] + [str(p) for p in self.export_files]

    # --- reading ---------------------------------------------------------------------------------

    def covers(self, path: str) -> bool:
        """True when some artifact holds the part of the namespace where `path` lies (so absence means
        the key is absent on the host, not that it was not collected)."""
        roots = [h.mount for h in self.hives] + self.exports.roots
        return any(is_under(candidate, root) for root in roots for candidate in self._candidates(canonical_path(path)))

    def key(self, path: str) -> RegKey | None:
        path = canonical_path(path)
        for candidate in self._candidates(path):
            for store in self._stores():
                found = store.key(candidate)
                if found is not None:
                    if candidate != path:
                        found.path = path
                    return found
        return None

    def value(self, path: str, name: str) -> RegValue | None:
        found = self.key(path)
        return None if found is None else found.value(name)

    def data(self, path: str, name: str) -> RegData | None:
        found = self.value(path, name)
        return None if found is None else found.data

    def subkeys(self, path: str) -> list[str]:
        found = self.key(path)
        return [] if found is None else found.subkeys

    def _stores(self) -> list[Hive | RegTree]:
        return [*self.hives, self.exports]

    def _candidates(self, path: str) -> list[str]:
        """`path` itself, then with CurrentControlSet replaced by the control set Select\\Current names."""
        if not is_under(path, CURRENT_CONTROL_SET):
            return [path]
        candidates = [path]
        for store in self._stores():
            select = store.key(SELECT_KEY)
            current = select.data("Current") if select is not None else None
            if isinstance(current, int):
                resolved = f"HKLM\\SYSTEM\\ControlSet{current:03d}" + path[len(CURRENT_CONTROL_SET) :]
                if resolved not in candidates:
                    candidates.append(resolved)
        return candidates

    def all_problems(self) -> list[str]:
        """Problems met while opening plus those met by later reads (hives record damage as they go)."""
        seen = list(self.problems)
        for hive in self.hives:
            seen.extend(p for p in hive.problems if p not in seen)
        return seen


def _hive_candidate(name: str) -> bool:
    stem, suffix = os.path.splitext(name.lower())
    return stem in MACHINE_HIVE_NAMES and suffix in HIVE_SUFFIXES


def find_registry_files(folder: Path) -> list[Path]:
    """Files named like machine hives (SYSTEM, SOFTWARE) and .reg exports in `folder`, a few levels deep.

    A mounted volume's Windows/System32/config is depth 3, so it is found without walking the disk.
    """
    found: list[Path] = []
    base_depth = len(folder.parts)
    for root, dirs, files in os.walk(folder):
        depth = len(Path(root).parts) - base_depth
        if depth >= MAX_SCAN_DEPTH:
            dirs[:] = []
        dirs[:] = sorted(d for d in dirs if d.lower() not in {"winsxs", "regback", "systemprofile"})
        for name in sorted(files):
            path = Path(root) / name
            if name.lower().endswith(".reg") or _hive_candidate(name):
                found.append(path)
    return found
