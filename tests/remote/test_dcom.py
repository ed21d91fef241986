"""The DCOM walk against fake hosts that fail at each stage on purpose (real MSRPC on loopback)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid

import pytest
from tests.remote.fakes.msrpc import Scenario

from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.probe import ProbeOptions, Target, probe_host

pytestmark = pytest.mark.network

GOOD = Credentials(user="probe", password="Secret-1")
DOMAIN_USER = Credentials(user="probe", domain="CORP", password="Secret-1")


def dcom(port: int, creds: Credentials = GOOD, **options):
    opts = ProbeOptions(transports=("dcom",), timeout=options.pop("timeout", 3.0), **options)
    (result,) = probe_host(Target("127.0.0.1", port), creds, opts)
    return result


def statuses(result) -> dict[str, str]:
    return {s.name: s.status for s in result.stages}


def test_healthy_host_passes_every_stage_and_returns_a_row(fake_host):
    result = dcom(fake_host().port)
    assert {s.name: s.status for s in result.stages if s.status != "ok"} == {"kdc": "skipped"}, result.stages
    assert result.verdict is None
    assert "Win32_OperatingSystem" in result.first_row and "Caption=Microsoft Windows Server 2022" in result.first_row


def test_closed_port_is_refused_not_timed_out(closed_port):
    result = dcom(closed_port)
    stage = result.failing_stage
    assert (stage.name, stage.reason, stage.code) == ("tcp_135", "refused", 0x800706BA)
    assert statuses(result)["endpoint_mapper"] == "not_reached"
    assert result.verdict.where == "target" and "Enable-NetFirewallRule" in result.verdict.fixes[1].command


def test_port_that_accepts_and_never_answers_times_out_at_the_endpoint_mapper(fake_host):
    result = dcom(fake_host(Scenario(silent=True)).port, timeout=0.5)
    stage = result.failing_stage
    assert (stage.name, stage.reason) == ("endpoint_mapper", "no_answer")
    assert statuses(result)["tcp_135"] == "ok"


def test_bind_refused_names_the_reject_reason(fake_host):
    result = dcom(fake_host(Scenario(bind_nak=4)).port)
    stage = result.failing_stage
    assert (stage.name, stage.reason) == ("endpoint_mapper", "bind_nak_version")
    assert "protocol version not supported" in stage.detail


def test_wrong_password_fails_authentication_with_the_servers_fault(fake_host):
    result = dcom(fake_host().port, Credentials(user="probe", domain="CORP", password="wrong"))
    stage = result.failing_stage
    assert (stage.name, stage.reason, stage.code) == ("authentication", "logon_failure", 0x80070005)
    assert (stage.carrier, stage.raw) == ("fault", 5)
    assert statuses(result)["activation"] == "not_reached"
    assert any("Get-ADUser" in f.command for f in result.verdict.fixes)
    assert result.verdict.proof == "credentials refused on the first authenticated call"


def test_no_secret_reaches_results_or_the_fleet_store(fake_host, tmp_path):
    """Neither the password nor the NT hash derived from it (nor one given with --hashes) appears in a
    result, its JSON form or the SQLite store, whether authentication passed or failed."""
    from impacket.ntlm import compute_nthash

    from wmidoctor.remote.store import FleetStore

    derived = compute_nthash("Secret-1").hex()
    secrets = ("Secret-1", "Wrong-2", derived, derived.upper())
    runs = [
        (DOMAIN_USER, "ok"),
        (Credentials(user="probe", domain="CORP", password="Wrong-2"), "failed"),
        (Credentials(user="probe", domain="CORP", nthash=derived), "ok"),
    ]
    store = FleetStore(tmp_path / "fleet.sqlite")
    run_id = store.start_run({})
    for creds, expected in runs:
        result = dcom(fake_host().port, creds)
        assert ("ok" if result.passed else "failed") == expected, result.stages
        store.add(run_id, [result])
        shown = repr(result) + json.dumps(result.to_data())
        assert all(secret not in shown for secret in secrets)
    store.commit()
    dumped = "\n".join(store.db.iterdump())
    store.close()
    assert "CORP\\probe" in dumped  # the account name is kept; its secrets are not
    assert all(secret not in dumped for secret in secrets)


def test_activation_access_denied_for_a_domain_account_points_at_dcom_permissions(fake_host):
    result = dcom(fake_host(Scenario(activation_error=0x80070005)).port, DOMAIN_USER)
    stage = result.failing_stage
    assert (stage.name, stage.reason, stage.code) == ("activation", "activation_denied", 0x80070005)
    assert statuses(result)["authentication"] == "ok"
    assert result.verdict.symbol == "E_ACCESSDENIED"
    assert "Distributed COM Users" in result.verdict.fixes[0].command
    assert "remote UAC" not in result.verdict.cause


def test_activation_denied_for_a_local_account_is_read_as_remote_uac(fake_host):
    local = Credentials(user="probe", domain="FAKEWMI", password="Secret-1")  # the target's own name
    result = dcom(fake_host(Scenario(activation_error=0x80070005)).port, local)
    assert result.verdict.cause.startswith("the account is local to the target: remote UAC")
    assert any("LocalAccountTokenFilterPolicy" in f.command for f in result.verdict.fixes)


def test_dynamic_port_blocked_after_135_is_open(fake_host, closed_port):
    result = dcom(fake_host(Scenario(advertised_port=closed_port)).port, DOMAIN_USER)
    stage = result.failing_stage
    assert (stage.name, stage.reason) == ("dynamic_port", "refused")
    assert statuses(result)["activation"] == "ok"
    assert "49152-65535" in result.verdict.fixes[0].step


def test_namespace_dacl_refusal_at_ntlmlogin(fake_host):
    result = dcom(fake_host(Scenario(login_error=0x80041003)).port, DOMAIN_USER)
    stage = result.failing_stage
    assert (stage.name, stage.reason, stage.code) == ("namespace_login", "namespace_access_denied", 0x80041003)
    assert "wmimgmt.msc" in result.verdict.fixes[0].command


def test_namespace_requiring_encryption_accepts_ntlmlogin_and_refuses_execquery(fake_host):
    """As a real host does: NTLMLogin at packet integrity succeeds; the first data request (ExecQuery)
    gets 0x80041003; the same query at packet privacy succeeds."""
    server = fake_host(Scenario(encryption_required=True))
    result = dcom(server.port, DOMAIN_USER)
    stage = result.failing_stage
    assert statuses(result)["namespace_login"] == "ok"
    assert (stage.name, stage.reason, stage.code) == ("query", "encryption_required", 0x80041003)
    assert result.verdict.where == "client" and "--privacy" in result.verdict.fixes[0].command
    assert "5605" in result.verdict.cause
    assert dcom(server.port, DOMAIN_USER, privacy=True).passed


def test_execquery_denied_at_both_levels_is_not_called_encryption(fake_host):
    result = dcom(fake_host(Scenario(exec_error=0x80041003)).port, DOMAIN_USER)
    stage = result.failing_stage
    assert (stage.name, stage.reason) == ("query", "query_access_denied")
    assert result.facts["privacy_retry"] == "denied"
    assert "encrypt" not in result.verdict.cause


def test_invalid_namespace(fake_host):
    result = dcom(fake_host().port, DOMAIN_USER, namespace="root\\nosuch")
    stage = result.failing_stage
    assert (stage.name, stage.code) == ("namespace_login", 0x8004100E)
    assert result.verdict.symbol == "WBEM_E_INVALID_NAMESPACE"


def test_query_invalid_class_comes_from_next_as_in_semisynchronous_mode(fake_host):
    result = dcom(fake_host(Scenario(query_error=0x80041010)).port, DOMAIN_USER)
    stage = result.failing_stage
    assert (stage.name, stage.code, stage.reason) == ("fetch", 0x80041010, "invalid_class")
    assert result.verdict.symbol == "WBEM_E_INVALID_CLASS"
    assert statuses(result)["query"] == "ok"


def test_without_credentials_the_walk_stops_after_the_endpoint_mapper(fake_host):
    result = dcom(fake_host().port, Credentials())
    assert statuses(result)["endpoint_mapper"] == "ok"
    assert statuses(result)["authentication"] == "skipped"
    assert result.passed and result.verdict is None


def test_unresolvable_name_fails_dns_for_every_transport():
    results = probe_host(Target("no-such-host.invalid"), GOOD, ProbeOptions(timeout=3.0))
    assert [r.failing_stage.name for r in results] == ["dns", "dns"]
    assert all(s.status == "not_reached" for r in results for s in r.stages[1:])


def _netns_or_skip(name: str) -> None:
    """Make a network namespace, or skip when this machine cannot; under CI=true that is a failure."""
    import os

    why = ""
    if shutil.which("ip") is None:
        why = "no `ip` command to make a network namespace"
    elif subprocess.run(["ip", "netns", "add", name], capture_output=True, timeout=10).returncode != 0:
        why = "cannot create a network namespace here (needs root and netns support)"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}, and CI must run the silent-drop test")
        pytest.skip(why)


def test_silent_drop_in_a_network_namespace(cli):
    """A SYN that nothing answers, on a loopback address: in a network namespace made for the test,
    127.0.0.2 is routed to one end of a veth pair whose other end is nobody, so the connection attempt
    gets no reply at all (neither SYN-ACK nor RST)."""
    name = f"wmidoctor-{uuid.uuid4().hex[:8]}"
    _netns_or_skip(name)
    try:
        made = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                name,
                "sh",
                "-c",
                "ip link set lo up && ip link add v0 type veth peer name v1 && ip link set v0 up && "
                "ip link set v1 up && ip route add 127.0.0.2/32 dev v0 table local",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert made.returncode == 0, made.stderr
        out = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                name,
                sys.executable,
                "-m",
                "wmidoctor",
                "probe",
                "127.0.0.2",
                "--transport",
                "both",
                "--timeout",
                "0.5",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 1, out.stderr
        results = json.loads(out.stdout)["results"]
        failing = {r["transport"]: next(s for s in r["stages"] if s["status"] == "failed") for r in results}
        assert (failing["dcom"]["name"], failing["dcom"]["reason"], failing["dcom"]["code"]) == (
            "tcp_135",
            "no_answer",
            0x800706BA,
        )
        assert (failing["wsman"]["name"], failing["wsman"]["reason"], failing["wsman"]["code"]) == (
            "tcp",
            "no_answer",
            0x80338126,
        )
        assert results[0]["verdict"]["where"] == "network"
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=10)


def test_valid_account_without_launch_rights_is_not_called_a_wrong_password(fake_host):
    """Windows sends RPC fault 5 on RemoteCreateInstance both for a wrong password and for a valid account
    without Remote Launch/Activation: the authenticated ServerAlive2 before it proves the credentials."""
    result = dcom(fake_host(Scenario(launch_denied=True)).port, DOMAIN_USER)
    stage = result.failing_stage
    assert (stage.name, stage.reason, stage.code, stage.carrier) == ("activation", "launch_denied", 0x80070005, "fault")
    assert statuses(result)["authentication"] == "ok"
    verdict = result.verdict
    assert "credentials are valid" in verdict.cause and "wrong" not in verdict.cause
    assert verdict.proof.startswith("credentials accepted") and not verdict.ambiguous
    assert "Distributed COM Users" in verdict.fixes[0].command
    assert "remote UAC" not in verdict.fixes[0].step


def test_launch_refusal_of_a_local_account_names_remote_uac(fake_host):
    local = Credentials(user="probe", domain=".", password="Secret-1")
    result = dcom(fake_host(Scenario(launch_denied=True)).port, local)
    assert result.verdict.cause.startswith("the account is local to the target: remote UAC")
    assert any("LocalAccountTokenFilterPolicy" in f.command for f in result.verdict.fixes)


def test_anonymous_serveralive2_refused_by_restrict_remote_clients(fake_host):
    result = dcom(fake_host(Scenario(restrict_anonymous=True)).port, DOMAIN_USER)
    stage = result.failing_stage
    assert (stage.name, stage.reason) == ("endpoint_mapper", "anonymous_refused")
    assert "RestrictRemoteClients" in result.verdict.fixes[0].command


@pytest.mark.parametrize(
    ("reject", "reason", "words"),
    [
        (8, "bind_nak_authn_type", "authentication type"),
        (9, "bind_nak_security", "ticket"),
        (1, "bind_nak_busy", "congestion"),
    ],
)
def test_bind_nak_reasons_get_their_own_cause(fake_host, reject, reason, words):
    result = dcom(fake_host(Scenario(bind_nak=reject)).port, DOMAIN_USER)
    stage = result.failing_stage
    assert (stage.name, stage.reason, stage.carrier, stage.raw, stage.code) == (
        "endpoint_mapper",
        reason,
        "bind_nak",
        reject,
        None,
    )
    assert words in result.verdict.cause and result.verdict.symbol == f"bind_nak reason {reject}"


@pytest.mark.parametrize(
    ("method", "status", "stage_name", "reason", "code"),
    [
        ("ServerAlive2", 0x721, "endpoint_mapper", "sec_pkg_error", 0x80070721),
        ("RemoteCreateInstance", 0x6BB, "activation", "server_too_busy", 0x800706BB),
        ("NTLMLogin", 0x6BE, "namespace_login", "server_went_away", 0x800706BE),
        ("ExecQuery", 0x6BF, "query", "server_went_away", 0x800706BF),
        ("Next", 0x80010108, "fetch", "server_went_away", 0x80010108),
    ],
)
def test_rpc_faults_get_a_cause(fake_host, method, status, stage_name, reason, code):
    result = dcom(fake_host(Scenario(faults={method: status})).port, DOMAIN_USER)
    stage = result.failing_stage
    assert (stage.name, stage.reason, stage.code) == (stage_name, reason, code)
    assert result.verdict.cause != "see the code's explanation"
    if reason == "server_went_away":
        assert any("7031" in f.step for f in result.verdict.fixes)


def test_slow_provider_reports_wbem_s_timedout_from_next(fake_host):
    """Next's own time-out is kept inside the socket's, so WBEM_S_TIMEDOUT arrives and is reported."""
    result = dcom(fake_host(Scenario(provider_delay=30)).port, DOMAIN_USER, timeout=1.0)
    stage = result.failing_stage
    assert (stage.name, stage.reason, stage.code) == ("fetch", "query_timeout", 0x00040004)
    assert result.verdict.symbol == "WBEM_S_TIMEDOUT"


def test_activation_reply_lists_a_named_pipe_tower_first_and_the_probe_uses_tcp(fake_host):
    result = dcom(fake_host().port, DOMAIN_USER)
    activation = next(s for s in result.stages if s.name == "activation")
    assert "\\\\" not in activation.detail and "FAKEWMI[" in activation.detail
    assert result.passed


def test_a_signing_bug_fails(fake_host, monkeypatch):
    """The fake verifies every request's NTLM signature: a client that signs wrongly is refused."""
    from impacket import ntlm

    real_sign = ntlm.SIGN

    def bad_sign(flags, key, message, seq, handle):
        return real_sign(flags, key, message + b"x", seq, handle)

    monkeypatch.setattr("wmidoctor.remote.rpc.ntlm.SIGN", bad_sign)
    result = dcom(fake_host().port, DOMAIN_USER)
    assert not result.passed and result.failing_stage.name == "authentication"


def test_orpc_calls_are_routed_by_ipid(fake_host):
    """ExecQuery and Next go out on the IWbemLevel1Login context with their object's IPID, as Windows
    routes them; a call to an IPID the host never exported gets nca_s_unk_if."""
    import socket as sockets
    import struct

    server = fake_host()
    assert dcom(server.port, DOMAIN_USER).passed
    exported = set(server.objects.values())
    assert {"IWbemLevel1Login", "IWbemServices", "IEnumWbemClassObject"} <= exported
    with sockets.create_connection(("127.0.0.1", server.port)) as sock:
        from impacket.dcerpc.v5 import dcomrt

        from wmidoctor.remote.rpc import open_dce

        dce, _ = open_dce(sock, "127.0.0.1", server.port, None, 1)
        dce.bind(dcomrt.IID_IObjectExporter)
        sock.sendall(struct.pack("<BBBB4sHHLLHH", 5, 0, 0, 0x83, b"\x10\x00\x00\x00", 40, 0, 9, 0, 0, 3) + b"\x42" * 16)
        reply = sock.recv(64)
    assert reply[2] == 3 and struct.unpack_from("<L", reply, 24)[0] == 0x1C010003
