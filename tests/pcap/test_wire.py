"""Exchanges the probe's fakes do not produce, made on loopback with the standard library and recorded:
a WinRM listener answering a SOAP fault in clear (HTTP Basic with AllowUnencrypted, as some set-ups run),
and a TLS listener refusing the handshake."""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from tests.remote.fakes.wsman import ENVELOPE, FAULT

from wmidoctor.pcap.analyse import analyse

pytestmark = pytest.mark.network

SOAP = (
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><n:Enumerate '
    b'xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"/></s:Body></s:Envelope>'
)


class _Clear(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self.headers.get("Authorization", "").startswith("Basic "):
            body, status, extra = b"", 401, {"WWW-Authenticate": 'Basic realm="WSMAN"'}
        else:
            fault = FAULT.format(code=0x80041010, subcode="w:InternalError", reason="Invalid class")
            body, status, extra = ENVELOPE.format(header="<s:Header/>", body=fault).encode(), 500, {}
        self.send_response(status)
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_soap_fault_in_clear_is_decoded_to_the_wmi_code(record, tmp_path):
    import http.client

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Clear)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with record(port) as capture:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            for headers in ({}, {"Authorization": "Basic cHJvYmU6U2VjcmV0LTE="}):
                connection.request("POST", "/wsman", SOAP, {"Content-Type": "application/soap+xml", **headers})
                connection.getresponse().read()
            connection.close()
    finally:
        server.shutdown()
        server.server_close()
    (finding,) = analyse(capture.write(tmp_path / "clear.pcap"), wsman_ports=frozenset({port})).findings
    stage = finding.result.failing_stage
    assert (stage.name, stage.reason, stage.code, stage.layer) == ("enumerate", "wsman_fault", 0x80041010, "wmi")
    assert finding.result.verdict.symbol == "WBEM_E_INVALID_CLASS"
    assert "Basic" in finding.attempt.mechanisms
    assert "cHJvYmU6" not in str(finding.to_data())  # the Basic credentials are never reported


def test_tls_handshake_refused_by_the_listener(record, tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def refuse() -> None:  # read the ClientHello, answer a fatal handshake_failure alert, close
        peer, _ = listener.accept()
        peer.recv(65536)
        peer.sendall(b"\x15\x03\x03\x00\x02\x02\x28")
        peer.close()

    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with record(port) as capture:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname="localhost")
        thread.join(5)
    listener.close()
    (finding,) = analyse(capture.write(tmp_path / "tls.pcap"), wsman_ports=frozenset({port})).findings
    stage = finding.result.failing_stage
    assert (stage.name, stage.reason) == ("identify", "tls")
    assert "fatal handshake_failure alert from the server" in stage.detail
    assert [e.kind for e in finding.attempt.tls][:2] == ["ClientHello", "alert"]
