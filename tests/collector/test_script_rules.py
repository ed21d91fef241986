"""Rules the collector script must keep, checked on its syntax tree (tree-sitter-powershell):
Windows PowerShell 5.1 language only, every WMI call bounded twice (its own -OperationTimeoutSec and the
runspace wrapper), external programs by full path through the bounded runner, JSON written deep enough
and as UTF-8, nothing that changes the host, no secret store read.

Each rule is a function returning the offending places, so the tests below can also show that a rule
catches a violation (a check that cannot fail proves nothing)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "collect" / "Collect-WmiDoctor.ps1"

CIM_COMMANDS = {
    "get-ciminstance",
    "invoke-cimmethod",
    "remove-ciminstance",
    "set-ciminstance",
    "new-ciminstance",
    "get-cimassociatedinstance",
    "new-cimsession",
}
# Tokens of PowerShell 6/7 that Windows PowerShell 5.1 rejects or runs differently (checked in code only,
# never in strings or comments).
PS7_ONLY = {
    r"\?\?=?": "null-coalescing ?? / ??=",
    r"\?\.|\?\[": "null-conditional member access",
    r"(?i)-Parallel\b": "ForEach-Object -Parallel",
    r"(?i)-AsHashtable\b": "ConvertFrom-Json -AsHashtable",
    r"(?i)-EscapeHandling\b": "ConvertTo-Json -EscapeHandling",
    r"(?i)-AsByteStream\b": "-AsByteStream (5.1 has -Encoding Byte)",
    r"(?i)\butf8(No)?BOM\b": "utf8BOM/utf8NoBOM encodings",
    r"(?i)-AdditionalChildPath\b": "Join-Path -AdditionalChildPath",
    r"(?i)-SkipCertificateCheck\b": "-SkipCertificateCheck",
    r"(?i)\bGet-Error\b|\bTest-Json\b|\bStart-ThreadJob\b|\bGet-Uptime\b": "cmdlets added after 5.1",
    r"(?i)\$(IsWindows|IsLinux|IsMacOS|IsCoreCLR|PSStyle)\b": "automatic variables added after 5.1",
    r"(?i)^\s*clean\s*\{": "clean block",
}
# Commands that change the host. Remove-CimInstance is allowed only to remove the collector's own shadow
# copy; Remove-Item only for the collector's own scratch files and partial zip.
HOST_CHANGING = {
    "set-itemproperty",
    "new-itemproperty",
    "remove-itemproperty",
    "rename-itemproperty",
    "set-service",
    "start-service",
    "stop-service",
    "restart-service",
    "suspend-service",
    "set-ciminstance",
    "new-ciminstance",
    "invoke-wmimethod",
    "set-wmiinstance",
    "remove-wmiobject",
    "register-wmievent",
    "register-cimindicationevent",
    "set-acl",
    "set-executionpolicy",
    "stop-process",
    "clear-eventlog",
    "limit-eventlog",
    "set-content",
    "add-content",
    "out-file",
    "set-item",
    "new-psdrive",
    "compress-archive",
}
DANGEROUS_TEXT = {
    r"(?i)/salvagerepository|/resetrepository|/backup\b|/restore\b|/resyncperf|/clearadap|/regserver": "winmgmt repair",
    r"(?i)\breg(\.exe)?['\"]?\s*,?\s*['\"]?(add|delete|import|save|restore|load|unload|copy)\b": "reg.exe writes",
    r"(?i)HKLM\\+(SAM|SECURITY)\b|HKEY_LOCAL_MACHINE\\+(SAM|SECURITY)\b": "SAM or SECURITY hive",
    r"(?i)\bmofcomp\b|\bregsvr32\b|\bvssadmin\s+create\b|\bsc(\.exe)?\s+(config|stop|start|sdset|delete)\b": "changes",
    r"(?i)\benv:\\?\s*[\)\|]|GetEnvironmentVariables|Get-ChildItem\s+env:|\bdir\s+env:": "environment dump",
}
NATIVE_TOOLS = {"sc", "reg", "wevtutil", "netsh", "winmgmt", "cmd", "vssadmin", "wmic", "mofcomp", "bcdedit"}


@dataclass
class Command:
    name: str  # lower case
    node: object
    line: int
    text: str

    def parameters(self) -> set[str]:
        elements = next((c for c in self.node.children if c.type == "command_elements"), None)  # type: ignore[attr-defined]
        if elements is None:
            return set()
        return {c.text.decode().lower() for c in elements.children if c.type == "command_parameter"}


def _parser():
    import tree_sitter
    import tree_sitter_powershell

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


class Tree:
    def __init__(self, source: str) -> None:
        self.source = source
        self.root = _parser().parse(source.encode("utf-8")).root_node

    def nodes(self) -> Iterator[object]:
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def commands(self) -> list[Command]:
        found = []
        for node in self.nodes():
            if node.type != "command":  # type: ignore[attr-defined]
                continue
            name = next((c for c in node.children if c.type in ("command_name", "command_name_expr")), None)  # type: ignore[attr-defined]
            if name is None:
                continue
            found.append(Command(name.text.decode().lower(), node, node.start_point[0] + 1, node.text.decode()))  # type: ignore[attr-defined]
        return found

    def code_lines(self) -> list[tuple[int, str]]:
        """The source with comments and string literals blanked (so rules see code only), by line."""
        chars = list(self.source.encode("utf-8"))
        for node in self.nodes():
            if node.type in ("comment", "string_literal"):  # type: ignore[attr-defined]
                for i in range(node.start_byte, node.end_byte):  # type: ignore[attr-defined]
                    if chars[i] not in (10, 13):
                        chars[i] = 32
        text = bytes(chars).decode("utf-8")
        return list(enumerate(text.split("\n"), start=1))


def _enclosing_script_blocks(node) -> Iterator[object]:
    parent = node.parent
    while parent is not None:
        if parent.type == "script_block_expression":
            yield parent
        parent = parent.parent


def _bounded_blocks(tree: Tree) -> set[tuple[int, int]]:
    """Script blocks run by Invoke-Bounded: passed to it literally, or assigned to a variable passed to it."""
    passed_variables: set[str] = set()
    blocks: set[tuple[int, int]] = set()
    for command in tree.commands():
        if command.name != "invoke-bounded":
            continue
        for node in _descendants(command.node):
            if node.type == "script_block_expression":
                blocks.add((node.start_byte, node.end_byte))
            elif node.type == "variable":
                passed_variables.add(node.text.decode().lower())
    for node in tree.nodes():
        if node.type != "assignment_expression":  # type: ignore[attr-defined]
            continue
        target = node.children[0].text.decode().lower()  # type: ignore[attr-defined]
        if target in passed_variables:
            blocks |= {(n.start_byte, n.end_byte) for n in _descendants(node) if n.type == "script_block_expression"}
    return blocks


def _descendants(node) -> Iterator[object]:
    stack = list(node.children)
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


# --- the rules -----------------------------------------------------------------------------------


def ps7_only_syntax(tree: Tree) -> list[str]:
    found = [
        f"line {n.start_point[0] + 1}: pipeline chain && / ||" for n in tree.nodes() if n.type == "pipeline_chain_tail"
    ]  # type: ignore[attr-defined]
    found += [
        f"line {n.start_point[0] + 1}: does not parse (ternary ? : and other PowerShell 7 syntax do not)"
        for n in tree.nodes()
        if n.type == "ERROR" or n.is_missing
    ]  # type: ignore[attr-defined]
    for number, line in tree.code_lines():
        found += [f"line {number}: {why}" for pattern, why in PS7_ONLY.items() if re.search(pattern, line)]
    for command in tree.commands():
        if command.name == "join-path":
            elements = next(c for c in command.node.children if c.type == "command_elements")  # type: ignore[attr-defined]
            positional = [c for c in elements.children if c.type not in ("command_argument_sep", "command_parameter")]
            if len(positional) > 2:
                found.append(f"line {command.line}: Join-Path with more than two paths")
        if command.name == "foreach-object" and "-parallel" in command.parameters():
            found.append(f"line {command.line}: ForEach-Object -Parallel")
    return found


def unbounded_wmi_calls(tree: Tree) -> list[str]:
    bounded = _bounded_blocks(tree)
    found = []
    for command in tree.commands():
        if command.name not in CIM_COMMANDS:
            continue
        if "-operationtimeoutsec" not in command.parameters():
            found.append(f"line {command.line}: {command.name} without -OperationTimeoutSec")
        blocks = {(b.start_byte, b.end_byte) for b in _enclosing_script_blocks(command.node)}  # type: ignore[attr-defined]
        if not blocks & bounded:
            found.append(f"line {command.line}: {command.name} not run through Invoke-Bounded")
    found += [
        f"line {c.line}: {c.name} (use the CIM cmdlets, bounded)"
        for c in tree.commands()
        if c.name in ("get-wmiobject", "gwmi", "invoke-wmimethod", "wmic", "wmic.exe")
    ]
    return found


def json_without_depth(tree: Tree) -> list[str]:
    return [
        f"line {c.line}: ConvertTo-Json without -Depth (5.1 cuts at depth 2 silently)"
        for c in tree.commands()
        if c.name == "convertto-json" and "-depth" not in c.parameters()
    ]


def host_changes(tree: Tree) -> list[str]:
    found = [f"line {c.line}: {c.name}" for c in tree.commands() if c.name in HOST_CHANGING]
    for command in tree.commands():
        if command.name == "remove-ciminstance" and "shadow" not in _enclosing_assignment(command.node).lower():
            found.append(f"line {command.line}: Remove-CimInstance outside the shadow copy cleanup")
        if command.name == "remove-item" and not re.search(r"(?i)\$(part|scratch|OutputPath)\b", command.text):
            found.append(f"line {command.line}: Remove-Item of something the collector did not write")
    source_lines = tree.source.split("\n")
    for number, _ in tree.code_lines():
        line = source_lines[number - 1]
        found += [f"line {number}: {why}" for pattern, why in DANGEROUS_TEXT.items() if re.search(pattern, line)]
    return found


def _enclosing_assignment(node) -> str:
    parent = node.parent
    while parent is not None and parent.type != "assignment_expression":
        parent = parent.parent
    return parent.children[0].text.decode() if parent is not None else ""


def native_programs_unbounded(tree: Tree) -> list[str]:
    """External programs run only through Invoke-Native (time limit, output captured), by full path: a bare
    `sc` is PowerShell's alias of Set-Content, and a bare name is looked up in the current folder first."""
    found = []
    for command in tree.commands():
        bare = command.name.removesuffix(".exe")
        if bare in NATIVE_TOOLS or command.name.endswith(".exe"):
            found.append(f"line {command.line}: {command.name} run directly")
        if command.name in ("save-commandoutput", "invoke-native"):
            program = re.search(r"""['"]((?:sc|reg|wevtutil|netsh|winmgmt|cmd)(?:\.exe)?)['"]""", command.text, re.I)
            if program and "Get-SystemProgram" not in command.text and "Join-Path" not in command.text:
                found.append(f"line {command.line}: {program.group(1)} without a full path")
        if command.name in ("start-process", "start-job", "invoke-expression", "iex"):
            found.append(f"line {command.line}: {command.name} (not bounded; use Invoke-Native)")
    return found


