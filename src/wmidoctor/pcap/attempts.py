"""Connections from the capture reader folded into attempts: one per client, target and transport
(DCOM or WS-Man), with what each connection, bind and call showed. No judgement here beyond naming
what the wire carried; stages.py turns an attempt into stage outcomes.

Memory is bounded: an attempt keeps its first KEPT connections, binds and calls and counts the rest,
so a capture replayed ten times costs what it costs once.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from wmidoctor.artifacts.pcap import auth, dcerpc
from wmidoctor.artifacts.pcap.flows import Flow
from wmidoctor.artifacts.pcap.http import HttpMessage, TlsEvent
from wmidoctor.artifacts.pcap.interfaces import CLASSES, method_name
from wmidoctor.artifacts.pcap.kerberos import KdcReply
from wmidoctor.artifacts.pcap.reader import KERBEROS_PORT, DnsAnswer

KEPT = 200
GAP_S = 300.0  # a client -> target pair silent this long, then talking again: a new attempt
ATTEMPTS_MAX = 100  # kept in full; later ones are merged into the last (and counted)
ACTIVATORS = ("IRemoteSCMActivator", "IActivation")
RESOLVERS = ("IObjectExporter",)  # ServerAlive2: a DCOM client's first call
_NAMESPACE = re.compile(r"(?:\\\\|//)[^\x00]{1,200}")


def _guid_bytes(text: str) -> bytes:
    parts = text.split("-")
    return struct.pack("<LHH", int(parts[0], 16), int(parts[1], 16), int(parts[2], 16)) + bytes.fromhex(
        parts[3] + parts[4]
    )


_CLASS_GUIDS = {_guid_bytes(clsid): name for clsid, name in CLASSES.items()}


@dataclass
class ConnectionSeen:
    stream: int  # the connection's number in the capture (binds and calls name it)
    ts: float
    port: int
    protocol: str
    syns: int
    answered: bool
    refused: bool
    handshake_ms: float | None
    ended_by: str
    end_ts: float
    retransmitted: int = 0
    out_of_order: int = 0
    missing: int = 0
    first_interface: str = ""  # the first interface bound on it (DCE/RPC)


@dataclass
class BindSeen:
    stream: int
    ts: float
    port: int
    kind: str  # bind | alter_context
    interfaces: list[str]
    auth_type: str = ""
    auth_level: str = ""
    result: str = "no answer"  # accepted | rejected (...) | bind_nak | no answer
    nak_reason: int | None = None
    kerberos_error: int | None = None
    latency_ms: float | None = None


@dataclass
class CallSeen:
    stream: int
    ts: float
    port: int
    interface: str
    method: str
    opnum: int
    auth_level: str = ""
    sealed: bool = False
    outcome: str = "no reply"  # response | fault | no reply
    fault: int | None = None
    status: int | None = None  # the stub's return value, when readable
    latency_ms: float | None = None
    detail: str = ""  # readable extras: the class activated, the namespace, the ports named
    ports: list[int] = field(default_factory=list)
    reply_unfinished: bool = False  # unanswered, while the server was still sending a reply (it trickles)


@dataclass
class HttpSeen:
    ts: float
    port: int
    request: str  # method path, or "" for a response without its request
    status: int | None
    scheme: str
    client_token: str  # e.g. "NTLM AUTHENTICATE" / "Kerberos AP-REQ"
    server_token: str
    offered: list[str]
    encrypted: bool
    identify: bool
    fault_xml: str = ""  # the response body when it is a readable SOAP fault
    latency_ms: float | None = None
    request_bytes: int = 0  # the request's body: 0 for a bare authentication leg
    content_type: str = ""  # the response's: multipart/encrypted, a SOAP type, or a proxy's page
    reply_unfinished: bool = False  # unanswered, while the server was still sending a reply (it trickles)


@dataclass
class Identity:
    user: str = ""
    domain: str = ""
    workstation: str = ""
    mechanism: str = ""

    @property
    def principal(self) -> str:
        return f"{self.domain}\\{self.user}" if self.domain else self.user


@dataclass
class KdcSilence:
    """A Kerberos conversation that got no reply: the KDC refused the connection, or never answered."""

    ts: float
    client: str
    kdc: str  # address:port
    refused: bool


@dataclass
class Attempt:
    client: str
    target: str
    transport: str  # dcom | wsman
    first_ts: float = 0.0
    last_ts: float = 0.0
    connections: list[ConnectionSeen] = field(default_factory=list)
    binds: list[BindSeen] = field(default_factory=list)
    calls: list[CallSeen] = field(default_factory=list)
    http: list[HttpSeen] = field(default_factory=list)
    tls: list[TlsEvent] = field(default_factory=list)
    dns: list[DnsAnswer] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)
    server_names: dict[str, str] = field(default_factory=dict)  # netbios, domain, dns, dns_domain, os_version
    kerberos_services: list[str] = field(default_factory=list)
    kdc_errors: list[str] = field(default_factory=list)
    kdc_unanswered: list[KdcSilence] = field(default_factory=list)
    ipids: dict[bytes, str] = field(default_factory=dict)  # interface of each object a reply handed out
    mechanisms: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    not_kept: int = 0
    merged: int = 0  # later attempts folded into this one (past ATTEMPTS_MAX)
    last_event: str = ""

    def keep(self, items: list, item: object) -> None:
        if len(items) < KEPT:
            items.append(item)
        else:
            self.not_kept += 1


class Folder:
    """Feed Flow and DnsAnswer items in capture order; `attempts()` gives the attempts found."""

    def __init__(self, wsman_ports: frozenset[int], kdc_ports: frozenset[int] = frozenset({KERBEROS_PORT})) -> None:
        self.wsman_ports = wsman_ports
        self.kdc_ports = kdc_ports
        self.by_key: dict[tuple[str, str, str], Attempt] = {}  # the attempt each pair is in now
        self.done: list[Attempt] = []
        self.answers: list[DnsAnswer] = []
        self.kdc: list[KdcReply] = []
        self.kdc_silences: list[KdcSilence] = []
        self.streams = 0

    def add(self, item: Flow | DnsAnswer | KdcReply) -> None:
        if isinstance(item, DnsAnswer):
            if len(self.answers) < KEPT:
                self.answers.append(item)
            return
        if isinstance(item, KdcReply):
            if len(self.kdc) < KEPT:
                self.kdc.append(item)
            return
        if item.protocol == "kerberos" or item.server_port in self.kdc_ports:
            for reply in item.kdc:
                self.add(reply)
            if not item.kdc and len(self.kdc_silences) < KEPT:  # refused, SYNs unanswered, or a request unanswered
                kdc = f"{item.server}:{item.server_port}"
                self.kdc_silences.append(KdcSilence(item.first_ts, item.client, kdc, item.refused))
            return
        transport = _transport(item, self.wsman_ports)
        key = (item.client, item.server, transport)
        attempt = self.by_key.get(key)
        if attempt is not None and _starts_another(attempt, item):
            if len(self.done) + len(self.by_key) < ATTEMPTS_MAX:
                self.done.append(self.by_key.pop(key))
                attempt = None
            else:
                attempt.merged += 1
        if attempt is None:
            attempt = self.by_key[key] = Attempt(item.client, item.server, transport, first_ts=item.first_ts)
        attempt.first_ts = min(attempt.first_ts, item.first_ts)
        attempt.last_ts = max(attempt.last_ts, item.last_ts)
        self.streams += 1
        seen = ConnectionSeen(
            self.streams,
            item.first_ts,
            item.server_port,
            item.protocol,
            item.syns,
            item.answered,
            item.refused,
            item.handshake_ms,
            item.ended_by,
            item.closed_ts or item.last_ts,
            item.retransmitted,
            item.out_of_order,
            item.missing,
        )
        if transport == "dcom":
            _fold_rpc(attempt, item, seen)
        else:
            _fold_http(attempt, item)
        attempt.keep(attempt.connections, seen)
        attempt.not_kept += item.messages_dropped

    def attempts(self) -> list[Attempt]:
        found = sorted(self.done + list(self.by_key.values()), key=lambda a: a.first_ts)
        for attempt in found:
            addresses = {attempt.target}
            attempt.dns = [a for a in self.answers if addresses & set(a.addresses)]
            _kerberos_users(attempt, self.kdc)
            if _stopped_before_authenticating(attempt):  # a KDC that stayed silent may be why
                attempt.kdc_unanswered = [s for s in self.kdc_silences if _during(attempt, s.client, s.ts)]
            attempt.connections.sort(key=lambda c: c.ts)
            attempt.binds.sort(key=lambda b: b.ts)
            attempt.calls.sort(key=lambda c: c.ts)
            attempt.http.sort(key=lambda h: h.ts)
        return found


def _starts_another(attempt: Attempt, flow: Flow) -> bool:
    """A connection begins a new attempt after a long silence, or when the client starts over (a retry): it
    binds the activator and calls it while the attempt already holds an activation, or it opens with the
    anonymous resolver call (ServerAlive2) that begins a walk while the attempt already holds one."""
    if flow.first_ts - attempt.last_ts > GAP_S:
        return True
    if attempt.transport != "dcom":
        return False
    requests = [p for p in flow.pdus if p.ptype == dcerpc.REQUEST]
    if not requests:
        return False
    if any(
        c.method in ("RemoteCreateInstance", "RemoteGetClassObject", "RemoteActivation") for c in attempt.calls
    ) and any(c.interface in ACTIVATORS for p in flow.pdus for c in p.contexts):
        return True
    anonymous_resolver = [
        p
        for p in flow.pdus
        if p.ptype in (dcerpc.BIND, dcerpc.ALTER)
        and p.auth_type is None
        and any(c.interface in RESOLVERS for c in p.contexts)
    ]
    return bool(anonymous_resolver) and any(
        c.interface in RESOLVERS and c.auth_level in ("", "none") for c in attempt.calls
    )


def _transport(flow: Flow, wsman_ports: frozenset[int]) -> str:
    """DCOM or WS-Man: by what the connection carried, or by its port when it carried nothing."""
    if flow.protocol == "dcerpc":
        return "dcom"
    if flow.protocol in ("http", "tls"):
        return "wsman"
    return "wsman" if flow.server_port in wsman_ports else "dcom"


# KRB-ERRORs that are steps of a working exchange, not refusals: PREAUTH_REQUIRED answers the first AS-REQ of
# nearly every logon; RESPONSE_TOO_BIG tells a UDP client to ask again over TCP (RFC 4120 7.2.1).
ROUTINE_KDC_ERRORS = frozenset({25, 52})


def _stopped_before_authenticating(attempt: Attempt) -> bool:
    """The attempt never authenticated to the target (no authenticated bind, no HTTP authentication): only then
    can a KDC's refusal or silence that names no service it presented be why it stopped. An attempt that went on
    with NTLM, or with a ticket, is not blamed for the client's other Kerberos traffic."""
    return not (
        attempt.kerberos_services or any(b.auth_type for b in attempt.binds) or any(h.scheme for h in attempt.http)
    )


