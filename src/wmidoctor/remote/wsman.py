"""The WS-Man path: TCP to the WinRM port, an anonymous wsmid:Identify, then an authenticated
Enumerate of the class through the WMI resource URI (pypsrp for authentication and message
encryption). SOAP faults are decoded down to the WMI code WinRM embeds in them."""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from contextlib import suppress
from dataclasses import dataclass

from wmidoctor.remote import network
from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.model import ProbeResult
from wmidoctor.remote.walk import StageFailure, Stopped, Walk

PLAN = [("dns", "network"), ("tcp", "network"), ("identify", "wsman"), ("authentication", "authentication"),
        ("enumerate", "wmi")]

ERROR_WSMAN_UNREACHABLE = 0x80338126  # WinRM: cannot complete the operation (name, network or firewall)
E_ACCESSDENIED = 0x80070005
HTTP_PORT, HTTPS_PORT = 5985, 5986

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "wsmid": "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd",
}
IDENTIFY = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            b'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
            b"<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>")
WMI_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
WQL_DIALECT = "http://schemas.microsoft.com/wbem/wsman/1/WQL"


@dataclass
class WsmanOptions:
    namespace: str = "root\\cimv2"
    query: str = "SELECT * FROM Win32_OperatingSystem"
    timeout: float = 10.0
    port: int | None = None  # default: 5985, then 5986 with TLS


@dataclass
class Fault:
    code: int | None  # the WMI or WinRM status a Windows client would show
    subcode: str
    message: str


def decode_fault(xml_text: str) -> Fault:
    """A SOAP fault from WinRM: the f:WSManFault Code, and the WMI error_Code / WMIFault beneath it."""
    root = ET.fromstring(xml_text)
    subcode = root.findtext(".//s:Fault/s:Code/s:Subcode/s:Value", default="", namespaces=NS)
    message = root.findtext(".//s:Fault/s:Reason/s:Text", default="", namespaces=NS).strip()
    code: int | None = None
    wsman_fault = root.find(".//f:WSManFault", NS)
    if wsman_fault is not None:
        with suppress(ValueError, TypeError):
            code = int(wsman_fault.get("Code", ""), 0)
        message = (wsman_fault.findtext("f:Message", default="", namespaces=NS) or message).strip()
        inner = wsman_fault.find(".//f:ProviderFault/f:WSManFault/f:Message", NS)
        if inner is not None and (inner.text or "").strip():
            message = inner.text.strip()
    for element in root.iter():  # MSFT_WmiError (CIM_Error) carries the WMI status as error_Code
        if element.tag.rsplit("}", 1)[-1] in ("error_Code", "ErrorCode") and (element.text or "").strip():
            with suppress(ValueError):
                code = int(element.text.strip(), 0)
                break
    return Fault(code=code & 0xFFFFFFFF if code is not None else None, subcode=subcode.split(":")[-1],
                 message=message)


def resource_for(options: WsmanOptions) -> tuple[str, str | None]:
    """Resource URI and optional WQL filter: a plain `SELECT * FROM Class` enumerates the class URI."""
    namespace = options.namespace.replace("\\", "/").strip("/")
    match = re.fullmatch(r"\s*select\s+\*\s+from\s+(\w+)\s*", options.query, re.IGNORECASE)
    if match:
        return f"{WMI_URI}{namespace}/{match.group(1)}", None
    return f"{WMI_URI}{namespace}/*", options.query


def new_walk(host: str, options: WsmanOptions) -> Walk:
    return Walk(host, "wsman", PLAN, options.timeout, classify)


def classify(stage: str, exc: BaseException) -> StageFailure:
    import requests

    if isinstance(exc, (requests.Timeout, TimeoutError, socket.timeout)):
        return StageFailure("no HTTP answer in time", reason="no_answer", code=0x800705B4)
    if isinstance(exc, requests.ConnectionError):
        return StageFailure(f"the connection failed: {exc}", reason="closed", code=ERROR_WSMAN_UNREACHABLE)
    return StageFailure(f"{type(exc).__name__}: {exc}", reason="unexpected")


def probe_wsman(host: str, address: str, creds: Credentials, options: WsmanOptions, walk: Walk) -> ProbeResult:
    with suppress(Stopped):
        _walk(host, address, creds, options, walk)
    return walk.finish()


def _open_port(address: str, options: WsmanOptions, timeout: float) -> tuple[int, bool]:
    ports = [options.port] if options.port else [HTTP_PORT, HTTPS_PORT]
    failure: StageFailure | None = None
    for port in ports:
        try:
            network.connect(address, port, timeout, ERROR_WSMAN_UNREACHABLE).close()
            return port, port == HTTPS_PORT
        except StageFailure as exc:
            failure = exc
    assert failure is not None
    if len(ports) > 1:
        failure.detail = failure.detail.replace(f"TCP {HTTPS_PORT}", f"TCP {HTTP_PORT} and {HTTPS_PORT}", 1)
    raise failure


