"""The WS-Man walk against a fake WinRM listener on loopback (real NTLM and message encryption)."""

from __future__ import annotations

import pytest
from tests.remote.fakes.wsman import FAULT, FakeWsman, WsmanScenario

from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.probe import ProbeOptions, Target, probe_host
from wmidoctor.remote.wsman import WsmanOptions, decode_fault, resource_for

pytestmark = pytest.mark.network

GOOD = Credentials(user="probe", password="Secret-1")


def wsman(port: int, creds: Credentials = GOOD):
    (result,) = probe_host(Target("127.0.0.1", port), creds, ProbeOptions(transports=("wsman",), timeout=5.0))
    return result


def test_healthy_listener_identifies_authenticates_and_returns_a_row():
    with FakeWsman() as fake:
        result = wsman(fake.port)
    assert [s.status for s in result.stages] == ["ok"] * 5, result.stages
    assert "Microsoft Corporation" in result.stages[2].detail
    assert result.first_row.startswith("Win32_OperatingSystem Caption=Microsoft Windows Server 2022")


def test_wrong_password_fails_authentication_not_enumerate():
    with FakeWsman() as fake:
        result = wsman(fake.port, Credentials(user="probe", password="nope"))
    stage = result.failing_stage
    assert (stage.name, stage.reason, stage.code) == ("authentication", "logon_failure", 0x80070005)
    assert result.stages[-1].status == "not_reached"
    assert "winrm get winrm/config/service/auth" in result.verdict.fixes[0].command


def test_wmi_fault_inside_the_soap_fault_is_decoded_and_explained():
    scenario = WsmanScenario(fault_code=0x80041010, fault_reason="The WMI service returned an 'invalid class' error.")
    with FakeWsman(scenario) as fake:
        result = wsman(fake.port)
    stage = result.failing_stage
    assert (stage.name, stage.code, stage.layer) == ("enumerate", 0x80041010, "wmi")
    assert "invalid class" in stage.detail
    assert result.verdict.symbol == "WBEM_E_INVALID_CLASS"


def test_winrm_fault_gets_the_catalogue_cause_and_fixes():
    scenario = WsmanScenario(fault_code=0x80338104, fault_reason="The WMI service returned an 'access denied' error.")
    with FakeWsman(scenario) as fake:
        result = wsman(fake.port)
    stage, verdict = result.failing_stage, result.verdict
    assert (stage.name, stage.code, stage.layer) == ("enumerate", 0x80338104, "wsman")
    assert verdict.symbol == "ERROR_WSMAN_WMI_SVC_ACCESS_DENIED"
    assert "Remote Enable" in verdict.cause, "the entry's likeliest cause, not the generic rule's"
    assert any(fix.command == "wmimgmt.msc" for fix in verdict.fixes)


def test_access_denied_fault_is_recognised():
    scenario = WsmanScenario(fault_code=0x80070005, fault_subcode="w:AccessDenied", fault_reason="Access is denied.")
    with FakeWsman(scenario) as fake:
        result = wsman(fake.port)
    assert (result.failing_stage.name, result.failing_stage.reason) == ("enumerate", "access_denied")
    assert any("Remote Management Users" in f.command for f in result.verdict.fixes)
    assert "remote UAC" in result.verdict.cause  # no domain given: a local account


def test_closed_winrm_port_is_refused(closed_port):
    result = wsman(closed_port)
    assert (result.failing_stage.name, result.failing_stage.reason) == ("tcp", "refused")
    assert "winrm quickconfig" in result.verdict.fixes[0].command


def test_anonymous_probe_stops_after_identify():
    with FakeWsman() as fake:
        result = wsman(fake.port, Credentials())
    assert [s.status for s in result.stages] == ["ok", "ok", "ok", "skipped", "not_reached"]
    assert result.passed


def test_decode_fault_reads_the_wsman_code_and_the_wmi_error_code():
    body = FAULT.format(code=2150858778, subcode="w:InvalidSelectors", reason="bad selector")
    envelope = f'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>{body}</s:Body></s:Envelope>'
    fault = decode_fault(envelope)
    assert (fault.code, fault.subcode, fault.message) == (2150858778, "InvalidSelectors", "bad selector")


