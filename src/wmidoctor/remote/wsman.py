"""The WS-Man path: TCP (and TLS) to the WinRM port, an anonymous wsmid:Identify, a Negotiate (or
Kerberos) exchange, then an Enumerate of the class through the WMI resource URI, with WinRM message
encryption. SOAP faults are decoded down to the WMI code WinRM embeds in them.

HTTP is spoken here over a socket this module opened, so that every read honours the stage's deadline
(a listener that trickles bytes cannot stretch a stage), and so that the authentication legs are seen one
by one: a 401 after the server completed the Negotiate exchange (valid account, not admitted by RootSDDL
or remote UAC) is told from a 401 that refused the credentials. pyspnego builds the tokens and pypsrp's
WinRMEncryption wraps the messages, as for pypsrp's own client.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import time
import uuid
import xml.etree.ElementTree as ET
from contextlib import suppress
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_untrusted

from wmidoctor.remote import network
from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.model import ProbeResult
from wmidoctor.remote.verdicts import HTTP, SOAP_FAULT
from wmidoctor.remote.walk import StageFailure, Stopped, Walk, current_deadline

PLAN = [
    ("dns", "network"),
    ("tcp", "network"),
    ("identify", "wsman"),
    ("authentication", "authentication"),
    ("enumerate", "wmi"),
]

HTTP_PORT, HTTPS_PORT = 5985, 5986
HRESULT_TIMEOUT = 0x800705B4
MAX_BODY = 16 * 1024 * 1024
NEGOTIATE_LEGS = 3

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "wsmid": "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
}
IDENTIFY = (
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    b'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
    b"<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"
)
WMI_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
WQL_DIALECT = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
SOAP_TYPE = "application/soap+xml;charset=UTF-8"
ENCRYPTED_BOUNDARY = "Encrypted Boundary"

ENUMERATE = """<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" \
xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" \
xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:To>{to}</a:To>\
<w:ResourceURI s:mustUnderstand="true">{uri}</w:ResourceURI><a:ReplyTo><a:Address s:mustUnderstand="true">\
http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>\
<a:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action>\
<w:MaxEnvelopeSize s:mustUnderstand="true">153600</w:MaxEnvelopeSize><a:MessageID>uuid:{message_id}</a:MessageID>\
<w:Locale xml:lang="en-US" s:mustUnderstand="false"/><w:OperationTimeout>PT{seconds}S</w:OperationTimeout>\
</s:Header><s:Body><n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>1</w:MaxElements>{filter}</n:Enumerate>\
</s:Body></s:Envelope>"""


@dataclass
class WsmanOptions:
    namespace: str = "root\\cimv2"
    query: str = "SELECT * FROM Win32_OperatingSystem"
    timeout: float = 10.0
    port: int | None = None  # default: 5985, then 5986 with TLS (or only 5986 with https)
    https: bool = False


@dataclass
class Fault:
    code: int | None  # the WMI or WinRM status a Windows client would show
    subcode: str
    message: str


@dataclass
class Response:
    status: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower(), [])
        return values[-1] if values else ""

    def negotiate_token(self) -> bytes | None:
        """The token of a `WWW-Authenticate: Negotiate|Kerberos <token>` header, if the server sent one."""
        for value in self.headers.get("www-authenticate", []):
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() in ("negotiate", "kerberos") and token.strip():
                return base64.b64decode(token.strip())
        return None


class HttpDeadline(TimeoutError):
    """The stage's deadline passed while the answer was still arriving."""


