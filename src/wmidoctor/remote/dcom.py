"""The DCOM path, stage by stage, with impacket as the MSRPC/DCOM/NTLM/Kerberos client.

Stages: dns, tcp_135, endpoint_mapper (anonymous IObjectExporter::ServerAlive2), kdc (Kerberos only: TGT
and the HOST service ticket, bounded), authentication (an authenticated bind to IObjectExporter and
ServerAlive2 on it: a call that needs no launch right, so a refusal here is the credentials'),
activation (RemoteCreateInstance of the WMI level-1 login object, on the same authenticated connection:
a refusal here, after the credentials were proved, is about rights), dynamic_port (the port the OXID
bindings name), namespace_login (IWbemLevel1Login::NTLMLogin), query (IWbemServices::ExecQuery,
semisynchronous; a WBEM_E_ACCESS_DENIED is retried at packet privacy to tell "encryption required"
from "access denied"), fetch (IEnumWbemClassObject::Next for one row; class, query and provider errors
arrive here, as from Windows).

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

from wmidoctor.remote import network, templates
from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.model import ProbeResult
from wmidoctor.remote.rpc import (
    AUTHN_LEVEL_INTEGRITY,
    AUTHN_LEVEL_PRIVACY,
    BIND_NAK_REASONS,
    ConnectionClosed,
    DeadlinePassed,
    SocketTransport,
    add_context,
    call_raw,
    last_pdu_status,
    open_dce,
)
from wmidoctor.remote.verdicts import BIND_NAK, FAULT, KRB_ERROR, REPLY
from wmidoctor.remote.walk import StageFailure, Stopped, Walk
from wmidoctor.remote.wmio import summary_values

PLAN = [
    ("dns", "network"),
    ("tcp_135", "network"),
    ("endpoint_mapper", "rpc"),
    ("kdc", "authentication"),
    ("authentication", "authentication"),
    ("activation", "dcom"),
    ("dynamic_port", "network"),
    ("namespace_login", "wmi"),
    ("query", "wmi"),
    ("fetch", "wmi"),
]

RPC_S_SERVER_UNAVAILABLE = 0x800706BA
WBEM_E_ACCESS_DENIED = 0x80041003
WBEM_S_FALSE = 0x00000001
WBEM_S_TIMEDOUT = 0x00040004
TOWER_TCP = 7
# Next's own time-out is kept this far inside the stage's, so that WBEM_S_TIMEDOUT can still arrive.
NEXT_MARGIN = 0.25  # share of the time left, at least NEXT_MARGIN_MIN seconds
NEXT_MARGIN_MIN = 0.2


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
    ports: list[int] = field(default_factory=list)
    bindings: list[str] = field(default_factory=list)


class _Classifier:
    """Turns what impacket and the socket raise into a StageFailure; knows the transport of the moment."""

    def __init__(self) -> None:
        self.transport: SocketTransport | None = None

    def __call__(self, stage: str, exc: BaseException) -> StageFailure:
        from impacket.krb5.kerberosv5 import KerberosError

        from wmidoctor.remote.kerberos import KdcTimeout

        if isinstance(exc, KerberosError):
            code = int(exc.getErrorCode())  # a pyasn1 Int32 when impacket decoded the KRB-ERROR itself
            return StageFailure(
                f"the KDC answered KRB-ERROR {code} ({_krb_text(exc)})",
                carrier=KRB_ERROR,
                code=code,
                layer="authentication",
            )
        if isinstance(exc, KdcTimeout):
            return StageFailure(str(exc), reason="no_answer", layer="authentication")
        if stage == "kdc" and isinstance(exc, ConnectionRefusedError):
            return StageFailure(
                "the KDC refused the connection (nothing listens on its port)", reason="refused", layer="network"
            )
        pdu = last_pdu_status(self.transport) if self.transport else None
        if pdu and pdu.kind == "bind_nak":
            text = BIND_NAK_REASONS.get(pdu.code, f"reason {pdu.code}")
            return StageFailure(
                f"the server refused the bind (bind_nak reason {pdu.code}: {text})",
                carrier=BIND_NAK,
                code=pdu.code,
                layer="rpc",
            )
        if pdu and pdu.kind == "fault":
            return StageFailure(f"RPC fault PDU, status 0x{pdu.code:08x}", carrier=FAULT, code=pdu.code, layer="rpc")
        if isinstance(exc, DeadlinePassed) or (isinstance(exc, TimeoutError) and self._partial()):
            return StageFailure(
                "the server was still sending when the stage's time limit passed (it trickles)",
                reason="deadline",
                code=HRESULT_TIMEOUT,
            )
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return StageFailure(
                "the connection is open but the server sent nothing back in time "
                "(something other than RPC listens, or a middlebox holds the traffic)",
                reason="no_answer",
                code=HRESULT_TIMEOUT,
            )
        if isinstance(exc, (ConnectionClosed, ConnectionResetError, BrokenPipeError)):
            return StageFailure("the server closed the connection", reason="closed", code=RPC_S_CALL_FAILED)
        error_code = getattr(exc, "error_code", None)
        if isinstance(error_code, int):
            return StageFailure(f"the call returned 0x{error_code:08x}", carrier=REPLY, code=error_code)
        if isinstance(exc, rpcrt.DCERPCException) and "rejected" in str(exc):
            return StageFailure(f"the server rejected the interface: {exc}", reason="bind_rejected", layer="rpc")
        if isinstance(exc, OSError):
            return StageFailure(
                f"{exc.strerror or exc}", reason="socket", code=RPC_S_SERVER_UNAVAILABLE, layer="network"
            )
        return StageFailure(f"{type(exc).__name__}: {exc}", reason="unexpected")

    def _partial(self) -> bool:
        return bool(self.transport and self.transport.received)


RPC_S_CALL_FAILED = 0x800706BE
HRESULT_TIMEOUT = 0x800705B4  # ERROR_TIMEOUT as an HRESULT


def _krb_text(exc: BaseException) -> str:
    with suppress(Exception):
        return str(exc.getErrorString()[0])  # type: ignore[attr-defined]
    return str(exc)


def _string_bindings(dsa: dcomrt.DUALSTRINGARRAY) -> list[str]:
    """The network addresses of a DUALSTRINGARRAY's string bindings (TCP towers only)."""
    raw = b"".join(x.to_bytes(2, "little") for x in dsa["aStringArray"])[: dsa["wSecurityOffset"] * 2]
    found = []
    while len(raw) >= 2 and raw[:2] != b"\x00\x00":
        binding = dcomrt.STRINGBINDING(raw)
        if binding["wTowerId"] == TOWER_TCP:
            found.append(binding["aNetworkAddr"].rstrip("\x00"))
        raw = raw[len(binding) :]
    return found