def _during(attempt: Attempt, client: str, ts: float) -> bool:
    """Whether something the capture saw from `client` at `ts` falls inside the attempt (or just after it)."""
    return client == attempt.client and attempt.first_ts <= ts <= attempt.last_ts + GAP_S


def _kerberos_users(attempt: Attempt, replies: list[KdcReply]) -> None:
    """Name the Kerberos user: the KDC issued this client a ticket for a service the attempt presented. A KDC's
    refusal belongs to the attempt when it concerns such a service, or, when the attempt never presented a ticket
    (the refusal stopped it), when the KDC sent it to this client during the attempt."""
    services = {s.rsplit("@", 1)[0].lower() for s in attempt.kerberos_services}
    stopped = _stopped_before_authenticating(attempt)
    for reply in replies:
        if reply.client != attempt.client:
            continue
        presented = reply.service.lower() in services
        if reply.kind == "KRB-ERROR":
            if presented or (
                stopped and _during(attempt, reply.client, reply.ts) and reply.error not in ROUTINE_KDC_ERRORS
            ):
                attempt.kdc_errors.append(f"KRB-ERROR {reply.error} for {reply.service}")
            continue
        if not presented:
            continue
        identity = Identity(reply.user, reply.realm, "", "Kerberos")
        if identity not in attempt.identities:
            attempt.identities.append(identity)


