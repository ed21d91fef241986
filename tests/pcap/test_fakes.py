"""Every failure `probe` reports against the fake hosts, recorded off loopback while the probe runs and read
back from the capture: the capture's verdict must be the probe's (same stage, reason, code, cause, fixes).

The fakes are the probe's own (tests/remote/fakes), driven unchanged; the capture is what the kernel put on
`lo`, so handshakes, resets and unanswered SYNs are real TCP behaviour."""

from __future__ import annotations

import json
import socket

import pytest
from tests.pcap.recording import GOOD, WRONG, Run, assert_same_verdict, probe_and_record
from tests.remote.fakes.msrpc import Scenario
from tests.remote.fakes.wsman import FakeWsman, WsmanScenario

from wmidoctor.pcap.analyse import analyse
from wmidoctor.remote.probe import ProbeOptions, Target, probe_host

pytestmark = pytest.mark.network


def test_healthy_host_reaches_every_stage_with_names_from_the_ntlm_exchange(record, tmp_path, fake_host):
    run = probe_and_record(record, tmp_path, fake_host().port, "dcom")
    assert run.probe.passed
    finding = run.finding
    assert finding.passed and finding.kind == "WMI over DCOM"
    statuses = {s.name: s.status for s in finding.result.stages if s.name != "dns"}
    assert statuses == {s.name: s.status for s in run.probe.stages if s.name != "dns"}  # the probe's own walk
    assert finding.result.stages[0].status == "skipped" and statuses["kdc"] == "skipped"  # a literal address; NTLM
    attempt = finding.attempt
    assert [i.user for i in attempt.identities] == ["probe"]
    assert attempt.server_names["netbios"] == "FAKEWMI" and attempt.server_names["os_version"] == "10.0.20348"
    assert attempt.levels == ["integrity"] and attempt.mechanisms == ["NTLM"]
    methods = [c.method for c in attempt.calls]
    # the probe's walk: anonymous then authenticated ServerAlive2; ExecQuery and Next named by the IPIDs they carry
    assert methods == ["ServerAlive2", "ServerAlive2", "RemoteCreateInstance", "NTLMLogin", "ExecQuery", "Next"]
    assert all(c.status == 0 and c.latency_ms is not None for c in attempt.calls)
    assert "WbemLevel1Login" in attempt.calls[2].detail and "root/cimv2" in attempt.calls[3].detail


def test_refused_port_gives_the_probes_tcp_verdict(record, tmp_path, closed_port):
    run = probe_and_record(record, tmp_path, closed_port, "dcom")
    assert_same_verdict(run)
    (connection,) = run.finding.attempt.connections
    assert connection.refused and connection.syns == 1


