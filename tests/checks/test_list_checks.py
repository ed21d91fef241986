"""`wmidoctor diagnose --list-checks [--json]`: the check catalogue from the registry (the same source as
docs/checks.md), printed without reading any evidence."""

from __future__ import annotations

import json

from tests.schemas.documents import load_schema

from wmidoctor.checks import select


def test_the_text_list_names_every_check_once(cli) -> None:
    result = cli("diagnose", "--list-checks")
    assert result.returncode == 0, result.stdout
    specs = select()
    for spec in specs:
        assert sum(1 for line in result.stdout.splitlines() if line.split()[:1] == [spec.id]) == 1, spec.id
    assert f"{len(specs)} checks" in result.stdout


def test_the_json_list_carries_group_severity_and_needed_evidence(cli) -> None:
    result = cli("diagnose", "--list-checks", "--json")
    assert result.returncode == 0, result.stdout
    document = json.loads(result.stdout)
    assert document["schema"] == "wmidoctor.checks/1"
    by_id = {row["id"]: row for row in document["checks"]}
    assert set(by_id) == {spec.id for spec in select()}
    spec = next(s for s in select() if s.needs)
    assert by_id[spec.id]["needs"] == list(spec.needs) and by_id[spec.id]["group"] == spec.group
    assert by_id[spec.id]["severity"] == spec.severity


def test_a_path_or_another_format_with_the_list_is_a_usage_error(cli, tmp_path) -> None:
    for arguments in (["--list-checks", str(tmp_path)], ["--list-checks", "--format", "html"]):
        result = cli("diagnose", *arguments)
        assert result.returncode == 2, result.stderr
        assert "--list-checks" in result.stderr and "Traceback" not in result.stderr


def test_the_json_list_validates_against_its_schema(cli) -> None:

    import jsonschema

    schema = load_schema("checks")
    document = json.loads(cli("diagnose", "--list-checks", "--json").stdout)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    document["checks"][0]["severity"] = "fatal"
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(document))