def _token_text(token: auth.Token | None) -> str:
    if token is None:
        return ""
    text = f"{token.mechanism} {token.message}".strip()
    return f"{text} ({token.spnego_state})" if token.spnego_state else text


def _fold_rpc(attempt: Attempt, flow: Flow, seen: ConnectionSeen) -> None:
    contexts: dict[int, str] = {}
    pending_binds: dict[int, tuple[BindSeen, list[int]]] = {}
    requests: dict[int, CallSeen] = {}
    level = ""
    for pdu in sorted(flow.pdus, key=lambda p: p.ts):  # stable: a reordered capture still pairs calls
        token = pdu.token
        if token is not None:
            _note_token(attempt, token)
        if pdu.auth_type is not None:
            mechanism = auth.AUTH_TYPES.get(pdu.auth_type, str(pdu.auth_type))
            if mechanism not in attempt.mechanisms:
                attempt.mechanisms.append(mechanism)
            level = auth.AUTH_LEVELS.get(pdu.auth_level or 0, str(pdu.auth_level))
            if pdu.ptype in (dcerpc.BIND, dcerpc.ALTER) and level not in attempt.levels:
                attempt.levels.append(level)
        if pdu.ptype in (dcerpc.BIND, dcerpc.ALTER):
            bind = BindSeen(
                seen.stream,
                pdu.ts,
                flow.server_port,
                pdu.kind,
                [c.interface for c in pdu.contexts],
                auth.AUTH_TYPES.get(pdu.auth_type, "") if pdu.auth_type is not None else "",
                level if pdu.auth_type is not None else "",
            )
            if not seen.first_interface and pdu.contexts:
                seen.first_interface = pdu.contexts[0].interface
            if pdu.call_id in pending_binds and pdu.ptype == dcerpc.ALTER and not pdu.contexts:
                continue
            pending_binds[pdu.call_id] = (bind, [c.ctx_id for c in pdu.contexts])
            for context in pdu.contexts:
                contexts.setdefault(context.ctx_id, context.interface)
            attempt.keep(attempt.binds, bind)
            attempt.last_event = f"{pdu.kind} ({', '.join(bind.interfaces[:1])}) from the client"
        elif pdu.ptype in (dcerpc.BIND_ACK, dcerpc.ALTER_RESP, dcerpc.BIND_NAK):
            entry = pending_binds.get(pdu.call_id)
            if entry is None:
                continue
            bind, ids = entry
            if bind.result != "no answer":
                continue
            bind.latency_ms = round((pdu.ts - bind.ts) * 1000, 3)
            if token is not None and token.error is not None:
                bind.kerberos_error = token.error
            if pdu.ptype == dcerpc.BIND_NAK:
                bind.result, bind.nak_reason = "bind_nak", pdu.nak_reason
            else:
                rejected = [r for r in pdu.results if r.result not in ("acceptance", "negotiate ack")]
                accepted = [r for r in pdu.results if r.result == "acceptance"]
                bind.result = (
                    "accepted"
                    if accepted
                    else (f"rejected ({rejected[0].result}: {rejected[0].reason})" if rejected else "accepted")
                )
                for ctx_id, result in zip(ids, pdu.results, strict=False):
                    if result.result != "acceptance":
                        contexts.pop(ctx_id, None)
            attempt.last_event = f"{pdu.kind} from the server"
        elif pdu.ptype == dcerpc.REQUEST:
            if pdu.call_id in requests:
                requests[pdu.call_id].ts = pdu.ts  # a later fragment of the same request
                continue
            # DCOM routes a call by the IPID it carries, whatever interface its presentation context names
            interface = attempt.ipids.get(pdu.object_uuid) or contexts.get(pdu.ctx_id or 0, "?")
            call = CallSeen(
                seen.stream,
                pdu.ts,
                flow.server_port,
                interface,
                method_name(interface, pdu.opnum or 0),
                pdu.opnum or 0,
                level if pdu.auth_type is not None else "none",
                pdu.sealed,
            )
            if pdu.stub is not None:
                call.detail = _request_detail(call, pdu.stub)
            requests[pdu.call_id] = call
            attempt.keep(attempt.calls, call)
            attempt.last_event = f"{interface}::{call.method} request"
        elif pdu.ptype in (dcerpc.RESPONSE, dcerpc.FAULT):
            if pdu.call_id not in requests:
                continue
            call = requests[pdu.call_id]
            if call.latency_ms is None:
                call.latency_ms = round((pdu.ts - call.ts) * 1000, 3)
            if pdu.ptype == dcerpc.FAULT:
                call.outcome, call.fault = "fault", pdu.status
                attempt.last_event = f"fault 0x{pdu.status or 0:08x} to {call.interface}::{call.method}"
                continue
            call.outcome = "response"
            call.sealed = call.sealed or pdu.sealed
            if (
                pdu.flags & dcerpc.PFC_LAST
                and pdu.stub is not None
                and len(pdu.stub) >= 4
                and pdu.stub_len <= len(pdu.stub)
            ):
                call.status = struct.unpack_from("<L", pdu.stub, len(pdu.stub) - 4)[0]
            if pdu.ports:
                call.ports += [p for p in pdu.ports if p not in call.ports]
            for ipid, returned in pdu.objrefs:
                attempt.ipids.setdefault(ipid, returned)
            attempt.last_event = f"{call.interface}::{call.method} response"
    unanswered = [call for call in requests.values() if call.outcome == "no reply"]
    if unanswered and flow.server_unfinished:
        unanswered[-1].reply_unfinished = True


