"""An in-memory registry tree: what .reg exports are read into (and what the .reg writer writes)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from wmidoctor.artifacts.registry.model import RegKey, RegValue, canonical_path, is_under


@dataclass
class _Node:
    name: str
    values: dict[str, RegValue] = field(default_factory=dict)  # lower-case name -> value (insertion order)
    children: dict[str, _Node] = field(default_factory=dict)  # lower-case name -> node
    source: str = ""


class RegTree:
    """Keys and values by canonical path; `roots` are the exported subtrees this tree vouches for."""

    def __init__(self) -> None:
        self._top = _Node("")
        self.roots: list[str] = []

    def _walk(self, path: str, create: bool = False, source: str = "") -> _Node | None:
        node = self._top
        for part in canonical_path(path).split("\\"):
            child = node.children.get(part.lower())
            if child is None:
                if not create:
                    return None
                child = node.children[part.lower()] = _Node(part, source=source)
            node = child
        return node

    def add_key(self, path: str, source: str = "") -> None:
        self._walk(path, create=True, source=source)

    def set_value(self, path: str, value: RegValue, source: str = "") -> None:
        node = self._walk(path, create=True, source=source)
        assert node is not None
        node.values[value.name.lower()] = value

    def delete_key(self, path: str) -> None:
        parts = canonical_path(path).split("\\")
        parent = self._walk("\\".join(parts[:-1])) if len(parts) > 1 else self._top
        if parent is not None:
            parent.children.pop(parts[-1].lower(), None)

    def delete_value(self, path: str, name: str) -> None:
        node = self._walk(path)
        if node is not None:
            node.values.pop(name.lower(), None)

    def add_root(self, path: str) -> None:
        """Record that the tree holds the whole of `path` (an exported key), unless a root covers it."""
        path = canonical_path(path)
        if any(is_under(path, root) for root in self.roots):
            return
        self.roots = [root for root in self.roots if not is_under(root, path)] + [path]

    def key(self, path: str) -> RegKey | None:
        node = self._walk(path)
        if node is None or node is self._top:
            return None
        return RegKey(
            path=canonical_path(path),
            values=list(node.values.values()),
            subkeys=[child.name for child in node.children.values()],
            source=node.source,
        )

    def iter_keys(self) -> Iterator[RegKey]:
        """Every key, parents before children, in insertion order."""
        stack: list[tuple[str, _Node]] = [(child.name, child) for child in reversed(self._top.children.values())]
        while stack:
            path, node = stack.pop()
            yield RegKey(
                path=path,
                values=list(node.values.values()),
                subkeys=[child.name for child in node.children.values()],
                source=node.source,
            )
            stack.extend((f"{path}\\{child.name}", child) for child in reversed(node.children.values()))
