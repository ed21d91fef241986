"""Privacy by construction in the collector (issue 22): the secret forms it masks are generated from
knowledge/secret_patterns.tsv and mask exactly what the reports' sanitiser masks; event logs are exported with
filters that keep every event the reader uses (checked on the real host logs of the corpus); the logs whose
records carry command lines or consumers are exported as masked XML; service Environment values are left out;
Autorecover MOFs are copied masked."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from tests.collector.test_script_rules import SCRIPT, Tree
from tests.hardening.test_secret_masking import CASES

from wmidoctor.artifacts.evtx.binary import read_evtx
from wmidoctor.artifacts.evtx.event import LogStats
from wmidoctor.knowledge.secrets import MASK, dotnet_patterns, mask_secrets
from wmidoctor.logs.selection import wanted
from wmidoctor.sources.artifacts import ARTIFACTS, BY_KEY, EVENT_LOG
from wmidoctor.sources.collector_script import secret_table

LOGS = [a for a in ARTIFACTS if a.kind == EVENT_LOG]


@pytest.fixture(scope="module")
def script() -> str:
    return SCRIPT.read_text(encoding="utf-8-sig").replace("\r\n", "\n")


def test_the_secret_forms_in_the_script_are_generated_from_the_table(script: str) -> None:
    assert secret_table() in script, "run: .venv/bin/python -m wmidoctor.sources.collector_script"


def _as_powershell_would(text: str) -> str:
    """The collector's masking, with Python's engine: each .NET pattern (named groups `(?<name>`) replaced by
    `${pre}` and the mask, ignoring case, as PowerShell's -replace does."""
    for pattern in dotnet_patterns():
        text = re.sub(
            pattern.replace("(?<", "(?P<").replace("(?P<=", "(?<=").replace("(?P<!", "(?<!"),
            lambda m: m.group("pre") + MASK,
            text,
            flags=re.IGNORECASE,
        )
    return text


@pytest.mark.parametrize(("text", "secret"), CASES)
def test_the_collector_masks_what_the_reports_mask(text: str, secret: str) -> None:
    assert _as_powershell_would(text) == mask_secrets(text)
    assert secret not in _as_powershell_would(text)


def test_masking_inside_an_event_record_keeps_the_xml_whole() -> None:
    record = (
        "<Event><EventData><Data Name='CommandLine'>cmd /c net use \\\\fs\\c$ Winter24! /user:CORP\\svc"
        "</Data><Data Name='Destination'>powershell -Password &quot;Pa55&quot; -x</Data></EventData></Event>"
    )
    masked = _as_powershell_would(record)
    assert "Winter24!" not in masked and "Pa55" not in masked
    assert masked.count("<Data") == masked.count("</Data>") == 2 and masked.endswith("</Event>")


def _selector_as_python(selector: str):
    """The restricted XPath of an export selector (Provider[@Name=...], EventID tests, and/or) as a Python
    predicate over (provider, event id)."""
    expression = re.sub(
        r"Provider\[([^\]]*)\]",
        lambda m: "(" + re.sub(r"@Name='([^']*)'", r"provider == '\1'", m.group(1)) + ")",
        selector,
    )
    expression = re.sub(
        r"EventID(>=|<=|=)(\d+)",
        lambda m: f"event_id {'==' if m.group(1) == '=' else m.group(1)} {m.group(2)}",
        expression,
    )
    if not expression:
        return lambda provider, event_id: True
    # the selector is the project's own text, not input
    return eval(compile(f"lambda provider, event_id: {expression}", "selector", "eval"))


def test_every_selector_is_well_formed_xpath_of_the_kind_the_event_log_accepts() -> None:
    for log in LOGS:
        stripped = re.sub(r"Provider\[[^\]]*\]|EventID(>=|<=|=)\d+|\band\b|\bor\b|[()\s]", "", log.event_filter)
        assert stripped == "", f"{log.key}: unexpected XPath {stripped!r}"
        assert log.event_filter.count("(") == log.event_filter.count(")")


