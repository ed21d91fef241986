"""The schemas of the --json documents, as tests load them: from the installed package, each checked to be
a valid draft 2020-12 schema first."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema


def load_schema(name: str) -> dict:
    """schemas/NAME.schema.json, checked to be a valid schema."""
    schema = json.loads(resources.files("wmidoctor.schemas").joinpath(f"{name}.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema
