"""A fake WinRM listener on loopback (http.server): anonymous wsmid:Identify, Negotiate/NTLM
authentication checked by pyspnego's acceptor against an NTLM_USER_FILE, WinRM message encryption
(multipart/encrypted, as pypsrp and Windows use it), and Enumerate answered with an instance or with
the SOAP fault a Windows host sends (WSManFault with the WMI status, MSFT_WmiError with error_Code)."""

from __future__ import annotations

import base64
import os
import re
import tempfile
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IDENTIFY_RESPONSE = """<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" \
xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body>\
<wsmid:IdentifyResponse><wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion>\
<wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor><wsmid:ProductVersion>OS: 0.0.0 SP: 0.0 Stack: 3.0\
</wsmid:ProductVersion></wsmid:IdentifyResponse></s:Body></s:Envelope>"""

HEADER = """<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:5E1E8A2C-0000-0000-0000-000000000001</a:MessageID>\
<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>\
<a:RelatesTo>{relates}</a:RelatesTo></s:Header>"""

ENVELOPE = """<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" \
xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" \
xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">{header}<s:Body>{body}</s:Body></s:Envelope>"""

ENUMERATE_RESPONSE = """<n:EnumerateResponse><n:EnumerationContext></n:EnumerationContext><w:Items>\
<p:Win32_OperatingSystem xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_OperatingSystem">\
<p:Caption>Microsoft Windows Server 2022 Standard</p:Caption><p:CSName>FAKEWMI</p:CSName>\
<p:Version>10.0.20348</p:Version></p:Win32_OperatingSystem></w:Items><w:EndOfSequence/></n:EnumerateResponse>"""

FAULT = """<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>\
<s:Reason><s:Text xml:lang="en-US">{reason}</s:Text></s:Reason><s:Detail>\
<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="{code}" Machine="FAKEWMI">\
<f:Message><f:ProviderFault provider="WMI Provider" path="%systemroot%\\system32\\WsmWmiPl.dll">\
<f:WSManFault Code="{code}" Machine="FAKEWMI"><f:Message>{reason}</f:Message></f:WSManFault>\
<p:MSFT_WmiError b:IsCIM_Error="true" xmlns:b="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd" \
xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/MSFT_WmiError">\
<p:Message>{reason}</p:Message><p:error_Code>{code}</p:error_Code></p:MSFT_WmiError>\
</f:ProviderFault></f:Message></f:WSManFault></s:Detail></s:Fault>"""

BOUNDARY = "Encrypted Boundary"


@dataclass
class WsmanScenario:
    user: str = "probe"
    password: str = "Secret-1"
    fault_code: int = 0  # a WMI status to fail the Enumerate with
    fault_subcode: str = "w:InternalError"
    fault_reason: str = "The WS-Management service cannot process the request."
    not_admitted: bool = False  # valid account, refused after the Negotiate exchange (RootSDDL, remote UAC)
    plain_500: bool = False  # the Enumerate answered by an HTTP 500 that is not a SOAP fault (a proxy)
    stall: str = ""  # "identify" or "enumerate": never answer that request
    trickle: str = ""  # "identify" or "enumerate": send that answer a byte at a time
    trickle_gap: float = 0.2


