"""Kerberos failures of `probe` against a real MIT KDC on loopback, recorded off `lo` while the probe runs and read
back by `pcap`: the capture's verdict must be the probe's. The KDC's KRB-ERROR travels in the clear, so the code
is read from the wire; the target's refusal of a valid ticket is the bind_nak with reason 9 a Windows host sends.

Skipped when the MIT KDC is not installed or no packet socket can be opened, except under CI=true, where a
missing KDC is a failure (as in tests/remote/test_kerberos.py)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from tests.pcap.recording import Run, assert_same_verdict
from tests.remote.kdc import ACCOUNT_REFUSALS, PASSWORD, REALM, MitKdc, account, silent_kdc
from tests.schemas.documents import load_schema

from wmidoctor.pcap.analyse import analyse
from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.probe import ProbeOptions, Target, probe_host

pytestmark = pytest.mark.network


def probe_and_record(
    record, tmp_path, kdc: MitKdc, port: int, name: str, password: str, host: str = "localhost"
) -> Run:
    creds = Credentials(user=name, domain=REALM, password=password, kerberos=True)
    options = ProbeOptions(transports=("dcom",), timeout=3.0, kdc=kdc.address)
    with record(port, kdc.port) as capture:
        (result,) = probe_host(Target(host, port), creds, options)
    path = capture.write(tmp_path / "kerberos.pcap")
    return Run(result, analyse(path, rpc_ports=frozenset({port}), kdc_ports=frozenset({kdc.port})))


@pytest.mark.parametrize(("setup", "code", "reason"), ACCOUNT_REFUSALS)
def test_a_kdc_refusal_is_read_from_the_capture(record, tmp_path, kdc, fake_host, setup, code, reason):
    name, password = account(kdc, setup)
    run = probe_and_record(record, tmp_path, kdc, fake_host().port, name, password)
    stage = run.probe.failing_stage
    assert (stage.name, stage.reason, stage.raw) == ("kdc", reason, code)
    assert_same_verdict(run)
    assert run.finding.result.verdict.symbol == f"KRB-ERROR {code}"
    document = {"schema": "wmidoctor.pcap/1", "captures": [run.capture.to_data()]}
    jsonschema.validate(document, load_schema("pcap"), cls=jsonschema.Draft202012Validator)
    assert password not in json.dumps(document)


def test_a_valid_ticket_the_target_refuses_is_bind_nak_9_in_the_capture(record, tmp_path, kdc, fake_host):
    name, password = account(kdc, "valid")
    run = probe_and_record(record, tmp_path, kdc, fake_host().port, name, password)
    stage = run.probe.failing_stage
    assert (stage.name, stage.reason, stage.raw) == ("authentication", "bind_nak_security", 9)
    assert_same_verdict(run)
    attempt = run.finding.attempt
    assert "Kerberos" in attempt.mechanisms or "Negotiate" in attempt.mechanisms, attempt.mechanisms


def _probe_with_kdc_at(record, tmp_path, kdc_port: int, target_port: int) -> Run:
    creds = Credentials(user="someone", domain=REALM, password=PASSWORD, kerberos=True)
    options = ProbeOptions(transports=("dcom",), timeout=0.5, kdc=f"127.0.0.1:{kdc_port}")
    with record(target_port, kdc_port) as capture:
        (result,) = probe_host(Target("localhost", target_port), creds, options)
    path = capture.write(tmp_path / "kdc.pcap")
    return Run(result, analyse(path, rpc_ports=frozenset({target_port}), kdc_ports=frozenset({kdc_port})))


def test_a_kdc_that_never_answers_is_the_kdc_stage_without_an_answer(record, tmp_path, fake_host):
    with silent_kdc() as kdc_port:
        run = _probe_with_kdc_at(record, tmp_path, kdc_port, fake_host().port)
    assert run.probe.failing_stage.reason == "no_answer"
    assert_same_verdict(run)
    (silence,) = run.finding.attempt.kdc_unanswered
    assert not silence.refused


def test_a_kdc_port_that_refuses_the_connection(record, tmp_path, fake_host, closed_port):
    run = _probe_with_kdc_at(record, tmp_path, closed_port, fake_host().port)
    assert run.probe.failing_stage.reason == "refused"
    assert_same_verdict(run)
    assert run.finding.attempt.kdc_unanswered[0].refused


def test_no_service_principal_for_the_name_probed(record, tmp_path, kdc, fake_host):
    name, password = account(kdc, "valid")
    run = probe_and_record(record, tmp_path, kdc, fake_host().port, name, password, host="127.0.0.1")
    assert (run.probe.failing_stage.reason, run.probe.failing_stage.raw) == ("krb_server_unknown", 7)
    assert_same_verdict(run)


def test_a_kdc_policy_refusal(record, tmp_path, kdc, fake_host):
    name, password = account(kdc, "valid")
    kdc.kadmin("modprinc -allow_tgs_req host/localhost")
    try:
        run = probe_and_record(record, tmp_path, kdc, fake_host().port, name, password)
    finally:
        kdc.kadmin("modprinc +allow_tgs_req host/localhost")
    assert (run.probe.failing_stage.reason, run.probe.failing_stage.raw) == ("krb_policy", 12)
    assert_same_verdict(run)
