"""Pieces of the probe that need no network: targets, host files, walks, verdicts, evidence."""

from __future__ import annotations

import pytest

from wmidoctor.errors import InputError
from wmidoctor.evidence.model import Evidence
from wmidoctor.remote.credentials import Credentials, parse_hashes, split_user
from wmidoctor.remote.evidence import to_connectivity
from wmidoctor.remote.fleet import read_hosts
from wmidoctor.remote.model import ProbeResult, StageResult
from wmidoctor.remote.probe import parse_target
from wmidoctor.remote.verdicts import verdict_for
from wmidoctor.remote.walk import StageFailure, Walk


def test_targets_and_ports():
    assert (parse_target("host").host, parse_target("host").port) == ("host", None)
    assert parse_target("10.0.0.5:1350").port == 1350
    assert (parse_target("[::1]:135").host, parse_target("[::1]:135").port) == ("::1", 135)
    assert parse_target("fe80::1").host == "fe80::1"
    with pytest.raises(InputError):
        parse_target("host:0")


def test_hosts_file_skips_comments_and_names_the_bad_line(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("# fleet\nalpha\n\nbeta:1350 # lab\n")
    assert [t.label for t in read_hosts(hosts)] == ["alpha", "beta:1350"]
    hosts.write_text("alpha\nbeta:x\n")
    with pytest.raises(InputError, match="line 2"):
        read_hosts(hosts)


def test_credentials_never_show_secrets_and_know_local_accounts():
    creds = Credentials(user="admin", domain="WS01", password="hunter2", nthash="a" * 32)
    assert "hunter2" not in repr(creds) and "a" * 32 not in repr(creds)
    assert creds.is_local_account({"ws01"}) and not Credentials(user="u", domain="CORP").is_local_account({"WS01"})
    assert split_user("CORP\\u", "") == ("u", "CORP") and split_user("u@corp.example", "") == ("u", "corp.example")
    assert parse_hashes(":" + "b" * 32) == ("", "b" * 32)
    with pytest.raises(InputError):
        parse_hashes("xyz")


def test_walk_marks_the_rest_not_reached_and_bounds_the_budget():
    walk = Walk(
        "h",
        "dcom",
        [("a", "network"), ("b", "rpc"), ("c", "wmi")],
        0.0001,
        lambda n, e: StageFailure(str(e), reason="x"),
    )
    try:
        with walk.stage("a"):
            raise StageFailure("boom", reason="refused", code=5)
    except Exception:
        pass
    result = walk.finish()
    assert [(s.name, s.status) for s in result.stages] == [("a", "failed"), ("b", "not_reached"), ("c", "not_reached")]
    late = Walk("h", "dcom", [("a", "network")], 0.0, lambda n, e: StageFailure(str(e), reason="x"))
    try:
        with late.stage("a"):
            pass
    except Exception:
        pass
    assert late.finish().stages[0].reason == "budget"


def test_verdict_uses_the_catalogue_and_the_rule_for_the_stage():
    result = ProbeResult(
        "h", "dcom", [StageResult("dynamic_port", "failed", 3.0, 0x800706BA, "x", "network", "no_answer")]
    )
    verdict = verdict_for(result, local_account=False)
    assert (verdict.symbol, verdict.where, verdict.code_hex) == ("RPC_S_SERVER_UNAVAILABLE", "network", "0x800706BA")
    assert verdict_for(ProbeResult("h", "dcom", [StageResult("dns", "ok")]), False) is None


def test_connectivity_section_filled_from_results():
    result = ProbeResult("h", "wsman", [StageResult("tcp", "failed", 1.0, 0x80338126, "refused", "network", "refused")])
    evidence = Evidence()
    to_connectivity([result], evidence.connectivity)
    probe = evidence.connectivity.probes[0]
    assert (probe.failing_stage, probe.code, evidence.connectivity.status) == ("tcp", 0x80338126, "collected")
    assert Evidence.from_data(evidence.to_data()).connectivity.probes[0].stages[0].name == "tcp"
