"""`probe --json` (wmidoctor.probe/1) and `probe --hosts FILE --json` (wmidoctor.probe-hosts/1) validate against
their schemas for a healthy fake host, hosts failing at activation and at the query, and a refused port (all on
loopback; the fake hosts answer as remote-failures.md says real Windows hosts do)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from tests.remote.fakes.msrpc import Scenario
from tests.schemas.documents import load_schema

PW_ENV = {"PROBE_PW": "Secret-1"}
ACCOUNT = ["-u", "CORP\\probe", "--password-env", "PROBE_PW", "--transport", "dcom", "--timeout", "3"]


def _valid(document: dict, name: str) -> None:
    schema = load_schema(f"{name}")
    assert document["schema"] == f"wmidoctor.{name}/1"
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.network
@pytest.mark.parametrize(
    "scenario",
    [Scenario(), Scenario(activation_error=0x80070005), Scenario(query_error=0x80041010), Scenario(launch_denied=True)],
    ids=["healthy", "activation-denied", "invalid-class", "launch-denied"],
)
def test_one_host_documents_validate(cli, fake_host, scenario: Scenario) -> None:
    server = fake_host(scenario)
    result = cli("probe", f"127.0.0.1:{server.port}", *ACCOUNT, "--json", env=PW_ENV)
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(result.stdout)
    _valid(document, "probe")
    assert "Secret-1" not in result.stdout


@pytest.mark.network
def test_a_hosts_file_document_validates(cli, fake_host, closed_port: int, tmp_path: Path) -> None:
    server = fake_host()
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(f"127.0.0.1:{server.port}\n127.0.0.2:{closed_port}\n", encoding="utf-8")
    result = cli("probe", "--hosts", str(hosts), *ACCOUNT, "--json", env=PW_ENV)
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(result.stdout)
    _valid(document, "probe-hosts")
    assert document["hosts"] == 2 and len(document["results"]) == 2


@pytest.mark.network
def test_the_fleet_report_of_probe_runs_and_their_changes_validate(cli, fake_host, closed_port: int, tmp_path):
    """Two probe runs into one database (the second with the healthy host gone): the latest run's report
    (wmidoctor.probe-run/1) and the change between them (wmidoctor.probe-changes/1)."""
    server = fake_host()
    db = str(tmp_path / "probe.sqlite")
    hosts = tmp_path / "hosts.txt"
    for listed in (f"127.0.0.1:{server.port}\n127.0.0.2:{closed_port}\n", f"127.0.0.2:{closed_port}\n"):
        hosts.write_text(listed, encoding="utf-8")
        run = cli("probe", "--hosts", str(hosts), *ACCOUNT, "--db", db, "--format", "table", env=PW_ENV)
        assert run.returncode in (0, 1), run.stderr
    report = cli("fleet", "report", db, "--json")
    assert report.returncode in (0, 1), report.stderr
    _valid(json.loads(report.stdout), "probe-run")
    changes = cli("fleet", "report", db, "--compare", "1", "2", "--json")
    assert changes.returncode in (0, 1), changes.stderr
    document = json.loads(changes.stdout)
    _valid(document, "probe-changes")
    assert document["changed"]