def _port_of(binding: str) -> int | None:
    if "[" in binding and binding.endswith("]"):
        with suppress(ValueError):
            return int(binding[binding.index("[") + 1 : -1])
    return None


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


def new_walk(host: str, options: DcomOptions, started: float | None = None) -> Walk:
    return Walk(host, "dcom", PLAN, options.timeout, _Classifier(), started)


def _connect(address: str, port: int, timeout: float, sockets: list[socket.socket]) -> socket.socket:
    sock = network.connect(address, port, timeout, RPC_S_SERVER_UNAVAILABLE)
    sockets.append(sock)
    return sock


def _walk(
    host: str,
    address: str,
    creds: Credentials,
    options: DcomOptions,
    walk: Walk,
    classify: _Classifier,
    sockets: list[socket.socket],
) -> None:
    port = options.port
    with walk.stage("tcp_135") as step:
        sock = _connect(address, port, step.timeout, sockets)
        step.detail = f"TCP {port} open"

    with walk.stage("endpoint_mapper") as step:
        dce, classify.transport = open_dce(sock, host, port, None, rpcrt.RPC_C_AUTHN_LEVEL_NONE)
        dce.bind(dcomrt.IID_IObjectExporter)
        (major, minor), names = _server_alive2(dce)
        step.detail = (
            f"RPCSS answered (COM {major}.{minor}); it calls itself {', '.join(names[:4]) or '(no TCP bindings)'}"
        )

    if creds.anonymous:
        walk.skip("kdc", "no credentials given")
        walk.skip("authentication", "no credentials given (-u USER): stopping after the endpoint mapper")
        return
    level = AUTHN_LEVEL_PRIVACY if options.privacy else AUTHN_LEVEL_INTEGRITY
    walk.result.facts["kerberos"] = creds.kerberos
    tickets = None
    if creds.kerberos:
        with walk.stage("kdc") as step:
            from wmidoctor.remote.kerberos import get_tickets

            tickets = get_tickets(
                creds.user, creds.password, creds.kerberos_realm, creds.nthash, host, options.kdc_host
            )
            step.detail = f"TGT for {creds.user}@{creds.kerberos_realm} and a ticket for {tickets.spn}"
    else:
        walk.skip("kdc", "NTLM: no KDC exchange")

    dce = _authenticate(host, address, creds, options, walk, classify, sockets, level, tickets)
    activated = _activate(walk, dce)

    dyn_port = activated.ports[0] if activated.ports else None
    with walk.stage("dynamic_port") as step:
        if dyn_port is None:
            raise StageFailure(
                f"the activation reply named no TCP binding with a port ({', '.join(activated.bindings) or 'none'})",
                reason="no_binding",
                layer="dcom",
            )
        dyn_sock = _connect(address, dyn_port, step.timeout, sockets)
        step.detail = f"TCP {dyn_port} open (from the OXID binding {activated.bindings[0]})"

    with walk.stage("namespace_login") as step:
        services_ipid, dce = _ntlm_login(host, creds, options, classify, dyn_sock, dyn_port, activated, level, tickets)
        step.detail = f"logged on to {options.namespace}"

    with walk.stage("query") as step:
        try:
            enum_ipid = _exec_query(dce, options, services_ipid)
        except wmi.DCERPCSessionError as exc:
            if exc.error_code != WBEM_E_ACCESS_DENIED or level == AUTHN_LEVEL_PRIVACY:
                raise
            # Refused at integrity: the same call at packet privacy tells "encryption required" from "denied".
            retry = _connect(address, dyn_port, step.left(), sockets)
            try:
                ipid, sealed = _ntlm_login(
                    host, creds, options, classify, retry, dyn_port, activated, AUTHN_LEVEL_PRIVACY, tickets
                )
                _exec_query(sealed, options, ipid)
                walk.result.facts["privacy_retry"] = "ok"
                detail = "ExecQuery refused at packet integrity (0x80041003) and accepted at packet privacy"
            except wmi.DCERPCSessionError:
                walk.result.facts["privacy_retry"] = "denied"
                detail = "ExecQuery refused (0x80041003) at packet integrity and at packet privacy"
            raise StageFailure(detail, carrier=REPLY, code=WBEM_E_ACCESS_DENIED, layer="wmi") from exc
        step.detail = "ExecQuery accepted (semisynchronous: errors arrive with Next)"

    with walk.stage("fetch") as step:
        _fetch(walk, step, dce, enum_ipid)