def _request_detail(call: CallSeen, stub: bytes) -> str:
    if call.method in ("RemoteCreateInstance", "RemoteGetClassObject", "RemoteActivation"):
        names = [name for guid, name in _CLASS_GUIDS.items() if guid in stub]
        return f"class {', '.join(names)}" if names else ""
    if call.method in ("NTLMLogin", "OpenNamespace"):
        match = _NAMESPACE.search(stub.decode("utf-16le", "ignore")) or _NAMESPACE.search(
            stub[1:].decode("utf-16le", "ignore")
        )
        return f"namespace {match.group(0)}" if match else ""
    return ""


def _note_token(attempt: Attempt, token: auth.Token) -> None:
    if token.message == "AUTHENTICATE":
        identity = Identity(token.user, token.domain, token.workstation, "NTLM")
        if identity not in attempt.identities and len(attempt.identities) < 20:
            attempt.identities.append(identity)
    elif token.message == "CHALLENGE":
        for name in ("server_netbios", "server_domain", "server_dns", "server_dns_domain", "os_version"):
            value = getattr(token, name)
            if value:
                attempt.server_names[name.removeprefix("server_")] = value
    elif token.message == "AP-REQ" and token.service:
        spn = f"{token.service}@{token.realm}"
        if spn not in attempt.kerberos_services and len(attempt.kerberos_services) < 20:
            attempt.kerberos_services.append(spn)


