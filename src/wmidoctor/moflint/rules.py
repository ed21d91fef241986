"""The lint rules: stable ids, default severity, and the one-line and longer explanations that the
text, JSON and SARIF outputs share. The rules themselves are data, in rules.tsv beside this module."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str  # error | warning | info
    short: str
    help: str


@dataclass(frozen=True)
class LintFinding:
    rule: str
    severity: str
    message: str
    path: str
    line: int
    column: int
    source_line: str = ""
    caret: str = ""  # the source line with a caret under the column, for syntax errors

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule)


SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

RULES_FILE = Path(__file__).with_name("rules.tsv")


def _load_rules() -> dict[str, Rule]:
    """rules.tsv: a header line, then one rule a line (id, severity, short, help), tab-separated."""
    lines = RULES_FILE.read_text(encoding="utf-8").splitlines()
    fields = lines[0].split("\t")
    rules = [Rule(**dict(zip(fields, line.split("\t"), strict=True))) for line in lines[1:] if line]
    return {rule.id: rule for rule in rules}


RULES: dict[str, Rule] = _load_rules()