class HttpConnection:
    """HTTP/1.1 over one connected socket, each read bounded by the current stage's deadline."""

    def __init__(self, sock: socket.socket, host_header: str):
        self.sock = sock
        self.host_header = host_header
        self.buffer = b""

    def close(self) -> None:
        with suppress(OSError):
            self.sock.close()

    def _recv(self, got_some: bool) -> bytes:
        deadline = current_deadline()
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HttpDeadline("the stage's time limit passed") if got_some else TimeoutError("no answer")
            self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError as exc:
            if got_some:
                raise HttpDeadline("the stage's time limit passed while the answer was arriving") from exc
            raise
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        return chunk

    def request(self, path: str, headers: dict[str, str], body: bytes) -> Response:
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host_header}",
            f"Content-Length: {len(body)}",
            "User-Agent: wmidoctor",
            "Connection: Keep-Alive",
        ]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        deadline = current_deadline()
        if deadline is not None:
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        got_some = bool(self.buffer)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv(got_some)
            got_some = True
            if len(self.buffer) > MAX_BODY:
                raise ValueError("the HTTP header never ended")
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ValueError(f"not an HTTP answer: {status_line[:60]!r}")
        response = Response(int(parts[1]))
        for line in header_lines:
            name, _, value = line.partition(":")
            response.headers.setdefault(name.strip().lower(), []).append(value.strip())
        if response.header("transfer-encoding").lower() == "chunked":
            response.body = self._chunked()
        else:
            length = int(response.header("content-length") or 0)
            while len(self.buffer) < length:
                self.buffer += self._recv(True)
            response.body, self.buffer = self.buffer[:length], self.buffer[length:]
        return response

    def _chunked(self) -> bytes:
        body = b""
        while True:
            while b"\r\n" not in self.buffer:
                self.buffer += self._recv(True)
            size_line, self.buffer = self.buffer.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(self.buffer) < size + 2:
                self.buffer += self._recv(True)
            body, self.buffer = body + self.buffer[:size], self.buffer[size + 2 :]
            if size == 0:
                return body


def decode_fault(xml_text: str | bytes) -> Fault:
    """A SOAP fault from WinRM: the f:WSManFault Code, and the WMI error_Code / WMIFault beneath it."""
    root = parse_untrusted(xml_text)
    if root.find(".//s:Fault", NS) is None:
        raise ValueError("no SOAP fault in the answer")
    subcode = root.findtext(".//s:Fault/s:Code/s:Subcode/s:Value", default="", namespaces=NS)
    message = root.findtext(".//s:Fault/s:Reason/s:Text", default="", namespaces=NS).strip()
    code: int | None = None
    wsman_fault = root.find(".//f:WSManFault", NS)
    if wsman_fault is not None:
        with suppress(ValueError, TypeError):
            code = int(wsman_fault.get("Code", ""), 0)
        message = (wsman_fault.findtext("f:Message", default="", namespaces=NS) or message).strip()
        inner = wsman_fault.find(".//f:ProviderFault/f:WSManFault/f:Message", NS)
        if inner is not None and (inner_text := (inner.text or "").strip()):
            message = inner_text
    for element in root.iter():  # MSFT_WmiError (CIM_Error) carries the WMI status as error_Code
        if element.tag.rsplit("}", 1)[-1] in ("error_Code", "ErrorCode") and (text := (element.text or "").strip()):
            with suppress(ValueError):
                code = int(text, 0)
                break
    return Fault(code=code & 0xFFFFFFFF if code is not None else None, subcode=subcode.split(":")[-1], message=message)


def resource_for(options: WsmanOptions) -> tuple[str, str | None]:
    """Resource URI and optional WQL filter: a plain `SELECT * FROM Class` enumerates the class URI."""
    namespace = options.namespace.replace("\\", "/").strip("/")
    match = re.fullmatch(r"\s*select\s+\*\s+from\s+(\w+)\s*", options.query, re.IGNORECASE)
    if match:
        return f"{WMI_URI}{namespace}/{match.group(1)}", None
    return f"{WMI_URI}{namespace}/*", options.query


def new_walk(host: str, options: WsmanOptions, started: float | None = None) -> Walk:
    return Walk(host, "wsman", PLAN, options.timeout, classify, started)


def classify(stage: str, exc: BaseException) -> StageFailure:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return StageFailure(
            f"the listener's certificate is not trusted: {exc.verify_message or exc}",
            reason="certificate",
            layer="network",
        )
    if isinstance(exc, HttpDeadline):
        return StageFailure(
            "the listener was still sending when the stage's time limit passed (it trickles)", reason="deadline"
        )
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return StageFailure("no HTTP answer in time", reason="no_answer", code=HRESULT_TIMEOUT)
    if isinstance(exc, ssl.SSLError):
        return StageFailure(f"TLS failed: {exc}", reason="tls", layer="network")
    if isinstance(exc, (ConnectionError, BrokenPipeError)):
        return StageFailure(f"the connection failed: {exc}", reason="closed")
    if isinstance(exc, ValueError):
        return StageFailure(f"the answer is not HTTP: {exc}", reason="not_http", layer="http")
    return StageFailure(f"{type(exc).__name__}: {exc}", reason="unexpected")


