"""docs/mof-rules.md is what moflint/rules.tsv generates, and lists every rule with its severity."""

from __future__ import annotations

from pathlib import Path

from wmidoctor.moflint.catalogue import REGENERATE, render
from wmidoctor.moflint.rules import RULES

DOCS = Path(__file__).resolve().parents[3] / "docs" / "mof-rules.md"


def test_docs_mof_rules_md_is_what_the_rules_generate() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(), f"docs/mof-rules.md is stale: run `{REGENERATE}`"


def test_every_rule_is_listed_once_with_its_severity() -> None:
    text = render()
    for rule in RULES.values():
        (row,) = [line for line in text.splitlines() if line.startswith(f"| `{rule.id}` |")]
        assert f"| {rule.severity} |" in row
