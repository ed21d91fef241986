"""`mof lint --json` and `mof parse --json` name their schemas (wmidoctor.mof-lint/1, wmidoctor.mof-parse/1)
and validate against them on real MOF files of the corpus, files that do not parse included."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from tests.schemas.documents import load_schema

FILES = ["kingsland.mofparser/MyServer.mof", "kingsland.mofparser/WinXpProSp3CIMV2.mof", "pywbem/parse_error01.mof"]


def _schema(name: str) -> dict:
    schema = load_schema(f"{name}")
    return schema


def _document(cli, *arguments: str) -> dict:
    result = cli("mof", *arguments, "--json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


@pytest.mark.corpus
@pytest.mark.parametrize("name", FILES)
def test_lint_and_parse_documents_validate(cli, corpus: Path, name: str) -> None:
    path = str(corpus / "mof" / name)
    lint = _document(cli, "lint", path)
    assert lint["schema"] == "wmidoctor.mof-lint/1"
    jsonschema.validate(lint, _schema("mof-lint"), cls=jsonschema.Draft202012Validator)
    parsed = _document(cli, "parse", path)
    assert parsed["schema"] == "wmidoctor.mof-parse/1"
    jsonschema.validate(parsed, _schema("mof-parse"), cls=jsonschema.Draft202012Validator)
    if name.startswith("pywbem/parse_error"):
        assert not parsed["parsed"] and parsed["diagnostics"]


@pytest.mark.corpus
def test_a_lint_of_many_files_validates_and_a_bad_severity_is_rejected(cli, corpus: Path) -> None:
    lint = _document(cli, "lint", *(str(corpus / "mof" / name) for name in FILES))
    schema = _schema("mof-lint")
    jsonschema.validate(lint, schema, cls=jsonschema.Draft202012Validator)
    assert lint["findings"]
    lint["findings"][0]["severity"] = "fatal"
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(lint))
