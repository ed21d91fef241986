"""Lint results as text (one `file:line:col: RULE-ID severity message` line each), JSON and SARIF 2.1.0.

JSON shape (version 1):
    {"version": 1, "tool": "wmidoctor <version>",
     "files": [{"path", "encoding", "parsed", "autorecover", "namespaces", "classes", "providers"}],
     "findings": [{"rule", "severity", "message", "path", "line", "column", "source_line"}],
     "summary": {"files": n, "error": n, "warning": n, "info": n}}
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from wmidoctor import __version__
from wmidoctor.artifacts.mof import MofDocument
from wmidoctor.moflint.rules import RULES, LintFinding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
INFORMATION_URI = "https://github.com/wmidoctor/wmidoctor"


def summary(documents: list[MofDocument], findings: list[LintFinding]) -> dict[str, int]:
    counts = Counter(f.severity for f in findings)
    return {"files": len(documents), "error": counts["error"], "warning": counts["warning"], "info": counts["info"]}


def render_text(documents: list[MofDocument], findings: list[LintFinding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{f.path}:{f.line}:{f.column}: {f.rule} {f.severity} {f.message}")
        if f.caret:
            lines.extend(f"    {part}" for part in f.caret.splitlines())
    counts = summary(documents, findings)
    lines.append(
        f"{counts['files']} file(s): {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['info']} note(s)"
    )
    return "\n".join(lines)


def render_json(documents: list[MofDocument], findings: list[LintFinding]) -> dict[str, Any]:
    return {
        "schema": "wmidoctor.mof-lint/1",  # schemas/mof-lint.schema.json
        "version": 1,
        "tool": f"wmidoctor {__version__}",
        "files": [{key: value for key, value in d.summary().items() if key != "diagnostics"} for d in documents],
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity,
                "message": f.message,
                "path": f.path,
                "line": f.line,
                "column": f.column,
                "source_line": f.source_line,
            }
            for f in findings
        ],
        "summary": summary(documents, findings),
    }


def render_sarif(documents: list[MofDocument], findings: list[LintFinding]) -> dict[str, Any]:
    """One SARIF 2.1.0 run: every rule described in tool.driver.rules, every finding a result."""
    rule_ids = list(RULES)
    rules = [
        {
            "id": rule.id,
            "name": rule.id.title().replace("-", ""),
            "shortDescription": {"text": rule.short},
            "fullDescription": {"text": rule.help},
            "help": {"text": rule.help},
            "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        }
        for rule in RULES.values()
    ]
    results = []
    for f in findings:
        region: dict[str, Any] = {"startLine": f.line, "startColumn": f.column}
        if f.source_line:
            region["snippet"] = {"text": f.source_line}
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": rule_ids.index(f.rule),
                "level": SARIF_LEVEL[f.severity],
                "message": {"text": f.message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(f.path)}, "region": region}}],
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "wmidoctor mof lint",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "artifacts": [{"location": {"uri": _uri(d.path)}, "encoding": d.encoding} for d in documents],
                "results": results,
            }
        ],
    }


def _uri(path: str) -> str:
    """A relative URI for a path inside the working folder (code scanning resolves it against the checkout),
    percent-encoded as URIs must be; a file: URI for anything else."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            return p.as_uri()
    return quote(p.as_posix())
