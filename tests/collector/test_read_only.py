"""The collector never changes the host it runs on (issue 22), checked on the script's syntax tree: the service
state is read from the Service Control Manager before anything that would start WMI, `winmgmt
/verifyrepository` runs only when Winmgmt already runs, a stopped Winmgmt's repository is copied directly
(no WMI, no shadow copy), a repository copy becomes `repository/` only when whole, and one hung WMI call stops
the later WMI steps. Each rule is also shown catching a violation."""

from __future__ import annotations

import re

import pytest
from tests.collector.test_script_rules import Tree


def _enclosing_if_conditions(node) -> list[str]:
    conditions = []
    parent = node.parent
    while parent is not None:
        if parent.type in ("if_statement", "else_clause", "elseif_clause"):
            conditions.append(parent.text.decode().split("{", 1)[0])
        parent = parent.parent
    return conditions


def verify_without_running_service(tree: Tree) -> list[str]:
    """`/verifyrepository` only inside an `if` on the Winmgmt state being Running, read before it."""
    found = []
    state_line = next((c.line for c in tree.commands() if c.name == "get-servicestate" and "Winmgmt" in c.text), None)
    for command in tree.commands():
        if "/verifyrepository" not in command.text.lower() or command.name == "write-warning":
            continue
        conditions = _enclosing_if_conditions(command.node)
        if not any("Running" in text and "-eq" in text for text in conditions):
            found.append(f"line {command.line}: winmgmt /verifyrepository without checking that Winmgmt runs")
        if state_line is None or state_line > command.line:
            found.append(f"line {command.line}: winmgmt /verifyrepository before the service state is read")
    return found


def class_names_from_cimclass(tree: Tree) -> list[str]:
    return [
        f"line {n}: CimClass.CimClassName (empty on references read back; use CimSystemProperties.ClassName)"
        for n, line in tree.code_lines()
        if re.search(r"CimClass\.CimClassName", line)
    ]


def repository_copied_in_place(tree: Tree) -> list[str]:
    """The repository copy is written to a partial folder and renamed when whole; nothing copies into
    repository/ directly."""
    found = []
    for command in tree.commands():
        if command.name == "get-artifactpath" and "RepositoryCopy" in command.text:
            function = command.node
            while function is not None and function.type != "function_statement":
                function = function.parent
            body = function.text.decode() if function is not None else ""
            if ".partial" not in body or "Directory]::Move" not in body:
                found.append(f"line {command.line}: the repository copy is not written to a partial folder first")
    return found


def wmi_calls_unbounded_in_time(tree: Tree) -> list[str]:
    found = []
    limit = re.search(r"\$MaxWmiCallSeconds\s*=\s*(\d+)", tree.source)
    if limit is None or int(limit.group(1)) > 60:
        found.append("no per-call WMI time limit of 60 s or less ($MaxWmiCallSeconds)")
    if "$script:WmiHung" not in tree.source:
        found.append("no breaker: a hung WMI call does not stop the later WMI steps")
    return found


def _plan(tree: Tree) -> str:
    match = re.search(r"\$CommandPlan = @\((.*?)\n\)", tree.source, re.S)
    return match.group(1) if match else ""


def commands_missing_from_the_plan(tree: Tree) -> list[str]:
    """Every program the script starts and every WMI class it queries is in $CommandPlan (what -WhatIf lists)."""
    plan = _plan(tree).lower()
    found = []
    for number, line in enumerate(tree.source.split("\n"), start=1):
        if line.lstrip().startswith("@(") or line.lstrip().startswith("#"):
            continue
        for program in re.findall(r"(?:Get-SystemProgram|Get-WbemFolder\)) '([\w.]+\.exe)'", line):
            if program.lower() not in plan:
                found.append(f"line {number}: {program} is run but not listed in $CommandPlan")
        for wmi_class in re.findall(r"(?:Get-Instances \S+|-ClassName) '?(\w+)'?", line):
            if wmi_class.lower() not in plan:
                found.append(f"line {number}: WMI class {wmi_class} is queried but not listed in $CommandPlan")
    if not plan:
        found.append("no $CommandPlan")
    return found


