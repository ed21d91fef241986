"""Run every rule over a set of parsed MOF documents."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from wmidoctor.artifacts.mof import MofDocument
from wmidoctor.moflint import registration, structure
from wmidoctor.moflint.fileset import FileSet
from wmidoctor.moflint.rules import RULES, LintFinding

CHECKS: tuple[Callable[[FileSet], Iterable[LintFinding]], ...] = (
    registration.check_dynamic_classes,
    registration.check_registrations,
    registration.check_providers,
    structure.check_namespace_pragmas,
    structure.check_autorecover,
    structure.check_duplicates,
    structure.check_keys,
    structure.check_references,
    structure.check_flavors,
    structure.check_methods,
)


def reader_findings(document: MofDocument) -> Iterator[LintFinding]:
    """The parser's own diagnostics (syntax, preprocessor, encoding) as findings."""
    for d in document.diagnostics:
        rule = d.code if d.code in RULES else "MOF-SYNTAX"
        yield LintFinding(
            rule, d.severity, d.message, document.path, d.position.line, d.position.column, d.snippet()[0], d.excerpt()
        )


def lint_documents(documents: list[MofDocument]) -> list[LintFinding]:
    """Findings for the documents taken together (names resolve across them), sorted by place."""
    findings = [f for document in documents for f in reader_findings(document)]
    files = FileSet.build(documents)
    for check in CHECKS:
        findings.extend(check(files))
    unique = {(f.path, f.line, f.column, f.rule, f.message): f for f in findings}
    return sorted(unique.values(), key=LintFinding.sort_key)
