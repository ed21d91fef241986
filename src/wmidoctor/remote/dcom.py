"""The DCOM path, stage by stage, with impacket as the MSRPC/DCOM/NTLM/Kerberos client.

Stages: dns, tcp_135, endpoint_mapper (anonymous IObjectExporter::ServerAlive2), authentication
(authenticated bind to IRemoteSCMActivator, judged on the first call), activation
(RemoteCreateInstance of the WMI level-1 login object), dynamic_port (the port the OXID bindings name),
namespace_login (IWbemLevel1Login::NTLMLogin, retried at packet privacy to tell "encryption required"
from "access denied"), query (IWbemServices::ExecQuery and IEnumWbemClassObject::Next for one row).

impacket's DCOMConnection keeps connections in class-level dictionaries, opens its own sockets with
fixed timeouts and reports faults as text; here each call is made on a socket this module opened,
with the stage's timeout, and statuses are read from the PDUs themselves.
"""

from __future__ import annotations

import socket
from contextlib import suppress
from dataclasses import dataclass, field

from impacket.dcerpc.v5 import dcomrt, rpcrt
from impacket.dcerpc.v5.dcom import wmi
from impacket.dcerpc.v5.dtypes import NULL
from impacket.krb5.kerberosv5 import KerberosError
from impacket.uuid import generate

from wmidoctor.remote import network
from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.model import ProbeResult
from wmidoctor.remote.rpc import (
    AUTHN_LEVEL_INTEGRITY,
    AUTHN_LEVEL_PRIVACY,
    BIND_NAK_REASONS,
    ConnectionClosed,
    SocketTransport,
    add_context,
    last_pdu_status,
    open_dce,
    request_on,
)
from wmidoctor.remote.walk import StageFailure, Stopped, Walk
from wmidoctor.remote.wmio import summary_values

PLAN = [
    ("dns", "network"),
    ("tcp_135", "network"),
    ("endpoint_mapper", "rpc"),
    ("authentication", "authentication"),
    ("activation", "dcom"),
    ("dynamic_port", "network"),
    ("namespace_login", "wmi"),
    ("query", "wmi"),
]

RPC_S_SERVER_UNAVAILABLE = 0x800706BA
RPC_S_CALL_FAILED = 0x800706BE
HRESULT_TIMEOUT = 0x800705B4  # ERROR_TIMEOUT as an HRESULT
E_ACCESSDENIED = 0x80070005
WBEM_E_ACCESS_DENIED = 0x80041003
WBEM_S_FALSE = 0x00000001
WBEM_S_TIMEDOUT = 0x00040004
TOWER_TCP = 7

# Kerberos errors (RFC 4120) the KDC answers with, and the NTSTATUS Windows itself would log for them.
KERBEROS_REASONS: dict[int, tuple[str, int | None, str]] = {
    6: ("account_unknown", 0xC0000064, "the KDC does not know this user"),
    7: ("spn_unknown", None, "the KDC has no account with the target's service principal name (HOST/RPCSS)"),
    12: ("policy", 0xC000006E, "the KDC's policy refuses this logon (logon hours, workstation or "
                               "account restrictions)"),
    14: ("etype", None, "no encryption type in common with the KDC (for example RC4 disabled, no AES keys)"),
    18: ("account_revoked", None, "the account is disabled, locked out or expired"),
    23: ("password_expired", 0xC0000071, "the password has expired"),
    24: ("logon_failure", 0xC000006D, "pre-authentication failed: wrong password"),
    37: ("clock_skew", 0xC0000133, "the client's clock differs from the domain's by more than the allowed skew "
                                   "(5 minutes by default)"),
}


@dataclass
class DcomOptions:
    namespace: str = "root\\cimv2"
    query: str = "SELECT * FROM Win32_OperatingSystem"
    privacy: bool = False
    timeout: float = 10.0
    port: int = 135
    kdc_host: str | None = None


@dataclass
class _Activated:
    ipid: bytes
    ipid_rem_unknown: bytes
    orpcthis: dcomrt.ORPCTHIS
    ports: list[int] = field(default_factory=list)
    bindings: list[str] = field(default_factory=list)


