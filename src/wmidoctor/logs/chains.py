"""The `logs` view of WMI event subscriptions as text: the chains the logs describe, as the security.subscriptions
finding of `diagnose` carries them in its items (judged once, by the checks)."""

from __future__ import annotations

import textwrap
from typing import Any


def render_text(rows: list[dict[str, Any]], style: Any) -> list[str]:
    """The chains as text: filter, consumer type and name, payload in full, user, and every source with times."""
    if not rows:
        return []
    lines = ["", style(f"WMI event subscriptions ({len(rows)})", bold=True)]
    for row in rows:
        mark = row["verdict"].upper()
        colour = {"error": "red", "warning": "yellow"}.get(row["severity"])
        lines.append(
            "  "
            + (style(mark, fg=colour, bold=True) if colour else mark)
            + f'  {row["consumer_class"] or "consumer"} "{row["consumer"]}" [{row["state"]}]'
            + (f"  ({row['allow_listed']})" if row["allow_listed"] else "")
        )
        pairs = [
            ("namespace", row["namespace"]),
            ("filter", row["filter"]),
            ("query", row["query"]),
            ("user", row["creator"]),
            ("payload", textwrap.dedent(row["payload"].expandtabs(4)).strip("\n")),
            ("why", "; ".join(r["reason"] for r in row["reasons"])),
            ("ATT&CK", ", ".join(row["attack"])),
        ]
        pairs += [(kind, ", ".join(values)) for kind, values in row["indicators"].items() if kind != "decoded"]
        pairs += [("decoded", value) for value in row["indicators"].get("decoded", [])]
        for name, value in pairs:
            if value:
                text_lines = str(value).splitlines() or [""]
                lines.append(f"      {name + ':':<10} {text_lines[0]}")
                lines += [f"      {'':<10} {line}" for line in text_lines[1:]]
        for seen in row["seen"]:
            when = f" at {seen['time']}" if seen["time"] else ""
            by = f" by {seen['user']}" if seen["user"] else ""
            lines.append(f"      {'seen:':<10} {seen['source']}: {seen['part']} {seen['operation']}{when}{by}")
        for run in row["runs"]:
            lines.append(f"      {'ran:':<10} {run['time']} {run['image']} as {run['user'] or '?'}")
    return lines
