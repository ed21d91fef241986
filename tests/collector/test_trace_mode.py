"""The collector's trace mode (-TraceSeconds / -TraceUntilKey / -TraceEtl), checked on the script's syntax
tree: one contiguous block of its own functions, the channel and the ETW session switched back in a finally
block (so an error or Ctrl+C cannot leave tracing on), size bounds on both, the exports written to the
artifacts the loader reads, and the trace taken before the collector's own WMI queries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wmidoctor.sources.artifacts import BY_KEY, TRACE

SCRIPT = Path(__file__).resolve().parents[2] / "collect" / "Collect-WmiDoctor.ps1"
BLOCK_START = "# --- trace mode (-TraceSeconds / -TraceUntilKey)"
BLOCK_END = "# --- the collection ---"
TRACE_FUNCTIONS = {
    "Get-TraceChannelState",
    "Set-TraceChannel",
    "Start-TraceSession",
    "Stop-TraceSession",
    "Wait-TraceEnd",
    "Invoke-WmiTraceMode",
    "Skip-WmiTraceMode",
}


@pytest.fixture(scope="module")
def script() -> str:
    return SCRIPT.read_text(encoding="utf-8-sig").replace("\r\n", "\n")


def _tree(source: str):
    import tree_sitter
    import tree_sitter_powershell

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language())).parse(source.encode())


def _functions(source: str) -> dict[str, object]:
    found, stack = {}, [_tree(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_statement":
            name = next(c for c in node.children if c.type == "function_name").text.decode()
            found[name] = node
        stack.extend(node.children)
    return found


def _descendants(node, kind: str) -> list:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if current.type == kind:
            found.append(current)
        stack.extend(current.children)
    return found


def test_trace_parameters_are_declared(script: str) -> None:
    params = script[script.index("param(") : script.index("\n)\n")]
    for declaration in (
        "[int]$TraceSeconds = 0",
        "[switch]$TraceUntilKey",
        "[switch]$TraceEtl",
        "[int]$TraceMaxMB = 256",
    ):
        assert declaration in params
    relaunch = script[script.index("Is64BitOperatingSystem") : script.index("$CollectorVersion")]
    assert "'TraceSeconds', 'TraceUntilKey', 'TraceEtl', 'TraceMaxMB'" in relaunch, "the 64-bit relaunch drops them"


def test_the_trace_functions_form_one_contiguous_block(script: str) -> None:
    start, end = script.index(BLOCK_START), script.index(BLOCK_END)
    functions = _functions(script)
    assert set(functions) >= TRACE_FUNCTIONS
    offsets = script.encode()
    for name in TRACE_FUNCTIONS:
        node = functions[name]
        position = len(offsets[: node.start_byte].decode())
        assert start < position < end, f"{name} lies outside the trace block"
    outside = script[:start] + script[end:]
    assert not [n for n in TRACE_FUNCTIONS if re.search(rf"function {n}\b", outside)]


def test_tracing_is_switched_back_in_a_finally_block(script: str) -> None:
    body = _functions(script)["Invoke-WmiTraceMode"]
    outer = max(_descendants(body, "try_statement"), key=lambda t: t.end_byte - t.start_byte)
    tried = next(c for c in outer.children if c.type == "statement_block").text.decode()
    cleanup = next(c for c in outer.children if c.type == "finally_clause").text.decode()
    assert "if (-not $original.Enabled) { Set-TraceChannel -Enabled $true" in tried
    assert "Start-TraceSession" in tried and "Wait-TraceEnd" in tried
    assert "Stop-TraceSession" in cleanup and "Set-TraceChannel -Enabled $false -MaxSize $original.MaxSize" in cleanup
    # an originally enabled channel is enabled again, whatever the export did
    inner_finally = [
        f.text.decode()
        for f in _descendants(outer, "finally_clause")
        if f is not next(c for c in outer.children if c.type == "finally_clause")
    ]
    assert any("if ($original.Enabled) { Set-TraceChannel -Enabled $true" in f for f in inner_finally)


def test_ctrl_c_ends_the_wait_and_the_console_mode_is_restored(script: str) -> None:
    wait = _functions(script)["Wait-TraceEnd"].text.decode()
    assert "[Console]::TreatControlCAsInput = $true" in wait
    cleanup = _descendants(_functions(script)["Wait-TraceEnd"], "finally_clause")[0].text.decode()
    assert "[Console]::TreatControlCAsInput = $treatControlC" in cleanup


def test_both_traces_are_size_bounded(script: str) -> None:
    block = script[script.index(BLOCK_START) : script.index(BLOCK_END)]
    assert "-MaxSize ([long]$TraceMaxMB * 1048576)" in block and "/ms:{0}" in block
    assert "-mode circular -max {1}" in block
    assert "$TraceMaxWaitSeconds = 3600" in block


def test_the_exports_go_to_the_trace_artifacts(script: str) -> None:
    block = script[script.index(BLOCK_START) : script.index(BLOCK_END)]
    assert re.search(r"epl \"\{0\}\" \"\{1\}\".*Get-ArtifactPath 'WmiActivityTrace'", block)
    assert "Start-TraceSession -EtlPath (Get-ArtifactPath 'WmiTraceSession')" in block
    assert BY_KEY["WmiActivityTrace"].kind == TRACE and BY_KEY["WmiTraceSession"].kind == TRACE
    assert BY_KEY["WmiActivityTrace"].name == "trace/Microsoft-Windows-WMI-Activity%4Trace.evtx"
    assert BY_KEY["WmiTraceSession"].name.endswith(".etl")
    for key in ("WmiActivityTrace", "WmiTraceSession"):
        assert f"Add-Entry -Key '{key}' -Status 'skipped'" in block and f"Add-Entry -Key '{key}' -Status 'ok'" in block


def test_the_trace_runs_first_and_only_when_asked(script: str) -> None:
    collection = script[script.index(BLOCK_END) :]
    call = collection.index(
        "if ($TraceSeconds -gt 0 -or $TraceUntilKey) { Invoke-WmiTraceMode } else { Skip-WmiTraceMode }"
    )
    assert call < collection.index("Test-Wmi") and call < collection.index("Export-EventLog $key")
    assert collection.index("$Elevated = ") < call, "the trace needs to know whether it runs elevated"