def hresult(status: int) -> int:
    """A Win32 status as the HRESULT a Windows client shows (5 -> 0x80070005); others unchanged."""
    return 0x80070000 | status if 0 < status < 0x10000 else status


class _Classifier:
    """Turns what impacket and the socket raise into a StageFailure; knows the transport of the moment."""

    def __init__(self) -> None:
        self.transport: SocketTransport | None = None

    def __call__(self, stage: str, exc: BaseException) -> StageFailure:
        if isinstance(exc, KerberosError):
            return kerberos_failure(exc)
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return StageFailure("the connection is open but the server sent nothing back in time "
                                "(something other than RPC listens, or a middlebox holds the traffic)",
                                reason="no_answer", code=HRESULT_TIMEOUT)
        if isinstance(exc, (ConnectionClosed, ConnectionResetError, BrokenPipeError)):
            return StageFailure("the server closed the connection", reason="closed", code=RPC_S_CALL_FAILED)
        pdu = last_pdu_status(self.transport) if self.transport else None
        if pdu and pdu.kind == "bind_nak":
            text = BIND_NAK_REASONS.get(pdu.code, f"reason {pdu.code}")
            reason = "bind_nak_auth" if pdu.code in (8, 9) else "bind_nak"
            # The reject reason is not a status code; it stays in the detail.
            return StageFailure(f"the server refused the bind (bind_nak reason {pdu.code}: {text})", reason=reason,
                                layer="rpc")
        if pdu and pdu.kind == "fault":
            code = hresult(pdu.code)
            if stage == "authentication" and pdu.code == 5:
                return StageFailure("the server refused the credentials (RPC fault rpc_s_access_denied after "
                                    "the NTLM exchange)", reason="logon_failure", code=code)
            return StageFailure(f"RPC fault 0x{pdu.code:08x}", reason="fault", code=code, layer="rpc")
        error_code = getattr(exc, "error_code", None)
        if isinstance(error_code, int):
            return StageFailure(f"the call returned 0x{error_code:08x}", reason="status", code=error_code)
        if isinstance(exc, rpcrt.DCERPCException) and "rejected" in str(exc):
            return StageFailure(f"the server rejected the interface: {exc}", reason="bind_rejected", layer="rpc")
        if isinstance(exc, OSError):
            return StageFailure(f"{exc.strerror or exc}", reason="socket", code=RPC_S_SERVER_UNAVAILABLE,
                                layer="network")
        return StageFailure(f"{type(exc).__name__}: {exc}", reason="unexpected")


def kerberos_failure(exc: KerberosError) -> StageFailure:
    krb = exc.getErrorCode()
    reason, code, text = KERBEROS_REASONS.get(krb, ("kerberos", None, "the KDC refused the request"))
    with suppress(Exception):
        text += f" ({exc.getErrorString()[0]})"
    return StageFailure(f"Kerberos: {text}", reason=reason, code=code, layer="authentication")


def _string_bindings(dsa: dcomrt.DUALSTRINGARRAY) -> list[str]:
    """The network addresses of a DUALSTRINGARRAY's string bindings (TCP towers only)."""
    raw = b"".join(x.to_bytes(2, "little") for x in dsa["aStringArray"])[: dsa["wSecurityOffset"] * 2]
    found = []
    while len(raw) >= 2 and raw[:2] != b"\x00\x00":
        binding = dcomrt.STRINGBINDING(raw)
        if binding["wTowerId"] == TOWER_TCP:
            found.append(binding["aNetworkAddr"].rstrip("\x00"))
        raw = raw[len(binding):]
    return found


def _port_of(binding: str) -> int | None:
    if "[" in binding and binding.endswith("]"):
        with suppress(ValueError):
            return int(binding[binding.index("[") + 1 : -1])
    return None