class FakeWsman:
    def __init__(self, scenario: WsmanScenario | None = None, certificate: tuple[str, str] | None = None):
        self.scenario = scenario or WsmanScenario()
        handle, self.users = tempfile.mkstemp(suffix=".ntlm")
        with os.fdopen(handle, "w") as users:
            for domain in ("", "CORP"):  # a local account, and the same one as a domain account
                users.write(f"{domain}:{self.scenario.user}:{self.scenario.password}\n")
        os.environ["NTLM_USER_FILE"] = self.users  # pyspnego's acceptor reads its accounts from here
        scenario = self.scenario

        class Handler(_Handler):
            pass

        Handler.scenario = scenario
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.stopping = threading.Event()  # type: ignore[attr-defined]  (releases stalled handlers)
        if certificate is not None:  # (cert file, key file): an HTTPS listener
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeWsman:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stopping.set()  # type: ignore[attr-defined]
        self.server.shutdown()
        self.server.server_close()
        os.unlink(self.users)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    scenario: WsmanScenario

    def setup(self) -> None:
        super().setup()
        self.context = None  # one handler lives as long as its (keep-alive) connection: NTLM binds to it

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        import spnego
        from pypsrp.encryption import WinRMEncryption

        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        auth = self.headers.get("Authorization", "")
        encrypted = self.headers.get("Content-Type", "").startswith("multipart/encrypted")
        if not auth and not (encrypted and self.context is not None and self.context.complete):
            # Anonymous Identify only with the header Test-WSMan sends; anything else asks for authentication.
            if b"Identify" in body and self.headers.get("WSMANIDENTIFY", "").lower() == "unauthenticated":
                if self.scenario.stall == "identify":
                    self.server.stopping.wait()
                    return
                self.reply(
                    200,
                    IDENTIFY_RESPONSE.encode(),
                    "application/soap+xml;charset=UTF-8",
                    slow=self.scenario.trickle == "identify",
                )
            else:
                self.reply(401, b"", extra={"WWW-Authenticate": "Negotiate"})
            return
        if auth.startswith("Negotiate "):
            if self.context is None:
                self.context = spnego.server(protocol="negotiate")
            context = self.context
            try:
                out = context.step(base64.b64decode(auth.split(" ", 1)[1]))
            except spnego.exceptions.SpnegoError:
                self.context = None
                self.reply(401, b"", extra={"WWW-Authenticate": "Negotiate"})
                return
            header = {"WWW-Authenticate": "Negotiate " + base64.b64encode(out).decode()} if out else {}
            if not context.complete:
                self.reply(401, b"", extra=header)
                return
            if self.scenario.not_admitted:
                # Authenticated, then refused: the final token shows the exchange completed.
                self.context = None
                self.reply(401, b"", extra=header)
                return
            if not body:
                self.reply(200, b"", extra=header)
                return
        context = self.context
        encryption = WinRMEncryption(context, WinRMEncryption.SPNEGO)
        message = encryption.unwrap_message(body, BOUNDARY)
        if self.scenario.stall == "enumerate":
            self.server.stopping.wait()
            return
        if self.scenario.plain_500:
            self.reply(500, b"<html><body>Internal Server Error</body></html>", "text/html")
            return
        status, answer = self.answer(message)
        content_type, payload = encryption.wrap_message(answer)
        self.reply(
            status,
            payload,
            f'{content_type};protocol="{WinRMEncryption.SPNEGO}";boundary="{BOUNDARY}"',
            slow=self.scenario.trickle == "enumerate",
        )

    def answer(self, message: bytes) -> tuple[int, bytes]:
        root = ET.fromstring(message)
        message_id = root.findtext(".//{http://schemas.xmlsoap.org/ws/2004/08/addressing}MessageID") or ""
        header = HEADER.format(
            action="http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse", relates=message_id
        )
        if self.scenario.fault_code:
            fault = FAULT.format(
                code=self.scenario.fault_code, subcode=self.scenario.fault_subcode, reason=self.scenario.fault_reason
            )
            fault_header = re.sub(
                r"<a:Action>.*?</a:Action>",
                "<a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action>",
                header,
            )
            return 500, ENVELOPE.format(header=fault_header, body=fault).encode()
        return 200, ENVELOPE.format(header=header, body=ENUMERATE_RESPONSE).encode()

    def reply(
        self, status: int, body: bytes, content_type: str = "", extra: dict[str, str] | None = None, slow: bool = False
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not slow:
            self.wfile.write(body)
            return
        self.wfile.flush()
        for byte in body:
            if self.server.stopping.wait(self.scenario.trickle_gap):
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