def _walk(host: str, address: str, creds: Credentials, options: WsmanOptions, walk: Walk) -> None:
    import requests

    with walk.stage("tcp") as step:
        port, tls = _open_port(address, options, step.timeout)
        step.detail = f"TCP {port} open ({'HTTPS' if tls else 'HTTP'})"
    endpoint = f"{'https' if tls else 'http'}://{_url_host(address)}:{port}/wsman"

    with walk.stage("identify") as step:
        reply = requests.post(endpoint, data=IDENTIFY, timeout=step.timeout,
                              headers={"Content-Type": "application/soap+xml;charset=UTF-8"})
        if reply.status_code == 401:
            step.detail = "the listener answers but refuses anonymous Identify (authentication required)"
        elif reply.status_code != 200:
            # An HTTP status is no Windows error code: it stays in the detail, never in `code`.
            raise StageFailure(f"HTTP {reply.status_code} to Identify: not a WinRM listener, or it refuses it",
                               reason="http", layer="http")
        else:
            root = ET.fromstring(reply.content)
            vendor = root.findtext(".//wsmid:ProductVendor", default="?", namespaces=NS)
            version = root.findtext(".//wsmid:ProductVersion", default="?", namespaces=NS)
            step.detail = f"{vendor} {version}".strip()

    if creds.anonymous:
        walk.skip("authentication", "no credentials given (-u USER): stopping after Identify")
        return
    if creds.nthash and not creds.password:
        walk.skip("authentication", "WS-Man here authenticates with a password or Kerberos, not an NT hash")
        return
    _authenticate_and_enumerate(host, address, port, tls, creds, options, walk)


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _authenticate_and_enumerate(host: str, address: str, port: int, tls: bool, creds: Credentials,
                                options: WsmanOptions, walk: Walk) -> None:
    """Authentication is judged on the Enumerate call, as WinRM judges it: HTTP 401 means the credentials
    (or the scheme) were refused; anything else means they were accepted."""
    import time

    from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError
    from pypsrp.wsman import WSMan

    user = f"{creds.domain}\\{creds.user}" if creds.domain and not creds.kerberos else creds.user
    if creds.kerberos and creds.domain:
        user = f"{creds.user}@{creds.domain.upper()}"
    timeout = max(1, round(walk.stage_timeout))
    wsman = WSMan(host if creds.kerberos else address, port=port, ssl=tls, username=user, password=creds.password,
                  auth="kerberos" if creds.kerberos else "negotiate", cert_validation=True,
                  connection_timeout=timeout, read_timeout=timeout + 2, operation_timeout=timeout, no_proxy=True)
    uri, wql = resource_for(options)
    body = ET.Element("{http://schemas.xmlsoap.org/ws/2004/09/enumeration}Enumerate")
    ET.SubElement(body, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}OptimizeEnumeration")
    ET.SubElement(body, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}MaxElements").text = "1"
    if wql:
        query = ET.SubElement(body, "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}Filter")
        query.set("Dialect", WQL_DIALECT)
        query.text = wql
    start = time.perf_counter()
    try:
        response = wsman.enumerate(uri, body, timeout=timeout)
        error: BaseException | None = None
    except AuthenticationError:
        walk.fail("authentication", StageFailure(
            f"WinRM answered 401 to {creds.principal}: credentials or authentication scheme refused",
            reason="logon_failure", code=E_ACCESSDENIED), (time.perf_counter() - start) * 1000)
    except Exception as exc:
        error = exc
    finally:
        with suppress(Exception):
            wsman.close()
    elapsed = (time.perf_counter() - start) * 1000
    walk.record("authentication", "ok", 0.0, f"{creds.principal} accepted (judged on the Enumerate call)")
    if error is not None:
        walk.fail("enumerate", _enumerate_failure(error, WSManFaultError, WinRMTransportError), elapsed)
    items = response.find(".//{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}Items")
    first = next(iter(items), None) if items is not None else None
    if first is None:
        walk.record("enumerate", "ok", elapsed, f"{uri} enumerated; no instances")
        return
    values = {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in first}
    shown = [f"{k}={values[k]}" for k in ("Caption", "Version", "Name", "CSName") if values.get(k)]
    walk.result.first_row = f"{first.tag.rsplit('}', 1)[-1]} " + ", ".join(shown[:3])
    walk.record("enumerate", "ok", elapsed, f"first row: {walk.result.first_row}")


def _enumerate_failure(error: BaseException, fault_type: type, transport_type: type) -> StageFailure:
    raw = getattr(error.__context__, "response_text", "") if isinstance(error, fault_type) else ""
    if isinstance(error, transport_type):
        raw = getattr(error, "response_text", "")
    if raw:
        with suppress(ET.ParseError):
            fault = decode_fault(raw)
            reason = "access_denied" if fault.subcode == "AccessDenied" or fault.code in (
                E_ACCESSDENIED, 0x80041003) else "fault"
            text = f"WS-Man fault {fault.subcode or ''}: {fault.message}".strip()
            return StageFailure(text, reason=reason, code=fault.code, layer="wmi" if fault.code and (
                fault.code >> 16) == 0x8004 else "wsman")
    failure = classify("enumerate", error)
    return failure