def _orpcthis() -> dcomrt.ORPCTHIS:
    orpcthis = dcomrt.ORPCTHIS()
    orpcthis["cid"] = generate()
    orpcthis["extensions"] = NULL
    orpcthis["flags"] = 0
    return orpcthis


def _forget_interface(target: str) -> None:
    """impacket records every activated object in class-level tables for its keep-alive pinger; this
    probe pings nothing, so drop them (a fleet would otherwise grow them per host)."""
    for table in (dcomrt.DCOMConnection.OID_ADD, dcomrt.DCOMConnection.OID_SET, dcomrt.INTERFACE.CONNECTIONS):
        table.pop(target, None)


def probe_dcom(host: str, address: str, creds: Credentials, options: DcomOptions, walk: Walk) -> ProbeResult:
    """Walk the DCOM stages after dns (already recorded in `walk` by the caller)."""
    classify = walk.classify
    assert isinstance(classify, _Classifier)
    sockets: list[socket.socket] = []
    try:
        _walk(host, address, creds, options, walk, classify, sockets)
    except Stopped:
        pass
    finally:
        for sock in sockets:
            with suppress(OSError):
                sock.close()
    return walk.finish()


def new_walk(host: str, options: DcomOptions) -> Walk:
    return Walk(host, "dcom", PLAN, options.timeout, _Classifier())


def _connect(address: str, port: int, timeout: float, sockets: list[socket.socket]) -> socket.socket:
    sock = network.connect(address, port, timeout, RPC_S_SERVER_UNAVAILABLE)
    sockets.append(sock)
    return sock


def _walk(host: str, address: str, creds: Credentials, options: DcomOptions, walk: Walk,
          classify: _Classifier, sockets: list[socket.socket]) -> None:
    port = options.port
    with walk.stage("tcp_135") as step:
        sock = _connect(address, port, step.timeout, sockets)
        step.detail = f"TCP {port} open"

    with walk.stage("endpoint_mapper") as step:
        sock.settimeout(step.timeout)
        dce, classify.transport = open_dce(sock, host, port, None, rpcrt.RPC_C_AUTHN_LEVEL_NONE)
        dce.bind(dcomrt.IID_IObjectExporter)
        alive = dce.request(dcomrt.ServerAlive2())
        names = _string_bindings(alive["ppdsaOrBindings"])
        version = alive["pComVersion"]
        step.detail = (f"RPCSS answered (COM {version['MajorVersion']}.{version['MinorVersion']}); "
                       f"it calls itself {', '.join(names[:4]) or '(no TCP bindings)'}")

    if creds.anonymous:
        walk.skip("authentication", "no credentials given (-u USER): stopping after the endpoint mapper")
        return
    level = AUTHN_LEVEL_PRIVACY if options.privacy else AUTHN_LEVEL_INTEGRITY

    activated = _authenticate_and_activate(host, address, creds, options, walk, classify, sockets, level)

    dyn_port = activated.ports[0] if activated.ports else None
    with walk.stage("dynamic_port") as step:
        if dyn_port is None:
            raise StageFailure("the activation reply named no TCP binding with a port "
                               f"({', '.join(activated.bindings) or 'none'})", reason="no_binding", layer="dcom")
        dyn_sock = _connect(address, dyn_port, step.timeout, sockets)
        step.detail = f"TCP {dyn_port} open (from the OXID binding {activated.bindings[0]})"

    services_ipid, dce = _namespace_login(host, address, creds, options, walk, classify, sockets, dyn_sock,
                                          dyn_port, activated, level)
    _query(walk, dce, options, services_ipid, activated)