def test_resource_uri_from_namespace_and_query():
    assert resource_for(WsmanOptions()) == (
        "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_OperatingSystem",
        None,
    )
    uri, wql = resource_for(WsmanOptions(namespace="root\\StandardCimv2", query="SELECT Name FROM MSFT_NetAdapter"))
    assert uri.endswith("/root/StandardCimv2/*") and wql == "SELECT Name FROM MSFT_NetAdapter"


def test_an_http_error_is_not_read_as_a_windows_error_code():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NotWinrm(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotWinrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = wsman(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
    stage = result.failing_stage
    assert (stage.name, stage.reason, stage.code) == ("identify", "http", None)
    assert "HTTP 404" in stage.detail
    assert result.verdict.symbol == ""


def test_valid_account_not_admitted_is_not_called_bad_credentials():
    """WinRM answers 401 both ways; after a completed Negotiate exchange it is RootSDDL or remote UAC."""
    with FakeWsman(WsmanScenario(not_admitted=True)) as fake:
        result = wsman(fake.port, Credentials(user="probe", domain="CORP", password="Secret-1"))
    stage, verdict = result.failing_stage, result.verdict
    assert (stage.name, stage.reason, stage.code) == ("authentication", "not_admitted", 0x80070005)
    assert "credentials are valid" in verdict.cause and "RootSDDL" in verdict.cause
    assert verdict.proof.startswith("credentials accepted")
    assert "Remote Management Users" in verdict.fixes[0].command


def test_wrong_password_gets_a_bare_401():
    with FakeWsman() as fake:
        result = wsman(fake.port, Credentials(user="probe", domain="CORP", password="nope"))
    assert (result.failing_stage.reason, result.facts.get("credentials_proved")) == ("logon_failure", False)


def test_a_500_that_is_not_a_soap_fault_is_an_http_error():
    with FakeWsman(WsmanScenario(plain_500=True)) as fake:
        result = wsman(fake.port)
    stage = result.failing_stage
    assert (stage.name, stage.reason, stage.carrier, stage.raw, stage.code) == ("enumerate", "http", "http", 500, None)
    assert "not a WS-Management fault" in result.verdict.cause


def test_refused_winrm_port_has_the_destination_unreachable_code(closed_port):
    result = wsman(closed_port)
    assert result.failing_stage.code == 0x80338012
    assert result.verdict.symbol == "ERROR_WSMAN_DESTINATION_UNREACHABLE"


def test_identify_is_sent_with_the_unauthenticated_header():
    """The fake, like a listener, asks for authentication when the header is missing; the probe gets a
    real IdentifyResponse, so it sent it."""
    with FakeWsman() as fake:
        result = wsman(fake.port, Credentials())
    assert "Microsoft Corporation" in result.stages[2].detail


def test_untrusted_certificate_is_a_client_trust_problem_not_a_firewall(self_signed):
    with FakeWsman(certificate=self_signed) as fake:
        (result,) = probe_host(
            Target("127.0.0.1"),
            GOOD,
            ProbeOptions(transports=("wsman",), timeout=5.0, wsman_port=fake.port, https=True),
        )
    stage = result.failing_stage
    assert (stage.name, stage.reason) == ("tcp", "certificate")
    assert result.verdict.where == "client" and "trust" in result.verdict.cause


def test_wsman_kerberos_without_gssapi_says_which_extra_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_gssapi(name, *args, **kwargs):
        if name == "gssapi":
            raise ImportError("No module named 'gssapi'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_gssapi)
    with FakeWsman() as fake:
        result = wsman(fake.port, Credentials(user="probe", domain="CORP.EXAMPLE", password="Secret-1", kerberos=True))
    stage = result.failing_stage
    assert (stage.name, stage.reason) == ("authentication", "gssapi_missing")
    assert result.verdict.where == "client" and "wmidoctor[kerberos]" in result.verdict.fixes[0].command
