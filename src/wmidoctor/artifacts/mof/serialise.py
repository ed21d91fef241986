"""The parsed model as plain JSON-ready data (for `wmidoctor mof parse --json`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from wmidoctor.artifacts.mof.model import AliasRef, MofDocument, Position


def to_data(value: Any) -> Any:
    """Dataclasses become dicts tagged with their kind; positions become "line:col"."""
    if isinstance(value, Position):
        return str(value)
    if isinstance(value, AliasRef):
        return {"alias": value.name, "position": str(value.position)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {"kind": type(value).__name__}
        data.update({f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)})
        return data
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    return value


def document_to_data(document: MofDocument) -> dict[str, Any]:
    return {
        "path": document.path,
        "encoding": document.encoding,
        "parsed": document.ok,
        "statements": to_data(document.statements),
        "diagnostics": to_data(document.diagnostics),
    }
