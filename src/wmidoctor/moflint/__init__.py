"""`wmidoctor mof lint`: rules over parsed MOF files (registration, hosting, pragmas, names) and their
text, JSON and SARIF renderings. The parser lives in wmidoctor.artifacts.mof and judges nothing."""

from __future__ import annotations

from pathlib import Path

from wmidoctor.artifacts.mof import MofDocument, parse_file
from wmidoctor.moflint.engine import lint_documents
from wmidoctor.moflint.rules import RULES, SEVERITY_ORDER, LintFinding, Rule

__all__ = ["RULES", "LintFinding", "Rule", "exit_code", "lint_documents", "lint_paths"]


def lint_paths(paths: list[Path]) -> tuple[list[MofDocument], list[LintFinding]]:
    """Parse and lint the files together (names resolve across them). An unreadable file raises OSError."""
    documents = [parse_file(path) for path in paths]
    return documents, lint_documents(documents)


def exit_code(findings: list[LintFinding]) -> int:
    """0 when nothing is at warning or above, 1 otherwise."""
    return 1 if any(SEVERITY_ORDER[f.severity] <= SEVERITY_ORDER["warning"] for f in findings) else 0