def probe_wsman(host: str, address: str, creds: Credentials, options: WsmanOptions, walk: Walk) -> ProbeResult:
    connections: list[HttpConnection] = []
    try:
        _walk(host, address, creds, options, walk, connections)
    except Stopped:
        pass
    finally:
        for connection in connections:
            connection.close()
    return walk.finish()


def _ports(options: WsmanOptions) -> list[tuple[int, bool]]:
    if options.port:
        return [(options.port, options.https or options.port == HTTPS_PORT)]
    if options.https:
        return [(HTTPS_PORT, True)]
    return [(HTTP_PORT, False), (HTTPS_PORT, True)]


def _open(
    host: str, address: str, port: int, tls: bool, timeout: float, connections: list[HttpConnection]
) -> HttpConnection:
    sock = network.connect(address, port, timeout, None)
    if tls:
        context = ssl.create_default_context()
        sock.settimeout(timeout)
        try:
            sock = context.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
    connection = HttpConnection(sock, f"{_url_host(host)}:{port}")
    connections.append(connection)
    return connection


def _walk(
    host: str, address: str, creds: Credentials, options: WsmanOptions, walk: Walk, connections: list[HttpConnection]
) -> None:
    with walk.stage("tcp") as step:
        failure: StageFailure | None = None
        candidates = _ports(options)
        for index, (port, tls) in enumerate(candidates):
            share = step.left() / (len(candidates) - index)  # each port its part of the stage's time
            if share <= 0:
                break
            try:
                connection = _open(host, address, port, tls, share, connections)
                break
            except StageFailure as exc:
                failure = exc
        else:
            assert failure is not None
            if len(candidates) > 1:
                failure.detail = failure.detail.replace(f"TCP {HTTPS_PORT}", f"TCP {HTTP_PORT} and {HTTPS_PORT}", 1)
            raise failure
        step.detail = f"TCP {port} open ({'HTTPS, certificate trusted' if tls else 'HTTP'})"

    with walk.stage("identify") as step:
        # What Test-WSMan sends: without this header a listener asks for authentication.
        reply = connection.request("/wsman", {"Content-Type": SOAP_TYPE, "WSMANIDENTIFY": "unauthenticated"}, IDENTIFY)
        if reply.status == 401:
            step.detail = "the listener answers but refuses anonymous Identify (authentication required)"
        elif reply.status != 200:
            raise StageFailure(
                f"HTTP {reply.status} to Identify: not a WinRM listener, or it refuses it",
                carrier=HTTP,
                code=reply.status,
                layer="http",
            )
        else:
            try:
                root = parse_untrusted(reply.body)
            except (ET.ParseError, DefusedXmlException) as exc:
                raise StageFailure(
                    "HTTP 200 to Identify without a WS-Management answer", carrier=HTTP, code=reply.status, layer="http"
                ) from exc
            vendor = root.findtext(".//wsmid:ProductVendor", default="?", namespaces=NS)
            version = root.findtext(".//wsmid:ProductVersion", default="?", namespaces=NS)
            step.detail = f"{vendor} {version}".strip()

    if creds.anonymous:
        walk.skip("authentication", "no credentials given (-u USER): stopping after Identify")
        return
    if creds.nthash and not creds.password:
        walk.skip("authentication", "WS-Man here authenticates with a password or Kerberos, not an NT hash")
        return
    with walk.stage("authentication") as step:
        connection = _open(host, address, port, tls, step.left(), connections)
        context = _authenticate(host, creds, connection, walk)
        step.detail = f"{creds.principal} accepted ({context.negotiated_protocol}; the server completed the exchange)"
    with walk.stage("enumerate") as step:
        _enumerate(connection, context, creds, options, walk, step, port, tls, host)


def _security_context(host: str, creds: Credentials):
    import spnego

    if creds.kerberos:
        try:
            import gssapi  # noqa: F401  (pyspnego's Kerberos on Linux)
        except ImportError as exc:
            raise StageFailure(
                "WS-Man Kerberos needs the gssapi package: pip install 'wmidoctor[kerberos]'",
                reason="gssapi_missing",
                layer="authentication",
            ) from exc
        return spnego.client(creds.user, creds.password or None, hostname=host, service="http", protocol="kerberos")
    user = f"{creds.domain}\\{creds.user}" if creds.domain else creds.user
    return spnego.client(user, creds.password, hostname=host, service="http", protocol="negotiate")


