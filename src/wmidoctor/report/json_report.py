"""The report as JSON, in the shape src/wmidoctor/schemas/report.schema.json describes."""

from __future__ import annotations

from wmidoctor.output import dumps_json
from wmidoctor.report.model import Report


def render_json(report: Report) -> str:
    return dumps_json(report.to_data())
