"""The `logs` report as CSV: one row per event group, with its key fields flattened into one column."""

from __future__ import annotations

from typing import Any

from wmidoctor.output import csv_table

COLUMNS = ("channel", "provider", "event_id", "kind", "count", "first_seen", "last_seen", "key", "source")


def render_csv(report: dict[str, Any]) -> str:
    return csv_table(
        COLUMNS,
        (
            [
                group["channel"],
                group["provider"],
                group["event_id"],
                group["kind"],
                group["count"],
                group["first_seen"],
                group["last_seen"],
                "; ".join(f"{k}={v}" for k, v in group["key"].items()),
                group["source"],
            ]
            for group in report["groups"]
        ),
    )
