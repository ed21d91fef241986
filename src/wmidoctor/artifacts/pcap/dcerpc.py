"""Connection-oriented DCE/RPC PDUs ([C706] 12.6, [MS-RPCE] 2.2.2) from a reassembled TCP stream:
header, presentation contexts, bind results, request/response/fault fields and the security trailer.

Only the header fields are read for every PDU; stubs are kept (up to STUB_KEPT bytes) when they are
not sealed, so the layer above can read a return status or an activation's string bindings.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from wmidoctor.artifacts.pcap import auth
from wmidoctor.artifacts.pcap.interfaces import interface_name

REQUEST, RESPONSE, FAULT, BIND, BIND_ACK, BIND_NAK, ALTER, ALTER_RESP, AUTH3, SHUTDOWN, CANCEL, ORPHANED = (
    0,
    2,
    3,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
)
PTYPES = {
    REQUEST: "request",
    RESPONSE: "response",
    FAULT: "fault",
    BIND: "bind",
    BIND_ACK: "bind_ack",
    BIND_NAK: "bind_nak",
    ALTER: "alter_context",
    ALTER_RESP: "alter_context_resp",
    AUTH3: "auth3",
    SHUTDOWN: "shutdown",
    CANCEL: "co_cancel",
    ORPHANED: "orphaned",
}
PFC_FIRST, PFC_LAST, PFC_OBJECT_UUID = 0x01, 0x02, 0x80
STUB_KEPT = 64 * 1024

# [C706] 12.6.3.1 p_reject_reason / [MS-RPCE] 2.2.2.5 (bind_nak).
BIND_NAK_REASONS = {
    0: "reason not specified",
    1: "temporary congestion",
    2: "local limit exceeded",
    3: "called presentation address unknown",
    4: "protocol version not supported",
    5: "default context not supported",
    6: "user data not readable",
    7: "no presentation service access point available",
    8: "authentication type not recognized",
    9: "invalid checksum",
}
# [C706] 12.6.3.1 p_cont_def_result / provider_reason of a bind_ack result.
CONTEXT_RESULTS = {0: "acceptance", 1: "user rejection", 2: "provider rejection", 3: "negotiate ack"}
PROVIDER_REASONS = {
    0: "reason not specified",
    1: "abstract syntax not supported",
    2: "proposed transfer syntaxes not supported",
    3: "local limit exceeded",
}

_BINDING_PORT = re.compile(r"\[(\d{1,5})\]")
_TOWER_TCP = re.compile(rb"\x01\x00\x07\x02\x00(..)", re.DOTALL)  # an EPM tower floor: TCP port (big endian)


def _uuid(data: bytes) -> str:
    a, b, c = struct.unpack_from("<LHH", data)
    rest = data[8:16].hex()
    return f"{a:08x}-{b:04x}-{c:04x}-{rest[:4]}-{rest[4:]}"


@dataclass
class Context:
    ctx_id: int
    interface: str  # a name from interfaces.INTERFACES, or the UUID


@dataclass
class ContextResult:
    result: str
    reason: str


@dataclass
class Pdu:
    ts: float
    from_client: bool
    ptype: int
    flags: int
    call_id: int
    frag_len: int
    auth_type: int | None = None
    auth_level: int | None = None
    token: auth.Token | None = None
    contexts: list[Context] = field(default_factory=list)  # bind / alter_context
    results: list[ContextResult] = field(default_factory=list)  # bind_ack / alter_context_resp
    nak_reason: int | None = None
    ctx_id: int | None = None
    opnum: int | None = None
    status: int | None = None  # fault status
    stub: bytes | None = None  # None when sealed (packet privacy) or absent
    stub_len: int = 0
    sealed: bool = False
    ports: list[int] = field(default_factory=list)  # TCP ports named in the stub (OXID bindings, EPM towers)
    object_uuid: bytes = b""  # a request's object UUID: for DCOM calls, the IPID of the interface called
    objrefs: list[tuple[bytes, str]] = field(default_factory=list)  # (IPID, interface) of objects a reply returns

    @property
    def kind(self) -> str:
        return PTYPES.get(self.ptype, f"ptype {self.ptype}")


def looks_like_rpc(data: bytes) -> bool:
    """A connection-oriented DCE/RPC v5.0 PDU header of a known type at the start of `data`."""
    return (
        len(data) >= 16
        and data[0] == 5
        and data[1] == 0
        and data[2] in PTYPES
        and data[4] in (0x10, 0x00)
        and 16 <= struct.unpack_from("<H", data, 8)[0] <= 65535
    )


def parse(data: bytes, ts: float, from_client: bool) -> Pdu:
    """One whole PDU (data[:frag_len]); raises ValueError/struct.error on a malformed one."""
    ptype, flags = data[2], data[3]
    frag_len, auth_len, call_id = struct.unpack_from("<HHL", data, 8)
    pdu = Pdu(ts, from_client, ptype, flags, call_id, frag_len)
    body_end = frag_len
    if auth_len and frag_len >= 16 + 8 + auth_len:
        trailer = frag_len - auth_len - 8
        pdu.auth_type, pdu.auth_level, pad = data[trailer], data[trailer + 1], data[trailer + 2]
        if ptype in (BIND, BIND_ACK, ALTER, ALTER_RESP, AUTH3, BIND_NAK):  # requests carry verifiers, not tokens
            pdu.token = auth.decode(bytes(data[trailer + 8 : frag_len]))
        body_end = max(16, trailer - pad)
    if ptype in (BIND, ALTER):
        _contexts(data, pdu)
    elif ptype in (BIND_ACK, ALTER_RESP):
        _results(data, pdu)
    elif ptype == BIND_NAK:
        pdu.nak_reason = struct.unpack_from("<H", data, 16)[0]
    elif ptype == REQUEST:
        pdu.ctx_id, pdu.opnum = struct.unpack_from("<HH", data, 20)
        if flags & PFC_OBJECT_UUID:
            pdu.object_uuid = bytes(data[24:40])
        _stub(data, 24 + (16 if flags & PFC_OBJECT_UUID else 0), body_end, pdu)
    elif ptype == RESPONSE:
        pdu.ctx_id = struct.unpack_from("<H", data, 20)[0]
        _stub(data, 24, body_end, pdu)
    elif ptype == FAULT:
        pdu.ctx_id = struct.unpack_from("<H", data, 20)[0]
        pdu.status = struct.unpack_from("<L", data, 24)[0]
    return pdu


def _contexts(data: bytes, pdu: Pdu) -> None:
    count = data[24]
    offset = 28
    for _ in range(count):
        ctx_id, transfers = struct.unpack_from("<HB", data, offset)
        pdu.contexts.append(Context(ctx_id, interface_name(_uuid(data[offset + 4 : offset + 20]))))
        offset += 24 + 20 * transfers


def _results(data: bytes, pdu: Pdu) -> None:
    secondary = struct.unpack_from("<H", data, 24)[0]
    offset = 26 + secondary
    offset += (4 - offset % 4) % 4
    count = data[offset]
    offset += 4
    for _ in range(count):
        result, reason = struct.unpack_from("<HH", data, offset)
        pdu.results.append(
            ContextResult(
                CONTEXT_RESULTS.get(result, str(result)), PROVIDER_REASONS.get(reason, str(reason)) if result else ""
            )
        )
        offset += 24


def _stub(data: bytes, start: int, end: int, pdu: Pdu) -> None:
    pdu.stub_len = max(0, end - start)
    if pdu.auth_level == auth.PRIVACY:
        pdu.sealed = True
        return
    stub = bytes(data[start:end])
    pdu.stub = stub[:STUB_KEPT] if len(stub) > STUB_KEPT else stub
    if not pdu.from_client and len(stub) >= 16:
        pdu.ports = stub_ports(stub)
        pdu.objrefs = stub_objrefs(stub)


# An OBJREF ([MS-DCOM] 2.2.18): signature "MEOW", flags, IID, then for a standard OBJREF the STDOBJREF
# (flags, public references, OXID, OID) followed by the IPID that later calls carry as their object UUID.
_OBJREF_SIGNATURE = b"MEOW"
_IID_AT, _IPID_AT = 8, 48


def stub_objrefs(stub: bytes) -> list[tuple[bytes, str]]:
    """(IPID, interface name) of every standard OBJREF readable in a reply's stub."""
    found = []
    at = stub.find(_OBJREF_SIGNATURE)
    while at >= 0 and at + _IPID_AT + 16 <= len(stub):
        if struct.unpack_from("<L", stub, at + 4)[0] == 1:  # OBJREF_STANDARD
            found.append(
                (
                    stub[at + _IPID_AT : at + _IPID_AT + 16],
                    interface_name(_uuid(stub[at + _IID_AT : at + _IID_AT + 16])),
                )
            )
        at = stub.find(_OBJREF_SIGNATURE, at + 4)
    return found


def stub_ports(stub: bytes) -> list[int]:
    """TCP ports a reply names: DCOM string bindings ("HOST[49667]", UTF-16) and EPM tower floors."""
    found: list[int] = []
    for shift in (0, 1):  # NDR aligns the USHORT array, but a kept stub may start anywhere
        found += [int(m.group(1)) for m in _BINDING_PORT.finditer(stub[shift:].decode("utf-16le", "ignore"))]
    if b"\x01\x00\x07\x02\x00" in stub:
        found += [struct.unpack(">H", m.group(1))[0] for m in _TOWER_TCP.finditer(stub)]
    return [p for i, p in enumerate(found) if 0 < p < 65536 and p not in found[:i]]