def _fold_http(attempt: Attempt, flow: Flow) -> None:
    for event in flow.tls:
        attempt.keep(attempt.tls, event)
    waiting: list[HttpMessage] = []
    for message in flow.http:
        if message.token is not None:
            _note_token(attempt, message.token)
        if message.from_client:
            waiting.append(message)
            scheme = message.scheme or ""
            if scheme and scheme not in attempt.mechanisms:
                attempt.mechanisms.append(scheme)
            attempt.last_event = f"{message.method} {message.path} from the client"
            continue
        if message.status == 100:
            continue
        request = waiting.pop(0) if waiting else None
        identify = bool(request and request.body and b"Identify" in request.body)
        seen = HttpSeen(
            message.ts,
            flow.server_port,
            f"{request.method} {request.path}" if request else "",
            message.status,
            (request.scheme if request else "") or message.scheme,
            _token_text(request.token if request else None),
            _token_text(message.token),
            message.offered,
            message.encrypted or bool(request and request.encrypted),
            identify,
            fault_xml=message.body.decode("utf-8", "replace") if message.body and b"Fault" in message.body else "",
            latency_ms=round((message.ts - request.ts) * 1000, 3) if request else None,
            request_bytes=request.body_len if request else 0,
            content_type=message.content_type,
        )
        attempt.keep(attempt.http, seen)
        attempt.last_event = f"HTTP {message.status} from the server"
    for number, request in enumerate(waiting, 1):  # requests the capture shows no answer to
        attempt.keep(
            attempt.http,
            HttpSeen(
                request.ts,
                flow.server_port,
                f"{request.method} {request.path}",
                None,
                request.scheme,
                _token_text(request.token),
                "",
                [],
                request.encrypted,
                bool(request.body and b"Identify" in request.body),
                request_bytes=request.body_len,
                reply_unfinished=number == len(waiting) and bool(flow.server_unfinished),
            ),
        )
