"""The catalogue of checks as Markdown, made from the check registry (docs/checks.md is its output).

Regenerate after adding or changing a check:  python -m wmidoctor.checks.catalogue > docs/checks.md
"""

from __future__ import annotations

from itertools import groupby

from wmidoctor.checks import CheckSpec, select

REGENERATE = "python -m wmidoctor.checks.catalogue > docs/checks.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _needs(spec: CheckSpec) -> str:
    parts = [f"`{name}`" for name in spec.needs]
    if spec.needs_any:
        parts.append("one of " + ", ".join(f"`{name}`" for name in spec.needs_any))
    return " and ".join(parts) or "nothing"


CATALOGUE_SCHEMA = "wmidoctor.checks/1"


def as_document() -> dict[str, object]:
    """Every registered check as data (`diagnose --list-checks --json`)."""
    return {
        "schema": CATALOGUE_SCHEMA,
        "checks": [
            {
                "id": spec.id,
                "title": spec.title,
                "group": spec.group,
                "severity": spec.severity,
                "needs": list(spec.needs),
                "needs_any": list(spec.needs_any),
            }
            for spec in select()
        ],
    }


def as_text() -> str:
    """One line per check, grouped: id, severity, title (`diagnose --list-checks`)."""
    specs = select()
    width = max(len(spec.id) for spec in specs)
    lines = []
    for group, members in groupby(specs, key=lambda spec: spec.group):
        lines.append(f"{group}:")
        lines += [f"  {spec.id.ljust(width)}  {spec.severity:<8} {spec.title}" for spec in members]
    lines.append(f"{len(specs)} checks; `diagnose --only GROUP` runs one group.")
    return "\n".join(lines)


def render() -> str:
    """Every registered check, grouped as `diagnose` lists them."""
    specs = select()
    lines = [
        "# Checks",
        "",
        f"<!-- Generated from the check registry: do not edit. Regenerate with `{REGENERATE}`. -->",
        "",
        f"`wmidoctor diagnose` runs these {len(specs)} checks (`--only GROUP` runs one group). Each check "
        "passes when the statement in its title holds; when it does not, the finding takes the severity "
        "shown (a check may lower it to a warning for a lesser form of the problem); an `info` check only "
        "reports. A check whose evidence was not "
        "collected is reported as skipped, with the reason. Evidence sections are the fields of "
        "`Evidence` (src/wmidoctor/evidence/model.py).",
        "",
    ]
    for group, members in groupby(specs, key=lambda spec: spec.group):
        lines += [f"## {group}", "", "| Check | What it judges | Severity | Evidence needed |", "|---|---|---|---|"]
        lines += [f"| `{spec.id}` | {_cell(spec.title)} | {spec.severity} | {_needs(spec)} |" for spec in members]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