CHANNEL_LOGS = {
    "Application.evtx": "ApplicationLog",
    "System.evtx": "SystemLog",
    "Security.evtx": "SecurityLog",
    "Microsoft-Windows-WMI-Activity%4Operational.evtx": "WmiActivityLog",
    "Microsoft-Windows-Sysmon%4Operational.evtx": "SysmonLog",
}


@pytest.mark.corpus
def test_the_export_filters_keep_every_event_the_reader_uses(corpus) -> None:
    """On every real host log of the corpus: each event the log reader decodes passes its channel's export
    filter (so a filtered collection loses nothing a check reads), and the filter drops most of the rest."""
    checked = 0
    for path in sorted((corpus / "evtx" / "hosts").glob("*/*.evtx")):
        key = CHANNEL_LOGS.get(path.name)
        if key is None:
            continue
        keep = _selector_as_python(BY_KEY[key].event_filter)
        stats = LogStats(path.name)
        for _ in read_evtx(str(path), path.name, stats, lambda provider, event_id: False):
            pass
        seen = Counter()  # (provider, event id) -> records of the log
        for (_, provider, event_id), records in stats.counts.items():
            seen[(provider, event_id)] += records
        lost = {pair for pair in seen if wanted(*pair) and not keep(*pair)}
        assert lost == set(), f"{path}: the export filter drops events the reader uses: {sorted(lost)[:5]}"
        checked += sum(n for pair, n in seen.items() if wanted(*pair))
        if key in ("ApplicationLog", "SystemLog"):
            kept = sum(n for pair, n in seen.items() if keep(*pair))
            assert kept < sum(seen.values()), f"{path}: the filter keeps everything"
    assert checked > 1000


def test_logs_with_command_lines_are_masked_xml_and_the_others_filtered_evtx() -> None:
    masked = {a.key for a in LOGS if a.masked}
    assert masked == {"WmiActivityLog", "SystemLog", "SysmonLog", "SecurityLog"}
    for log in LOGS:
        assert log.name.endswith(".xml" if log.masked else ".evtx")
        stem = log.name.rsplit(".", 1)[0]
        assert {f"{stem}.evtx", f"{stem}.xml"} == set(log.names)  # bundles of either form load


def _function(tree: Tree, name: str) -> str:
    match = re.search(r"function " + re.escape(name) + r" \{.*?\n\}\n", tree.source.replace("\r\n", "\n"), re.S)
    assert match, name
    return match.group(0)


def test_the_export_functions_mask_and_filter(tree: Tree) -> None:
    logs = _function(tree, "Export-EventLog")
    assert "Get-EventQuery" in logs and logs.count("/q:") == 2 and "ConvertTo-MaskedText $run.Output" in logs
    registry = _function(tree, "Export-RegistryKeys")
    assert "Remove-RegistryValueLines" in registry and "ConvertTo-MaskedText" in registry
    mof = _function(tree, "Copy-AutorecoverMof")
    assert "ConvertTo-MaskedText" in mof and "File]::Copy" not in mof
    assert "-CoverKey" not in _function(tree, "Export-ServiceKeys")
    assert re.search(r"\$DroppedRegistryValues = @\('Environment'\)", tree.source)


def test_the_pure_functions_form_one_block_with_the_secret_forms(script: str) -> None:
    block = script.split("# BEGIN PURE FUNCTIONS", 1)[1].split("# END PURE FUNCTIONS", 1)[0]
    assert "# BEGIN SECRET FORMS" in block
    for name in (
        "ConvertTo-MaskedText",
        "ConvertTo-SafeText",
        "Get-EventQuery",
        "Remove-RegistryValueLines",
        "ConvertTo-RegLine",
    ):
        assert f"function {name} " in block
        assert script.count(f"function {name} ") == 1
    # pure: nothing in the block reads or writes the host
    assert not re.search(r"(?i)Get-Item|Test-Path|Invoke-|Get-Cim|\[System\.IO\.File\]|Registry::", block)
