"""The layer rules of docs/ARCHITECTURE.md, read from the table in that document and checked against every import
in the package (lazy imports inside functions included), so the document and the code cannot drift apart."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "wmidoctor"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"

# Top-level modules that every layer may use: the package's own metadata, error types and shared vocabulary.
SHARED = {"__init__", "errors", "vocabulary"}


def layer_of(module: str) -> str:
    """`wmidoctor.checks.events` -> `checks`; `wmidoctor.output` -> `output`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def rules_from_document() -> dict[str, set[str] | None]:
    """Each folder row of the table: the layers it may import (None: anything)."""
    rules: dict[str, set[str] | None] = {}
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        folders = [name.rstrip("/").removesuffix(".py") for name in re.findall(r"`([^`]+)`", cells[0])]
        allowed = (
            None
            if cells[2] == "anything"
            else {name.split(".")[0].rstrip("/").removesuffix(".py") for name in re.findall(r"`([^`]+)`", cells[2])}
        )
        for folder in folders:
            rules[folder] = allowed
    return rules


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every `wmidoctor.*` module a file imports, with its line, relative imports resolved."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("wmidoctor")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("wmidoctor"):
                found.append((node.lineno, target))
    return found


def test_the_document_names_every_layer_of_the_package():
    rules = rules_from_document()
    layers = {
        p.name.removesuffix(".py")
        for p in PACKAGE.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"
    }
    undocumented = layers - set(rules) - SHARED - {"__main__", "cli", "dbfiles", "schemas"}
    assert not undocumented, f"layers missing from docs/ARCHITECTURE.md: {sorted(undocumented)}"


@pytest.mark.parametrize("layer", sorted(rules_from_document()))
def test_imports_follow_the_layer_rules(layer):
    allowed = rules_from_document()[layer]
    if allowed is None:
        return
    target = PACKAGE / layer
    files = sorted(target.rglob("*.py")) if target.is_dir() else [PACKAGE / f"{layer}.py"]
    crossing = []
    for path in files:
        for line, module in imports_of(path):
            used = layer_of(module)
            if used in SHARED or used == layer or used in allowed or module == "wmidoctor":
                continue
            crossing.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not crossing, f"{layer} may import only {sorted(allowed)}:\n" + "\n".join(crossing)


def test_the_rule_reader_sees_a_crossing():
    """The check can fail: a made-up file in checks/ that imports a reader is reported."""
    source = "from wmidoctor.artifacts.evtx import reader\n"
    tree = ast.parse(source)
    node = tree.body[0]
    assert isinstance(node, ast.ImportFrom) and layer_of(node.module or "") == "artifacts"
    assert "artifacts" not in (rules_from_document()["checks"] or set())