def _authenticate(host: str, creds: Credentials, connection: HttpConnection, walk: Walk):
    """The Negotiate legs on an empty body (as pypsrp sets up message encryption). A final 401 that carries
    the server's last token means the exchange completed and the account was then refused (RootSDDL or
    remote UAC); a bare 401 means the credentials were."""
    context = _security_context(host, creds)
    token = context.step()
    scheme = "Kerberos" if creds.kerberos else "Negotiate"
    for _ in range(NEGOTIATE_LEGS):
        reply = connection.request(
            "/wsman", {"Content-Type": SOAP_TYPE, "Authorization": f"{scheme} {base64.b64encode(token).decode()}"}, b""
        )
        server_token = reply.negotiate_token()
        if server_token and not context.complete:
            token = context.step(server_token) or b""
        if reply.status == 200:
            walk.result.facts["credentials_proved"] = True
            return context
        if reply.status == 401 and server_token and not context.complete and token:
            continue  # the server's challenge: answer it
        if reply.status == 401:
            walk.result.facts["credentials_proved"] = bool(server_token)
            completed = "after the server completed the exchange" if server_token else "refusing the credentials"
            raise StageFailure(f"WinRM answered 401 to {creds.principal} {completed}", carrier=HTTP, code=401)
        raise StageFailure(f"HTTP {reply.status} during authentication", carrier=HTTP, code=reply.status)
    raise StageFailure("the Negotiate exchange did not end", carrier=HTTP, code=401)


def _enumerate(
    connection: HttpConnection,
    context,
    creds: Credentials,
    options: WsmanOptions,
    walk: Walk,
    step,
    port: int,
    tls: bool,
    host: str,
) -> None:
    from pypsrp.encryption import WinRMEncryption

    uri, wql = resource_for(options)
    query = f'<w:Filter Dialect="{WQL_DIALECT}">{_xml_text(wql)}</w:Filter>' if wql else ""
    to = f"{'https' if tls else 'http'}://{_url_host(host)}:{port}/wsman"
    message = ENUMERATE.format(
        to=to, uri=uri, message_id=str(uuid.uuid4()).upper(), seconds=max(1, int(step.left())), filter=query
    ).encode()
    protocol = WinRMEncryption.KERBEROS if creds.kerberos else WinRMEncryption.SPNEGO
    encryption = WinRMEncryption(context, protocol)
    content_type, payload = encryption.wrap_message(message)
    reply = connection.request(
        "/wsman", {"Content-Type": f'{content_type};protocol="{protocol}";boundary="{ENCRYPTED_BOUNDARY}"'}, payload
    )
    body = reply.body
    if reply.header("content-type").startswith("multipart/encrypted") and body:
        body = encryption.unwrap_message(body, ENCRYPTED_BOUNDARY)
    if reply.status == 401:
        raise StageFailure(
            f"WinRM answered 401 to the Enumerate of {creds.principal} after authentication", carrier=HTTP, code=401
        )
    if reply.status != 200:
        try:
            fault = decode_fault(body)
        except (ET.ParseError, ValueError) as exc:
            raise StageFailure(
                f"HTTP {reply.status} without a WS-Management fault "
                f"({reply.header('content-type') or 'no content type'})",
                carrier=HTTP,
                code=reply.status,
                layer="http",
            ) from exc
        text = f"WS-Man fault {fault.subcode}: {fault.message}".strip()
        layer = "wmi" if fault.code is not None and fault.code >> 16 == 0x8004 else "wsman"
        raise StageFailure(
            text,
            carrier=SOAP_FAULT,
            code=5 if fault.subcode == "AccessDenied" and fault.code is None else fault.code,
            layer=layer,
        )
    try:
        root = parse_untrusted(body)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise StageFailure(
            "HTTP 200 to Enumerate without a readable WS-Management answer",
            carrier=HTTP,
            code=reply.status,
            layer="http",
        ) from exc
    items = root.find(".//w:Items", NS)
    first = next(iter(items), None) if items is not None else None
    if first is None:
        step.detail = f"{uri} enumerated; no instances"
        return
    values = {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in first}
    shown = [f"{k}={values[k]}" for k in ("Caption", "Version", "Name", "CSName") if values.get(k)]
    walk.result.first_row = f"{first.tag.rsplit('}', 1)[-1]} " + ", ".join(shown[:3])
    step.detail = f"first row: {walk.result.first_row}"


def _xml_text(text: str | None) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address
