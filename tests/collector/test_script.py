"""The collector script: valid PowerShell (a real grammar), and it writes only artifacts the loader knows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wmidoctor.sources.artifacts import ARTIFACTS, WMI_SERVICES, powershell_table

SCRIPT = Path(__file__).resolve().parents[2] / "collect" / "Collect-WmiDoctor.ps1"


def parse_errors(source: bytes) -> list[str]:
    import tree_sitter
    import tree_sitter_powershell

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    tree = parser.parse(source)
    found, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            found.append(
                f"line {node.start_point[0] + 1}: {node.type} {source[node.start_byte : node.end_byte][:60]!r}"
            )
        stack.extend(node.children)
    return found


@pytest.fixture(scope="module")
def script() -> str:
    return SCRIPT.read_text(encoding="utf-8-sig")


def test_the_script_parses_without_errors(script: str) -> None:
    assert parse_errors(script.encode("utf-8")) == []


def test_the_grammar_does_catch_broken_powershell() -> None:
    assert parse_errors(b"function Broken {\n  if ($x -eq 1 { Write-Output 'no closing paren'\n")


def test_the_script_is_ascii_with_a_bom_for_windows_powershell() -> None:
    raw = SCRIPT.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw[3:].isascii()


def test_the_artifact_table_is_the_python_list(script: str) -> None:
    assert powershell_table() in script.replace("\r\n", "\n"), (
        "run: .venv/bin/python -m wmidoctor.sources.collector_script"
    )


def _keys_used(script: str) -> set[str]:
    """Artifact keys the script passes to its writers: literals ('RegOle'), lists of them, and the
    per-service templates ("ScQc$service")."""
    body = script.split("# END ARTIFACTS", 1)[1]
    used = set(re.findall(r"'([A-Z][A-Za-z]+)'", body))
    for template in re.findall(r'"([A-Z][A-Za-z]+)\$service"', body):
        used |= {template + service for service in WMI_SERVICES}
    return used


def test_every_artifact_is_written_and_nothing_else(script: str) -> None:
    keys = {a.key for a in ARTIFACTS}
    used = _keys_used(script)
    assert keys - used == set(), "artifacts the collector never writes"
    writers = re.findall(
        r"(?:Get-ArtifactPath|Invoke-Step|Invoke-WmiStep|Write-JsonArtifact|Save-CommandOutput|"
        r"Export-EventLog|Export-RegistryArtifact|Add-Entry -Key) '([A-Za-z]+)'",
        script,
    )
    assert writers and set(writers) <= keys


def test_no_bundle_path_is_spelled_outside_the_table(script: str) -> None:
    body = script.split("# END ARTIFACTS", 1)[1]
    names = {n for a in ARTIFACTS for n in a.names}
    assert not [n for n in names if f"'{n}'" in body or f'"{n}"' in body]
