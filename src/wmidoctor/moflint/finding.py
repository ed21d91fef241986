"""Making a finding for a rule at a position in a document."""

from __future__ import annotations

from wmidoctor.artifacts.mof import MofDocument, Position
from wmidoctor.moflint.rules import RULES, LintFinding


def finding(rule_id: str, document: MofDocument, position: Position, message: str) -> LintFinding:
    return LintFinding(rule_id, RULES[rule_id].severity, message, document.path, position.line, position.column)
