"""The fleet diagnosis documents validate against their schemas: `fleet diagnose --json` (wmidoctor.fleet-run/1),
`fleet report --json` (wmidoctor.fleet-diagnosis/1) and `fleet report --compare A B --json`
(wmidoctor.fleet-changes/1), on runs over the example bundles and a directory that is not a bundle."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from tests.schemas.documents import load_schema

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bundles"


def _valid(document: dict, name: str) -> None:
    schema = load_schema(f"{name}")
    assert document["schema"] == f"wmidoctor.{name}/1"
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


def _json(cli, *arguments: str) -> dict:
    result = cli("fleet", *arguments, "--json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_runs_reports_and_changes_validate(cli, tmp_path: Path) -> None:
    db = str(tmp_path / "fleet.sqlite")
    not_a_bundle = tmp_path / "empty"
    not_a_bundle.mkdir()
    bundles = [str(p) for p in sorted(EXAMPLES.iterdir()) if p.is_dir()]
    first = _json(cli, "diagnose", *bundles, str(not_a_bundle), "--db", db, "--engine", "sequential")
    _valid(first, "fleet-run")
    assert first["entries"] == len(bundles) + 1
    _valid(_json(cli, "diagnose", *bundles[:2], "--db", db, "--engine", "sequential", "--quick"), "fleet-run")
    report = _json(cli, "report", db)
    _valid(report, "fleet-diagnosis")
    assert report["causes"]
    changes = _json(cli, "report", db, "--compare", "1", "2")
    _valid(changes, "fleet-changes")
    assert changes["fixed"] or changes["still"]
