"""diagnose on a bundle assembled from real artifacts (links into ../shared/corpus: logs, Ole export, repository)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the helper is imported as tests.corpus_volume

from tests.corpus_volume import link_bundle

pytestmark = pytest.mark.corpus

SCHEMA = Path(__file__).resolve().parents[2] / "src" / "wmidoctor" / "schemas" / "report.schema.json"


@pytest.fixture(scope="module")
def bundle(corpus, tmp_path_factory) -> Path:
    return link_bundle(tmp_path_factory.mktemp("bundle"), corpus)


def diagnose(cli, bundle: Path, *args: str) -> dict:
    result = cli("diagnose", str(bundle), "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, json.loads(SCHEMA.read_text(encoding="utf-8")))
    return data


def findings(data: dict) -> dict[str, dict]:
    return {f["check"]: f for f in data["findings"]}


def test_real_bundle_full(cli, bundle):
    data = diagnose(cli, bundle)
    by_check = findings(data)
    # the real Windows 10 Ole export holds exactly the default DCOM ACLs
    for check in (
        "dcom.enabled",
        "dcom.machine-launch-restriction",
        "dcom.machine-access-restriction",
        "dcom.default-launch-permission",
    ):
        assert by_check[check]["status"] == "pass", by_check[check]
    # the repository copy was read: its providers and subscriptions were judged, not skipped
    assert by_check["providers.clsid"]["status"] != "skipped"
    assert by_check["subscriptions.inventory"]["status"] == "info"
    # the attack simulation left a script consumer behind: a security error, listed first
    assert by_check["security.subscriptions"]["status"] == "fail"
    assert by_check["security.subscriptions"]["severity"] == "error"
    assert data["findings"][0]["check"] == "security.subscriptions"
    # real 5858 records are tallied with the catalogue's words and located by record
    tally = {c["code"]: c for c in data["code_tally"]}
    assert tally["0x80041002"]["count"] > 50 and tally["0x80041002"]["symbol"] == "WBEM_E_NOT_FOUND"
    failures = by_check["events.client-failures"]
    assert any("#record" in e["source"] for e in failures["evidence"])
    # what the bundle lacks is skipped with a reason, never passed
    assert by_check["services.winmgmt"]["status"] == "skipped"
    assert by_check["firewall.wmi-rules"]["status"] == "skipped"


def test_real_bundle_quick_skips_the_repository_read(cli, bundle):
    data = diagnose(cli, bundle, "--quick")
    assert data["quick"] is True
    providers = findings(data)["providers.clsid"]
    assert providers["status"] == "skipped" and "--quick" in providers["summary"]
    assert findings(data)["dcom.machine-launch-restriction"]["status"] == "pass"