def _authenticate(
    host: str,
    address: str,
    creds: Credentials,
    options: DcomOptions,
    walk: Walk,
    classify: _Classifier,
    sockets: list[socket.socket],
    level: int,
    tickets,
) -> rpcrt.DCERPC_v5:
    """An authenticated bind to IObjectExporter and one ServerAlive2 on it. The call needs no right beyond
    logging on, so RPC fault 5 here is the credentials'; success proves them for the activation."""
    with walk.stage("authentication") as step:
        sock = _connect(address, options.port, step.timeout, sockets)
        dce, classify.transport = open_dce(sock, host, options.port, creds, level, options.kdc_host, tickets)
        dce.bind(dcomrt.IID_IObjectExporter)
        _server_alive2(dce)
        walk.result.facts["credentials_proved"] = True
        step.detail = (
            f"{creds.principal} accepted on an authenticated ServerAlive2 "
            f"({'Kerberos' if creds.kerberos else 'NTLM'}, "
            f"{'packet privacy' if level == AUTHN_LEVEL_PRIVACY else 'packet integrity'})"
        )
    return dce


SERVER_ALIVE2_OPNUM = 5


def _server_alive2(dce: rpcrt.DCERPC_v5) -> tuple[tuple[int, int], list[str]]:
    """IObjectExporter::ServerAlive2 (no arguments): COM version and the host's TCP names."""
    stub = call_raw(dce, dce._ctx, SERVER_ALIVE2_OPNUM, b"")
    lean = templates.read_server_alive2(stub)
    if lean is None:
        alive = dcomrt.ServerAlive2Response(stub)
        version = alive["pComVersion"]
        return (version["MajorVersion"], version["MinorVersion"]), _string_bindings(alive["ppdsaOrBindings"])
    version, bindings = lean
    return version, [address for tower, address in bindings if tower == TOWER_TCP]


def _checked(stub: bytes, module) -> bytes:
    """The reply, or the session error impacket would raise for its ErrorCode."""
    status = templates.error_code(stub)
    if status:
        raise module.DCERPCSessionError(error_code=status)
    return stub


class _Replayed:
    """impacket's activator client over a reply already received: its parsing is the fallback for a reply
    the lean reader does not handle."""

    def __init__(self, stub: bytes, target: str):
        self.stub, self.target = stub, target

    def bind(self, *args: object, **kwargs: object) -> None:
        """Nothing to bind: the call was made."""

    def request(self, request, uuid=None, checkError=True):
        return dcomrt.RemoteCreateInstanceResponse(self.stub)

    def get_rpc_transport(self):
        return self

    def getRemoteName(self) -> str:
        return self.target

    def get_auth_type(self) -> int:
        return rpcrt.RPC_C_AUTHN_WINNT