def text_written_without_encoding(tree: Tree) -> list[str]:
    """Files are written by .NET with an explicit encoding (UTF-8 without BOM for what the loader reads as
    text or JSON, UTF-16 LE for .reg): 5.1's cmdlets default to UTF-16 (Out-File) or ANSI (Set-Content)."""
    found = []
    for number, line in tree.code_lines():
        for match in re.finditer(r"::(WriteAllText|WriteAllLines|AppendAllText)\(", line):
            if line.count(",", match.end()) < 2:
                found.append(f"line {number}: {match.group(1)} without an encoding")
    writers = ("out-file", "set-content", "add-content", "export-csv", "tee-object")
    found += [f"line {c.line}: {c.name}" for c in tree.commands() if c.name in writers]
    found += [
        f"line {number}: redirection > writes UTF-16 in 5.1"
        for number, line in tree.code_lines()
        if re.search(r"(?<![-<])\s[0-9*]?>>?\s*[^&\s=]", line) and "-gt" not in line
    ]
    return found


RULES = (
    ps7_only_syntax,
    unbounded_wmi_calls,
    json_without_depth,
    host_changes,
    native_programs_unbounded,
    text_written_without_encoding,
)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_the_script_keeps_the_rule(tree: Tree, rule) -> None:
    assert rule(tree) == []