def test_unanswered_syns_give_the_probes_no_answer_verdict(record, tmp_path):
    """A listener whose accept queue is full: Linux drops further SYNs, as a filtering firewall would."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))  # occupies the only slot; never accepted
    try:
        run = probe_and_record(record, tmp_path, port, "dcom", timeout=1.5)
    finally:
        filler.close()
        listener.close()
    assert_same_verdict(run)
    (connection,) = run.finding.attempt.connections
    assert not connection.answered and connection.syns >= 2  # the kernel retransmitted the SYN


@pytest.mark.parametrize(
    ("scenario", "creds", "stage"),
    [
        (Scenario(), WRONG, "authentication"),  # RPC fault 5 on the first call after NTLM
        (Scenario(bind_nak=0), GOOD, "endpoint_mapper"),
        (Scenario(bind_nak=8), GOOD, "endpoint_mapper"),
        (Scenario(activation_error=0x80070005), GOOD, "activation"),
        (Scenario(activation_error=0x80080005), GOOD, "activation"),
        (Scenario(login_error=0x80041003), GOOD, "namespace_login"),
        (Scenario(encryption_required=True), GOOD, "query"),  # ExecQuery refuses at integrity, not the login
        (Scenario(namespaces=("root\\other",)), GOOD, "namespace_login"),
        (Scenario(query_error=0x80041010), GOOD, "fetch"),  # IEnumWbemClassObject::Next reports the class
    ],
    ids=[
        "fault5",
        "bind_nak",
        "bind_nak_auth",
        "activation_denied",
        "activation_failed",
        "access_denied",
        "encryption_required",
        "invalid_namespace",
        "invalid_class",
    ],
)
def test_each_dcom_failure_of_the_probe_is_read_back_from_the_capture(
    record, tmp_path, fake_host, scenario, creds, stage
):
    run = probe_and_record(record, tmp_path, fake_host(scenario).port, "dcom", creds)
    assert run.probe.failing_stage.name == stage
    assert_same_verdict(run)


def test_silent_rpc_port_times_out_at_the_endpoint_mapper(record, tmp_path, fake_host):
    run = probe_and_record(record, tmp_path, fake_host(Scenario(silent=True)).port, "dcom", timeout=0.5)
    assert_same_verdict(run)


def test_refused_dynamic_port_is_learnt_from_the_activation_reply(record, tmp_path, fake_host, closed_port):
    server = fake_host(Scenario(advertised_port=closed_port))
    run = probe_and_record(record, tmp_path, server.port, "dcom", extra_ports=(closed_port,))
    assert run.probe.failing_stage.name == "dynamic_port"
    assert_same_verdict(run)
    activation = next(c for c in run.finding.attempt.calls if c.method == "RemoteCreateInstance")
    assert closed_port in activation.ports


def test_wsman_wrong_password_is_a_401_after_the_ntlm_authenticate(record, tmp_path):
    with FakeWsman() as fake:
        run = probe_and_record(record, tmp_path, fake.port, "wsman", WRONG)
    assert_same_verdict(run)
    assert "after the client's NTLM AUTHENTICATE" in run.finding.result.failing_stage.detail
    assert [i.user for i in run.finding.attempt.identities] == ["probe"]


def test_wsman_fault_is_a_500_whose_encrypted_code_is_said_to_be_hidden(record, tmp_path):
    with FakeWsman(WsmanScenario(fault_code=0x80041010)) as fake:
        run = probe_and_record(record, tmp_path, fake.port, "wsman")
    seen = run.finding.result.failing_stage
    assert (
        (seen.name, seen.reason)
        == (run.probe.failing_stage.name, run.probe.failing_stage.reason)
        == ("enumerate", "wsman_fault")
    )
    assert seen.code is None and "encrypted" in seen.detail  # the probe decrypts; a capture cannot


def test_wsman_healthy_session(record, tmp_path):
    with FakeWsman() as fake:
        run = probe_and_record(record, tmp_path, fake.port, "wsman")
    assert run.probe.passed and run.finding.passed
    statuses = {s.name: s.status for s in run.finding.result.stages}
    assert statuses == {"dns": "skipped", "tcp": "ok", "identify": "ok", "authentication": "ok", "enumerate": "ok"}


def test_a_retry_after_fixing_the_password_is_a_second_attempt(record, tmp_path, fake_host):
    port = fake_host().port
    with record(port) as capture:
        for creds in (WRONG, GOOD):
            probe_host(Target("127.0.0.1", port), creds, ProbeOptions(transports=("dcom",), timeout=3.0))
    first, second = analyse(capture.write(tmp_path / "retry.pcap"), rpc_ports=frozenset({port})).findings
    assert first.result.failing_stage.name == "authentication" and first.result.verdict.code == 0x80070005
    assert second.passed and second.attempt.first_ts > first.attempt.first_ts


def test_a_dns_answer_naming_the_target_is_the_dns_stage(record, tmp_path, fake_host):
    """The recorded exchange, preceded by the resolver's answer for the target (added to the file here:
    the probe was given an address, so it asked no resolver)."""
    import dpkt

    run = probe_and_record(record, tmp_path, fake_host().port, "dcom")
    path = tmp_path / "dcom.pcap"
    with path.open("rb") as handle:
        packets = list(dpkt.pcap.Reader(handle))
    answer = dpkt.dns.DNS(
        id=7,
        qr=dpkt.dns.DNS_R,
        rcode=0,
        qd=[dpkt.dns.DNS.Q(name="fakewmi.test")],
        an=[dpkt.dns.DNS.RR(name="fakewmi.test", type=dpkt.dns.DNS_A, rdata=bytes((127, 0, 0, 1)))],
    )
    udp = dpkt.udp.UDP(sport=53, dport=40000, data=bytes(answer))
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=bytes((127, 0, 0, 53)), dst=bytes((127, 0, 0, 1)), p=dpkt.ip.IP_PROTO_UDP, data=udp)
    frame = bytes(dpkt.ethernet.Ethernet(src=bytes(6), dst=bytes(6), data=ip))
    with path.open("wb") as out:
        writer = dpkt.pcap.Writer(out)
        writer.writepkt(frame, packets[0][0] - 0.01)
        for ts, data in packets:
            writer.writepkt(data, ts)
    (finding,) = analyse(path, rpc_ports=frozenset({run.finding.attempt.connections[0].port})).findings
    dns = finding.result.stages[0]
    assert (dns.name, dns.status) == ("dns", "ok") and "fakewmi.test -> 127.0.0.1" in dns.detail
    assert finding.passed


def test_cli_rpc_port_option_marks_a_forwarded_endpoint_port(record, tmp_path, cli):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    try:
        run = probe_and_record(record, tmp_path, port, "dcom", timeout=1.2)
    finally:
        filler.close()
        listener.close()
    path = str(tmp_path / "dcom.pcap")
    without = json.loads(cli("pcap", "--json", path).stdout)
    assert without["captures"][0]["attempts"] == []  # SYNs to an unknown port say nothing by themselves
    result = cli("pcap", "--json", "--rpc-port", str(port), path)
    assert result.returncode == 1
    (attempt,) = json.loads(result.stdout)["captures"][0]["attempts"]
    assert attempt["failing_stage"] == run.probe.failing_stage.name == "tcp_135"


@pytest.mark.parametrize(
    "scenario",
    [
        WsmanScenario(not_admitted=True),  # a valid account refused after the Negotiate exchange completed
        WsmanScenario(plain_500=True),  # an HTTP 500 that is no SOAP fault (a proxy)
        WsmanScenario(stall="identify"),
        WsmanScenario(stall="enumerate"),
        WsmanScenario(trickle="identify", trickle_gap=0.05),
        WsmanScenario(trickle="enumerate", trickle_gap=0.05),
    ],
    ids=["not_admitted", "plain_500", "stall_identify", "stall_enumerate", "trickle_identify", "trickle_enumerate"],
)
def test_each_wsman_failure_of_the_probe_is_read_back_from_the_capture(record, tmp_path, scenario):
    with FakeWsman(scenario) as fake:
        run = probe_and_record(record, tmp_path, fake.port, "wsman", timeout=1.0)
    assert not run.probe.passed
    assert_same_verdict(run)


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario(restrict_anonymous=True),  # RestrictRemoteClients: fault 5 to the anonymous resolver call
        Scenario(launch_denied=True),  # a valid account without launch rights (or remote-UAC filtered)
        Scenario(exec_error=0x80041017),  # ExecQuery refuses the query text
        Scenario(provider_delay=3.0),  # the provider has no row before Next's timeout: WBEM_S_TIMEDOUT
        Scenario(authenticated_faults={"RemoteCreateInstance": 0x6BA}),  # an RPC server status as a fault
        Scenario(stall=("ExecQuery",)),
        Scenario(trickle=("ExecQuery",), trickle_gap=0.05),  # the reply still arriving at the time limit
        Scenario(faults={"ServerAlive2": 0x6BA}),  # RPCSS itself answers with a fault
    ],
    ids=[
        "restrict_anonymous",
        "launch_denied",
        "exec_error",
        "provider_timeout",
        "fault_6ba",
        "stall_exec",
        "trickle_exec",
        "resolver_fault",
    ],
)
def test_more_dcom_failures_of_the_probe_are_read_back_from_the_capture(record, tmp_path, fake_host, scenario):
    run = probe_and_record(record, tmp_path, fake_host(scenario).port, "dcom", timeout=1.0)
    assert not run.probe.passed
    assert_same_verdict(run)


def test_a_listener_certificate_the_client_does_not_trust(record, tmp_path, self_signed):
    """TLS 1.3: the server's certificate travels encrypted; the client's unknown_ca alert, before it sent any data,
    is what the capture shows."""
    with FakeWsman(certificate=self_signed) as fake, record(fake.port) as capture:
        options = ProbeOptions(transports=("wsman",), timeout=3.0, wsman_port=fake.port, https=True)
        (result,) = probe_host(Target("127.0.0.1"), GOOD, options)
    run = Run(result, analyse(capture.write(tmp_path / "tls.pcap"), wsman_ports=frozenset({fake.port})))
    assert (run.probe.failing_stage.name, run.probe.failing_stage.reason) == ("tcp", "certificate")
    assert_same_verdict(run)