def _activate(walk: Walk, dce: rpcrt.DCERPC_v5) -> _Activated:
    with walk.stage("activation") as step:
        activator = add_context(dce, dcomrt.IID_IRemoteSCMActivator)
        template = templates.remote_create_instance()
        stub = _checked(call_raw(dce, activator, template.opnum, template.render()), dcomrt)
        lean = templates.read_activation(stub)
        if lean is not None:
            ipid, towers = lean.ipid, lean.bindings
        else:
            target = f"activation-{id(stub)}"
            interface = dcomrt.IRemoteSCMActivator(_Replayed(stub, target)).RemoteCreateInstance(
                wmi.CLSID_WbemLevel1Login, wmi.IID_IWbemLevel1Login
            )
            try:
                ipid = interface.get_iPid()
                towers = [
                    (b["wTowerId"], b["aNetworkAddr"].rstrip("\x00"))
                    for b in interface.get_cinstance().get_string_bindings()
                ]
            finally:
                _forget_interface(target)
        # Named-pipe towers (listed first by Server 2016 and later) are skipped: TCP only.
        bindings = [address for tower, address in towers if tower == TOWER_TCP]
        activated = _Activated(ipid=ipid, bindings=bindings, ports=[p for p in map(_port_of, bindings) if p])
        step.detail = f"IWbemLevel1Login activated; TCP bindings {', '.join(bindings[:3]) or '(none)'}"
    return activated


def _ntlm_login(
    host: str,
    creds: Credentials,
    options: DcomOptions,
    classify: _Classifier,
    sock: socket.socket,
    port: int,
    activated: _Activated,
    level: int,
    tickets,
) -> tuple[bytes, rpcrt.DCERPC_v5]:
    """Bind IWbemLevel1Login on the dynamic port at `level` and log on to the namespace."""
    dce, classify.transport = open_dce(sock, host, port, creds, level, options.kdc_host, tickets)
    dce.bind(wmi.IID_IWbemLevel1Login)
    template = templates.ntlm_login("//./" + options.namespace.replace("\\", "/").strip("/"))
    stub = _checked(call_raw(dce, dce._ctx, template.opnum, template.render(), activated.ipid), wmi)
    ipid = templates.read_interface_ipid(stub)
    if ipid is None:
        response = wmi.IWbemLevel1Login_NTLMLoginResponse(stub)
        ipid = dcomrt.OBJREF_STANDARD(b"".join(response["ppNamespace"]["abData"]))["std"]["ipid"]
    return ipid, dce


def _exec_query(dce: rpcrt.DCERPC_v5, options: DcomOptions, services_ipid: bytes) -> bytes:
    """ExecQuery, semisynchronous (return immediately, forward only), as PowerShell and .NET call it.
    Sent on the connection's first context: Windows routes ORPC calls by the IPID, not by the context."""
    template = templates.exec_query(options.query)
    stub = _checked(call_raw(dce, dce._ctx, template.opnum, template.render(), services_ipid), wmi)
    ipid = templates.read_interface_ipid(stub)
    if ipid is None:
        response = wmi.IWbemServices_ExecQueryResponse(stub)
        ipid = dcomrt.OBJREF_STANDARD(b"".join(response["ppEnum"]["abData"]))["std"]["ipid"]
    return ipid


def _fetch(walk: Walk, step, dce: rpcrt.DCERPC_v5, enum_ipid: bytes) -> None:
    left = step.left()
    wait = max(0.001, left - max(NEXT_MARGIN_MIN, left * NEXT_MARGIN))
    timeout_ms = max(1, int(wait * 1000))
    template = templates.enum_next()
    stub = call_raw(dce, dce._ctx, template.opnum, template.render(timeout_ms), enum_ipid)
    lean = templates.read_next(stub)
    if lean is None:
        reply = wmi.IEnumWbemClassObject_NextResponse(stub)
        first = b"".join(reply["apObjects"][0]["abData"]) if reply["puReturned"] else None
        lean = (reply["ErrorCode"], reply["puReturned"], first)
    status, returned, first = lean
    if status == WBEM_S_TIMEDOUT:
        raise StageFailure(
            f"IEnumWbemClassObject::Next returned WBEM_S_TIMEDOUT: no row within its {timeout_ms} ms",
            carrier=REPLY,
            code=status,
            layer="wmi",
        )
    if status not in (0, WBEM_S_FALSE):
        raise StageFailure(
            f"IEnumWbemClassObject::Next returned 0x{status:08x}", carrier=REPLY, code=status, layer="wmi"
        )
    if not returned or first is None:
        step.detail = "the query returned no rows"
        return
    walk.result.first_row = describe_object(first)
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