def _authenticate_and_activate(host: str, address: str, creds: Credentials, options: DcomOptions, walk: Walk,
                               classify: _Classifier, sockets: list[socket.socket], level: int) -> _Activated:
    """Authentication and activation are judged on one exchange, as the server judges them: an RPC fault
    rpc_s_access_denied on the first call means the credentials were refused; a DCOM status in the reply
    means they were accepted and activation was refused."""
    import time

    start = time.perf_counter()
    with walk.stage("authentication") as step:
        sock = _connect(address, options.port, step.timeout, sockets)
        dce, classify.transport = open_dce(sock, host, options.port, creds, level, options.kdc_host)
        dce.bind(dcomrt.IID_IRemoteSCMActivator)
        bound = time.perf_counter()
        try:
            # RemoteCreateInstance binds by itself; this association is bound already.
            dce.bind = lambda *args, **kwargs: None
            interface = dcomrt.IRemoteSCMActivator(dce).RemoteCreateInstance(
                wmi.CLSID_WbemLevel1Login, wmi.IID_IWbemLevel1Login)
            outcome: BaseException | None = None
        except Exception as exc:
            failure = classify("authentication", exc)
            if failure.reason in ("logon_failure", "no_answer", "closed"):
                raise failure from exc
            outcome = exc  # the server executed the call: the credentials were accepted
        step.detail = (f"{creds.principal} accepted ({'Kerberos' if creds.kerberos else 'NTLM'}, "
                       f"{'packet privacy' if level == AUTHN_LEVEL_PRIVACY else 'packet integrity'})")
    activation_ms = (time.perf_counter() - bound) * 1000
    walk.result.stages[-1].elapsed_ms = round((bound - start) * 1000, 2)

    if outcome is not None:
        failure = classify("activation", outcome)
        if failure.reason == "status":
            failure.reason = "activation_denied" if failure.code == E_ACCESSDENIED else "activation_failed"
            failure.detail = f"RemoteCreateInstance of the WMI login object returned 0x{failure.code:08x}"
        failure.layer = failure.layer or "dcom"
        walk.fail("activation", failure, activation_ms)
    target = dce.get_rpc_transport().getRemoteName()
    try:
        cinstance = interface.get_cinstance()
        bindings = [b["aNetworkAddr"].rstrip("\x00") for b in cinstance.get_string_bindings()
                    if b["wTowerId"] == TOWER_TCP]
        activated = _Activated(ipid=interface.get_iPid(), ipid_rem_unknown=interface.get_ipidRemUnknown(),
                               orpcthis=cinstance.get_ORPCthis(), bindings=bindings,
                               ports=[p for p in map(_port_of, bindings) if p is not None])
    finally:
        _forget_interface(target)
    walk.record("activation", "ok", activation_ms,
                f"IWbemLevel1Login activated; bindings {', '.join(bindings[:3]) or '(none)'}")
    return activated


def _namespace_login(host: str, address: str, creds: Credentials, options: DcomOptions, walk: Walk,
                     classify: _Classifier, sockets: list[socket.socket], sock: socket.socket, port: int,
                     activated: _Activated, level: int) -> tuple[bytes, rpcrt.DCERPC_v5]:
    resource = "//./" + options.namespace.replace("\\", "/").strip("/")
    with walk.stage("namespace_login") as step:
        try:
            ipid, dce = _ntlm_login(host, creds, options, classify, sock, port, activated, level, resource)
        except wmi.DCERPCSessionError as exc:
            if exc.error_code != WBEM_E_ACCESS_DENIED or level == AUTHN_LEVEL_PRIVACY:
                raise
            # Denied at integrity: try once at packet privacy to learn whether the namespace demands it.
            retry = _connect(address, port, step.timeout, sockets)
            try:
                _ntlm_login(host, creds, options, classify, retry, port, activated, AUTHN_LEVEL_PRIVACY, resource)
            except wmi.DCERPCSessionError:
                raise StageFailure(f"NTLMLogin to {options.namespace} denied (0x80041003), also at packet "
                                   "privacy: the namespace security does not grant this account",
                                   reason="access_denied", code=WBEM_E_ACCESS_DENIED) from exc
            raise StageFailure(f"NTLMLogin to {options.namespace} denied at packet integrity but accepted at "
                               "packet privacy: the namespace requires an encrypted connection",
                               reason="encryption_required", code=WBEM_E_ACCESS_DENIED) from exc
        step.detail = f"logged on to {options.namespace}"
    return ipid, dce


