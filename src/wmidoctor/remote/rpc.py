"""MSRPC plumbing on top of impacket: a transport over a socket we opened (so TCP outcomes are ours to
classify), and reading the status out of the last PDU the server sent (impacket keeps only text)."""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from struct import pack, unpack_from

from impacket.dcerpc.v5 import rpcrt
from impacket.dcerpc.v5.transport import TCPTransport

from wmidoctor.remote.credentials import Credentials

AUTHN_LEVEL_INTEGRITY = rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY
AUTHN_LEVEL_PRIVACY = rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY

PDU_FAULT = rpcrt.MSRPC_FAULT
PDU_BINDNAK = rpcrt.MSRPC_BINDNAK
PDU_ALTER_CONTEXT = rpcrt.MSRPC_ALTERCTX
PDU_ALTER_CONTEXT_RESP = rpcrt.MSRPC_ALTERCTX_R
NDR_TRANSFER_SYNTAX = rpcrt.uuidtup_to_bin(("8a885d04-1ceb-11c9-9fe8-08002b104860", "2.0"))
MAX_FRAGMENT = 4280  # what impacket's binds offer

# The reasons a bind_nak carries (DCE 1.1 / [MS-RPCE] p_reject_reason_t).
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


class SocketTransport(TCPTransport):
    """ncacn_ip_tcp over an already connected socket; keeps the bytes of the server's last answer."""

    def __init__(self, sock: socket.socket, remote_name: str, port: int):
        super().__init__(remote_name, port)
        self._sock = sock
        self.received = bytearray()
        self.last_call_id = 0
        self.contexts = 1  # presentation contexts negotiated so far (impacket's bind makes context 0)
        self.setRemoteHost(sock.getpeername()[0])

    def connect(self) -> int:
        return 1

    def disconnect(self) -> int:
        self._sock.close()
        return 1

    def get_socket(self) -> socket.socket:
        return self._sock

    def send(self, data: bytes, forceWriteAndx: int = 0, forceRecv: int = 0) -> None:
        self.received = bytearray()
        self.last_call_id = unpack_from("<L", data, 12)[0]
        self._sock.sendall(data)

    def recv(self, forceRecv: int = 0, count: int = 0) -> bytes:
        buffer = b""
        while len(buffer) < max(count, 1):
            chunk = self._sock.recv(count - len(buffer) if count else 65536)
            if not chunk:
                raise ConnectionClosed("the server closed the connection")
            buffer += chunk
            if not count:
                break
        self.received += buffer
        return buffer


class ConnectionClosed(ConnectionError):
    pass


class _ContextCall(rpcrt.DCERPC_RawCall):
    """A request PDU on a presentation context of our choosing. impacket stamps the context it bound
    on every request, and derives the security context id from that same number; pinning the
    presentation context here keeps impacket's security context (and its signing sequence)."""

    def __init__(self, ctx_id: int, opnum: int, stub: bytes, uuid: bytes | None):
        self._pinned = ctx_id
        super().__init__(opnum, stub, uuid)

    def __setitem__(self, key: str, value: object) -> None:
        super().__setitem__(key, self._pinned if key == "ctx_id" else value)


def add_context(dce: rpcrt.DCERPC_v5, iid: bytes) -> int:
    """Negotiate one more interface on `dce`'s connection with an alter_context PDU that reuses the
    connection's security context, and return its presentation context id.

    This is what [MS-RPCE] 3.3.2.4.1.3 asks of a client (reuse the security context already built on
    the connection) and what Windows' own DCOM client does; impacket's alter_ctx instead builds a new
    NTLM context per interface, which costs an exchange and a handshake on both sides.
    """
    transport = dce.get_rpc_transport()
    assert isinstance(transport, SocketTransport)
    ctx_id = dce._ctx + transport.contexts
    call_id = transport.last_call_id + 1  # the id the next request will carry, as impacket's binds do
    item = pack("<HBB", ctx_id, 1, 0) + iid + NDR_TRANSFER_SYNTAX
    body = pack("<HHLBBH", MAX_FRAGMENT, MAX_FRAGMENT, 0, 1, 0, 0) + item
    header = pack("<BBBB4sHHL", 5, 0, PDU_ALTER_CONTEXT, rpcrt.PFC_FIRST_FRAG | rpcrt.PFC_LAST_FRAG,
                  b"\x10\x00\x00\x00", 16 + len(body), 0, call_id)
    transport.send(header + body)
    reply = transport.recv(count=16)
    reply += transport.recv(count=unpack_from("<H", reply, 8)[0] - 16)
    if reply[2] != PDU_ALTER_CONTEXT_RESP:
        raise rpcrt.DCERPCException(f"alter_context answered with PDU type {reply[2]}")
    secondary_len = unpack_from("<H", reply, 24)[0]
    results = 26 + secondary_len
    results += (4 - results % 4) % 4
    result, reason = unpack_from("<HH", reply, results + 4)
    if result != 0:
        text = rpcrt.rpc_provider_reason.get(reason, f"reason {reason}")
        raise rpcrt.DCERPCException(f"Bind context {ctx_id} rejected: {text}")
    transport.contexts += 1
    return ctx_id


def request_on(dce: rpcrt.DCERPC_v5, ctx_id: int, request: rpcrt.NDRCALL, uuid: bytes | None = None,
               check_error: bool = True) -> rpcrt.NDRCALL:
    """impacket's DCERPC_v5.request, on presentation context `ctx_id` (from add_context)."""
    dce.send(_ContextCall(ctx_id, request.opnum, request.getData(), uuid))
    answer = dce.recv()
    module = sys.modules[type(request).__module__]
    if check_error and answer[-4:] != b"\x00\x00\x00\x00":
        raise module.DCERPCSessionError(error_code=unpack_from("<L", answer, len(answer) - 4)[0])
    return getattr(module, type(request).__name__ + "Response")(answer)


@dataclass
class PduStatus:
    kind: str  # fault | bind_nak
    code: int


def last_pdu_status(transport: SocketTransport) -> PduStatus | None:
    """The status of a fault or bind_nak the server sent last, read from the raw bytes."""
    data = bytes(transport.received)
    if len(data) < 16:
        return None
    pdu_type = data[2]
    if pdu_type == PDU_FAULT and len(data) >= 28:
        return PduStatus("fault", unpack_from("<L", data, 24)[0])
    if pdu_type == PDU_BINDNAK and len(data) >= 18:
        return PduStatus("bind_nak", unpack_from("<H", data, 16)[0])
    return None


def open_dce(sock: socket.socket, host: str, port: int, creds: Credentials | None, level: int,
             kdc_host: str | None = None) -> tuple[rpcrt.DCERPC_v5, SocketTransport]:
    """A DCE/RPC client on `sock`; authenticated (NTLM or Kerberos at `level`) unless creds is None."""
    transport = SocketTransport(sock, host, port)
    if creds is not None:
        password, lmhash, nthash = creds.ntlm_secret() if not creds.kerberos else (creds.password, creds.lmhash,
                                                                                 creds.nthash)
        transport.set_credentials(creds.user, password, creds.domain, lmhash, nthash)
        transport.set_kerberos(creds.kerberos, kdc_host)
    dce = transport.get_dce_rpc()
    if creds is not None:
        dce.set_auth_level(level)
        if creds.kerberos:
            dce.set_auth_type(rpcrt.RPC_C_AUTHN_GSS_NEGOTIATE)
    return dce, transport
