"""The catalogue of the MOF lint rules as Markdown (docs/mof-rules.md is its output), from rules.tsv.

Regenerate after changing a rule:  python -m wmidoctor.moflint.catalogue > docs/mof-rules.md
"""

from __future__ import annotations

from wmidoctor.moflint.rules import RULES

REGENERATE = "python -m wmidoctor.moflint.catalogue > docs/mof-rules.md"


def render() -> str:
    lines = [
        "# MOF lint rules",
        "",
        f"<!-- Generated from moflint/rules.tsv: do not edit. Regenerate with `{REGENERATE}`. -->",
        "",
        "`wmidoctor mof lint` reports these findings; `--json` carries the rule id of each.",
        "",
        "| Rule | Severity | Finding | What it means |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{r.id}` | {r.severity} | {r.short} | {r.help.replace('|', chr(92) + '|')} |" for r in RULES.values()]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