def _ntlm_login(host: str, creds: Credentials, options: DcomOptions, classify: _Classifier, sock: socket.socket,
                port: int, activated: _Activated, level: int, resource: str) -> tuple[bytes, rpcrt.DCERPC_v5]:
    sock.settimeout(options.timeout)
    dce, classify.transport = open_dce(sock, host, port, creds, level, options.kdc_host)
    dce.bind(wmi.IID_IWbemLevel1Login)
    request = wmi.IWbemLevel1Login_NTLMLogin()
    request["ORPCthis"] = _orpcthis()
    request["wszNetworkResource"] = resource + "\x00"
    request["wszPreferredLocale"] = NULL
    request["lFlags"] = 0
    request["pCtx"] = NULL
    response = dce.request(request, uuid=activated.ipid)
    objref = dcomrt.OBJREF_STANDARD(b"".join(response["ppNamespace"]["abData"]))
    return objref["std"]["ipid"], dce


def _query(walk: Walk, dce: rpcrt.DCERPC_v5, options: DcomOptions, services_ipid: bytes,
           activated: _Activated) -> None:
    with walk.stage("query") as step:
        services = add_context(dce, wmi.IID_IWbemServices)
        request = wmi.IWbemServices_ExecQuery()
        request["ORPCthis"] = _orpcthis()
        request["strQueryLanguage"]["asData"] = "WQL"
        request["strQuery"]["asData"] = options.query
        request["lFlags"] = wmi.WBEM_FLAG_FORWARD_ONLY | wmi.WBEM_FLAG_RETURN_IMMEDIATELY
        request["pCtx"] = NULL
        response = request_on(dce, services, request, uuid=services_ipid)
        enum_ipid = dcomrt.OBJREF_STANDARD(b"".join(response["ppEnum"]["abData"]))["std"]["ipid"]
        enum = add_context(dce, wmi.IID_IEnumWbemClassObject)
        next_request = wmi.IEnumWbemClassObject_Next()
        next_request["ORPCthis"] = _orpcthis()
        next_request["lTimeout"] = max(1, int(step.timeout * 1000))
        next_request["uCount"] = 1
        reply = request_on(dce, enum, next_request, uuid=enum_ipid, check_error=False)
        status = reply["ErrorCode"]
        if status == WBEM_S_TIMEDOUT:
            raise StageFailure(f"no row within {step.timeout:g} s (WBEM_S_TIMEDOUT): the provider is slow or hung",
                               reason="query_timeout", code=status, layer="wmi")
        if status not in (0, WBEM_S_FALSE):
            raise StageFailure(f"IEnumWbemClassObject::Next returned 0x{status:08x}", reason="status", code=status)
        if not reply["puReturned"]:
            step.detail = "query accepted; it returned no rows"
            return
        walk.result.first_row = describe_object(b"".join(reply["apObjects"][0]["abData"]))
        step.detail = f"first row: {walk.result.first_row}"


SUMMARY_PROPERTIES = ("Caption", "Version", "Name", "CSName")


def describe_object(objref: bytes) -> str:
    """Class name and a few identifying properties of an encoded WMI object, for the first-row line."""
    try:
        data = dcomrt.OBJREF_CUSTOM(objref)["pObjectData"]
    except Exception:
        return f"an object of {len(objref)} bytes (not decoded)"
    lean = summary_values(data, SUMMARY_PROPERTIES)
    if lean is not None:
        name, values = lean
    else:  # something the lean reader leaves to impacket's full decoder
        try:
            block = wmi.ENCODING_UNIT(data)["ObjectBlock"]
            block.parseObject()
            props = block.ctCurrent["properties"] if block.ctCurrent else {}
            name = block.ctCurrent["name"] if block.ctCurrent else "?"
            values = {key: props[key]["value"] for key in SUMMARY_PROPERTIES if key in props}
        except Exception:
            return f"an object of {len(objref)} bytes (not decoded)"
    shown = [f"{key}={values[key]}" for key in SUMMARY_PROPERTIES if values.get(key) not in (None, "")]
    return f"{name} " + ", ".join(shown[:3])