def _first_line(tree: Tree, pattern: str) -> int:
    return next((n for n, line in tree.code_lines() if re.search(pattern, line)), 10**9)


def preflight_after_work_starts(tree: Tree) -> list[str]:
    """-Check and -WhatIf end the script before the output folder is created or any step runs."""
    first_write = min(
        _first_line(tree, r"CreateDirectory\(\$OutputPath\)"),
        _first_line(tree, r"^(Export-|Save-|Invoke-WmiTraceMode)"),
    )
    found = []
    for switch in (r"^if \(\$Check\)", r"^if \(\$WhatIfPreference\)"):
        line = _first_line(tree, switch)
        if line > first_write:
            found.append(f"{switch}: not handled before line {first_write}, where the collection starts")
    return found


def firewall_read_while_its_service_is_stopped(tree: Tree) -> list[str]:
    """netsh advfirewall runs only when the firewall service runs (else it shows no rules, which would read as
    a firewall without rules)."""
    found = []
    for command in tree.commands():
        if "advfirewall" not in command.text or command.name == "write-output":
            continue
        conditions = _enclosing_if_conditions(command.node)
        if not any("MpsSvc" in text or "$FirewallState -eq 'Running'" in text for text in conditions):
            found.append(f"line {command.line}: netsh advfirewall without checking the firewall service")
    return found


RULES = (
    verify_without_running_service,
    class_names_from_cimclass,
    repository_copied_in_place,
    wmi_calls_unbounded_in_time,
    commands_missing_from_the_plan,
    preflight_after_work_starts,
    firewall_read_while_its_service_is_stopped,
)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_the_script_keeps_the_rule(tree: Tree, rule) -> None:
    assert rule(tree) == []


VIOLATIONS = {
    verify_without_running_service: [
        "Save-CommandOutput 'VerifyRepository' $winmgmt '/verifyrepository'\n"
        "$WinmgmtState = Get-ServiceState 'Winmgmt'",
        "$WinmgmtState = Get-ServiceState 'Winmgmt'\nif ($ShadowCopy) { Save-CommandOutput 'VerifyRepository' $w "
        "'/verifyrepository' }",
    ],
    class_names_from_cimclass: ["$name = $binding.Filter.CimClass.CimClassName"],
    repository_copied_in_place: [
        "function Copy-It {\n  $target = Get-ArtifactPath 'RepositoryCopy'\n  Copy-Item $source $target\n}"
    ],
    wmi_calls_unbounded_in_time: ["$MaxWmiCallSeconds = 600\n$script:WmiHung = ''"],
    commands_missing_from_the_plan: [
        "$CommandPlan = @(\n    @('x', 'netsh.exe', 'reads')\n)\n"
        "$r = Invoke-Native (Get-SystemProgram 'bcdedit.exe') '/enum'",
        "$CommandPlan = @(\n    @('x', 'Win32_Service', 'reads')\n)\n$x = Get-Instances 'root\\cimv2' 'Win32_Process'",
    ],
    preflight_after_work_starts: [
        "[void][System.IO.Directory]::CreateDirectory($OutputPath)\n"
        "if ($Check) { exit 0 }\nif ($WhatIfPreference) { exit 0 }"
    ],
    firewall_read_while_its_service_is_stopped: [
        "Save-CommandOutput 'FirewallRules' (Get-SystemProgram 'netsh.exe') 'advfirewall firewall show rule name=all'"
    ],
}


@pytest.mark.parametrize(
    "rule,snippet",
    [(r, s) for r, snippets in VIOLATIONS.items() for s in snippets],
    ids=lambda v: v.__name__ if callable(v) else v[:40],
)
def test_each_rule_catches_a_violation(rule, snippet: str) -> None:
    assert rule(Tree(snippet)) != []


def test_a_restricted_language_session_is_refused_before_anything_runs(tree: Tree) -> None:
    """The language-mode check is the first statement after the parameters: in ConstrainedLanguage the .NET
    calls of the script fail with cryptic errors, so it stops at once with one line and exit code 2."""
    code = tree.source.split("\nparam(", 1)[1].split("\n)\n", 1)[1].lstrip()
    assert code.startswith("if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage')")
    assert "exit 2" in code.split("}", 1)[0]
