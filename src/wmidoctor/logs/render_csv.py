"""The `logs` report as CSV: one row per event group, with its key fields flattened into one column."""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = ("channel", "provider", "event_id", "kind", "count", "first_seen", "last_seen", "key", "source")


def render_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for group in report["groups"]:
        key = "; ".join(f"{k}={v}" for k, v in group["key"].items())
        writer.writerow([group["channel"], group["provider"], group["event_id"], group["kind"], group["count"],
                         group["first_seen"], group["last_seen"], key, group["source"]])
    return out.getvalue()