def test_the_script_has_wmi_calls_to_check(tree: Tree) -> None:
    names = {c.name for c in tree.commands()}
    assert {"get-ciminstance", "invoke-cimmethod", "invoke-bounded", "invoke-native", "convertto-json"} <= names


VIOLATIONS = {
    ps7_only_syntax: [
        "$a = $b ? 1 : 2",
        "$a = $b ?? 'x'",
        "Get-Thing && Get-Other",
        "$x = $y?.Name",
        "1..3 | ForEach-Object -Parallel { $_ }",
        "$h = '{}' | ConvertFrom-Json -AsHashtable",
        "Join-Path 'C:' 'Windows' 'System32'",
        "'x' | Out-File -Encoding utf8NoBOM a.txt",
        "if ($IsWindows) { 1 }",
    ],
    unbounded_wmi_calls: [
        "Get-CimInstance -ClassName Win32_OperatingSystem -OperationTimeoutSec 5",
        "$q = { Get-CimInstance -ClassName Win32_OperatingSystem }\nInvoke-Bounded -ScriptBlock $q",
        "Get-WmiObject Win32_OperatingSystem",
    ],
    json_without_depth: ["$x | ConvertTo-Json"],
    host_changes: [
        "Set-ItemProperty -Path HKLM:\\SOFTWARE\\X -Name Y -Value 1",
        "Start-Service Winmgmt",
        "Invoke-Native 'winmgmt.exe' '/salvagerepository'",
        "Invoke-Native $reg 'save HKLM\\SAM sam.hiv'",
        "Remove-Item -LiteralPath C:\\Windows\\System32\\wbem\\Repository -Recurse",
        "Get-ChildItem env: | Out-Null",
    ],
    native_programs_unbounded: [
        "sc qc winmgmt",
        "& wevtutil.exe epl System x.evtx",
        "Save-CommandOutput 'ScQcWinmgmt' 'sc.exe' 'qc Winmgmt'",
        "Start-Process netsh -Wait",
    ],
    text_written_without_encoding: [
        "[System.IO.File]::WriteAllText($path, $text)",
        "$text | Out-File $path",
        "$text > $path",
    ],
}


