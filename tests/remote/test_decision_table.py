"""Every row of the quick decision table in remote-failures.md (section 8), each against the fake host
sending what a real Windows host sends, in the position it sends it; the verdict names the stage, the
code and the cause, and says when two causes cannot be told apart.

The rows' wording is quoted from the table; `judge` is also tested alone for the one case the probe
never meets itself (a fault 5 at activation with nothing proved before it, as a capture can show).
"""

from __future__ import annotations

import pytest
from tests.remote.fakes.msrpc import Scenario

from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.probe import ProbeOptions, Target, probe_host
from wmidoctor.remote.verdicts import Observation, judge

pytestmark = pytest.mark.network
USER = Credentials(user="probe", domain="CORP", password="Secret-1")

# (row of the table, scenario, stage, reason, code the verdict shows, words the cause must hold)
ROWS = [
    ("RST on 135", None, "tcp_135", "refused", 0x800706BA, "RPCSS"),
    (
        "bind_nak 8 on an authenticated bind",
        Scenario(bind_nak=8),
        "endpoint_mapper",
        "bind_nak_authn_type",
        None,
        "authentication type",
    ),
    (
        "bind_nak 9 on an authenticated bind",
        Scenario(bind_nak=9),
        "endpoint_mapper",
        "bind_nak_security",
        None,
        "security context",
    ),
    (
        "fault 5 on first authenticated request: bad credentials",
        "wrong-password",
        "authentication",
        "logon_failure",
        0x80070005,
        "refused the credentials",
    ),
    (
        "fault 5 on RemoteCreateInstance: no remote activation right / remote UAC",
        Scenario(launch_denied=True),
        "activation",
        "launch_denied",
        0x80070005,
        "credentials are valid",
    ),
    (
        "ErrorCode 0x80070005 in the RemoteCreateInstance reply",
        Scenario(activation_error=0x80070005),
        "activation",
        "activation_denied",
        0x80070005,
        "credentials were accepted",
    ),
    (
        "fault 0x721 on the first request",
        Scenario(authenticated_faults={"ServerAlive2": 0x721}),
        "authentication",
        "sec_pkg_error",
        0x80070721,
        "security package",
    ),
    (
        "connect fails to the advertised port",
        "closed-dynamic-port",
        "dynamic_port",
        "refused",
        0x800706BA,
        "dynamic RPC port",
    ),
    (
        "ErrorCode 0x80041003 in the NTLMLogin reply",
        Scenario(login_error=0x80041003),
        "namespace_login",
        "namespace_access_denied",
        0x80041003,
        "Remote Enable",
    ),
    (
        "ErrorCode 0x8004100E in the NTLMLogin reply",
        Scenario(namespaces=("root\\other",)),
        "namespace_login",
        "namespace_missing",
        0x8004100E,
        "does not exist",
    ),
    (
        "ErrorCode 0x80041003 in the ExecQuery reply",
        Scenario(encryption_required=True),
        "query",
        "encryption_required",
        0x80041003,
        "packet privacy",
    ),
    ("Next -> 0x80041010", Scenario(query_error=0x80041010), "fetch", "invalid_class", 0x80041010, "class"),
    ("Next -> 0x80041017", Scenario(query_error=0x80041017), "fetch", "invalid_query", 0x80041017, "query"),
    ("Next -> 0x80041013", Scenario(query_error=0x80041013), "fetch", "provider_load_failure", 0x80041013, "provider"),
    ("Next -> 0x80041006", Scenario(query_error=0x80041006), "fetch", "quota", 0x80041006, "quota"),
    ("Next -> 0x00040004", Scenario(provider_delay=30), "fetch", "query_timeout", 0x00040004, "WBEM_S_TIMEDOUT"),
    (
        "0x800706BE in a later call",
        Scenario(faults={"ExecQuery": 0x6BE}),
        "query",
        "server_went_away",
        0x800706BE,
        "went away",
    ),
    (
        "0x800706BF in a later call",
        Scenario(faults={"Next": 0x6BF}),
        "fetch",
        "server_went_away",
        0x800706BF,
        "went away",
    ),
    (
        "0x80010108 in a later call",
        Scenario(faults={"NTLMLogin": 0x80010108}),
        "namespace_login",
        "server_went_away",
        0x80010108,
        "went away",
    ),
]


@pytest.mark.parametrize(("row", "scenario", "stage", "reason", "code", "words"), ROWS, ids=[r[0] for r in ROWS])
def test_decision_table_row(fake_host, closed_port, row, scenario, stage, reason, code, words):
    creds = USER
    if scenario is None:
        port = closed_port
    elif scenario == "wrong-password":
        port, creds = fake_host().port, Credentials(user="probe", domain="CORP", password="Wrong-9")
    elif scenario == "closed-dynamic-port":
        port = fake_host(Scenario(advertised_port=closed_port)).port
    else:
        port = fake_host(scenario).port
    timeout = 1.0 if reason == "query_timeout" else 3.0
    (result,) = probe_host(Target("127.0.0.1", port), creds, ProbeOptions(transports=("dcom",), timeout=timeout))
    failing, verdict = result.failing_stage, result.verdict
    assert (failing.name, failing.reason, failing.code) == (stage, reason, code), failing
    assert verdict.stage == stage and verdict.code == code
    assert words in verdict.cause, verdict.cause
    assert verdict.fixes and not verdict.ambiguous


def test_a_fault_5_at_activation_with_nothing_proved_says_the_causes_cannot_be_told_apart():
    """What a capture of a client that made no authenticated call before activating shows."""
    verdict = judge(Observation(stage="activation", carrier="fault", code=5))
    assert verdict.ambiguous and "cannot be told apart" in verdict.cause
    assert verdict.code == 0x80070005 and verdict.proof.startswith("not proved")
    proved = judge(Observation(stage="activation", carrier="fault", code=5, credentials_proved=True))
    assert not proved.ambiguous and "credentials are valid" in proved.cause


def test_remote_uac_hint_for_a_local_account_and_not_for_a_domain_one():
    local = judge(Observation(stage="activation", carrier="fault", code=5, credentials_proved=True, local_account=True))
    domain = judge(Observation(stage="activation", carrier="fault", code=5, credentials_proved=True))
    assert "remote UAC" in local.cause and any("LocalAccountTokenFilterPolicy" in f.command for f in local.fixes)
    assert not any("LocalAccountTokenFilterPolicy" in f.command for f in domain.fixes)


def test_judge_is_pure():
    obs = Observation(stage="query", carrier="reply", code=0x80041003, privacy_retry="ok")
    assert judge(obs) == judge(obs)
