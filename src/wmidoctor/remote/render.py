"""Probe results as text (one line per stage, then the verdict), JSON, or a fleet table / CSV."""

from __future__ import annotations

from wmidoctor.output import csv_table, cut_table
from wmidoctor.remote.model import FAILED, OK, ProbeResult, code_label

MARKS = {"ok": "ok", "failed": "FAILED", "skipped": "skipped", "not_reached": "not reached"}


def probe_text(results: list[ProbeResult]) -> str:
    lines: list[str] = []
    for result in results:
        lines.append(f"{result.target} over {result.transport.upper()}")
        for stage in result.stages:
            timing = f"{stage.elapsed_ms:8.1f} ms" if stage.status in (OK, FAILED) else " " * 11
            code = f" [0x{stage.code:08X}]" if stage.code is not None and stage.status == FAILED else ""
            lines.append(f"  {stage.name:<16} {MARKS[stage.status]:<12}{timing}  {stage.detail}{code}".rstrip())
        verdict = result.verdict
        if result.error:
            lines.append(f"  error: the probe itself failed on this host: {result.error}")
        elif verdict is None:
            lines.append("  verdict: every stage passed")
        else:
            code = f"{verdict.code_hex} {verdict.symbol}".strip()
            lines.append(f"  verdict: {verdict.stage} failed ({verdict.layer} layer){': ' + code if code else ''}")
            if verdict.meaning:
                lines.append(f"    meaning: {verdict.meaning}")
            lines.append(f"    cause:   {verdict.cause}")
            if verdict.proof:
                lines.append(f"    proved:  {verdict.proof}")
            lines.append(f"    fix on the {verdict.where}:")
            for fix in verdict.fixes:
                lines.append(f"      - {fix.step}")
                if fix.command:
                    lines.append(f"          {fix.command}")
            if verdict.code is not None:
                lines.append(f"    more: wmidoctor explain {verdict.code_hex}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def outcome(result: ProbeResult) -> tuple[str, str, str]:
    """(status, failing stage, code) of one transport, for tables and summaries."""
    if result.error:
        return "error", "", ""
    failing = result.failing_stage
    if failing is None:
        return "ok", "", ""
    return "failed", failing.name, code_label(failing.code, failing.reason)


FLEET_COLUMNS = ("host", "transport", "status", "failing_stage", "code", "cause", "elapsed_ms")
SUMMARY_COLUMNS = ("transport", "status", "failing_stage", "code", "hosts")


def fleet_rows(results: list[ProbeResult]) -> list[dict[str, str]]:
    rows = []
    for result in results:
        status, stage, code = outcome(result)
        rows.append(
            {
                "host": result.target,
                "transport": result.transport,
                "status": status,
                "failing_stage": stage,
                "code": code,
                "cause": result.error or (result.verdict.cause if result.verdict else ""),
                "elapsed_ms": f"{result.elapsed_ms:.1f}",
            }
        )
    return rows


def summary_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Hosts counted by transport, failing stage and code, largest group first."""
    counts: dict[tuple[str, str, str, str], int] = {}
    for row in rows:
        key = (row["transport"], row["status"], row["failing_stage"], row["code"])
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [
        {"transport": t, "status": s, "failing_stage": st, "code": c, "hosts": str(n)} for (t, s, st, c), n in ordered
    ]


def table(rows: list[dict[str, str]], columns: tuple[str, ...], widths: dict[str, int] | None = None) -> str:
    caps = [(widths or {}).get(c, 60) for c in columns]
    return "\n".join(cut_table(columns, ([row.get(c, "") for c in columns] for row in rows), caps)) + "\n"


def fleet_text(rows: list[dict[str, str]], summary: list[dict[str, str]]) -> str:
    """The fleet table for a terminal: one row per host and transport, then the hosts per failure."""
    return (
        table(rows, FLEET_COLUMNS, {"cause": 70})
        + "\nsummary by failing stage and code\n"
        + table(summary, SUMMARY_COLUMNS)
    )


def csv_text(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    return csv_table(columns, ([row.get(column, "") for column in columns] for row in rows))