@pytest.mark.parametrize(
    "rule,snippet",
    [(r, s) for r, snippets in VIOLATIONS.items() for s in snippets],
    ids=lambda v: v.__name__ if callable(v) else v[:40],
)
def test_each_rule_catches_a_violation(rule, snippet: str) -> None:
    assert rule(Tree(snippet)) != []


def test_the_rules_accept_what_the_script_does() -> None:
    fine = Tree(
        "$q = { param($n) Get-CimInstance -Namespace $n -ClassName X -OperationTimeoutSec 5 }\n"
        "Invoke-Bounded -ScriptBlock $q -ArgumentList @('root')\n"
        "Invoke-Bounded -ScriptBlock { Invoke-CimMethod -ClassName X -MethodName Y -OperationTimeoutSec 5 }\n"
        "$json = ConvertTo-Json -InputObject $x -Depth 10\n"
        "[System.IO.File]::WriteAllText($p, $json, $utf8)\n"
        "Save-CommandOutput 'ScQcWinmgmt' (Get-SystemProgram 'sc.exe') 'qc Winmgmt 8192'\n"
        "if ($a -gt 1) { Remove-Item -LiteralPath $part -Force }\n"
        "# a comment may say ?? or && or Out-File\n"
        "$s = 'a string may say ?. or -Parallel'\n"
    )
    for rule in RULES:
        assert rule(fine) == [], rule.__name__
