"""MSRPC plumbing on top of impacket: a transport over a socket we opened (so TCP outcomes are ours to
classify), and reading the status out of the last PDU the server sent (impacket keeps only text)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from struct import pack, unpack_from

from Cryptodome.Cipher import ARC4
from impacket import ntlm
from impacket.dcerpc.v5 import rpcrt
from impacket.dcerpc.v5.transport import TCPTransport

from wmidoctor.remote import ntlm_v2
from wmidoctor.remote.credentials import Credentials
from wmidoctor.remote.walk import current_deadline

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

    def get_dce_rpc(self) -> LeanDCERPC:
        return LeanDCERPC(self)

    def _bound(self) -> None:
        """Give the next socket call what is left of the stage's deadline, not a fresh timeout: a
        server that trickles bytes must not stretch a stage past its limit."""
        deadline = current_deadline()
        if deadline is None:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeadlinePassed("the stage's time limit passed while the server was still sending")
        self._sock.settimeout(left)

    def send(self, data: bytes, forceWriteAndx: int = 0, forceRecv: int = 0) -> None:
        self.received = bytearray()
        self.last_call_id = unpack_from("<L", data, 12)[0]
        self._bound()
        self._sock.sendall(data)

    def recv(self, forceRecv: int = 0, count: int = 0) -> bytes:
        buffer = b""
        while len(buffer) < max(count, 1):
            self._bound()
            chunk = self._sock.recv(count - len(buffer) if count else 65536)
            if not chunk:
                raise ConnectionClosed("the server closed the connection")
            buffer += chunk
            self.received += chunk  # kept as it arrives: a deadline mid-answer must show bytes came
            if not count:
                break
        return buffer


class ConnectionClosed(ConnectionError):
    pass


class DeadlinePassed(TimeoutError):
    """The stage's deadline passed in the middle of an exchange (bytes may have been arriving)."""


HEADER_SIZE = 16
RESPONSE_HEADER_SIZE = 24
AUTH_CONTEXT_BASE = 79231  # impacket numbers its security contexts from here (auth_ctx_id = ctx + this)
NDR_SYNTAX_TUPLE = ("8a885d04-1ceb-11c9-9fe8-08002b104860", "2.0")
_negotiate: ntlm.NTLMAuthNegotiate | None = None


def _ntlm_negotiate() -> ntlm.NTLMAuthNegotiate:
    """The NTLM NEGOTIATE impacket sends in a bind: the same for every connection, so built once."""
    global _negotiate
    if _negotiate is None:
        _negotiate = ntlm.getNTLMSSPType1("", "", signingRequired=True, use_ntlmv2=True)
    return _negotiate


PFC_OBJECT_UUID = rpcrt.PFC_OBJECT_UUID
DREP_LITTLE_ENDIAN = b"\x10\x00\x00\x00"


class LeanDCERPC(rpcrt.DCERPC_v5):
    """impacket's DCE/RPC client, with request PDUs packed and response PDUs read by `struct`.

    impacket packs each request PDU three times and parses each response header through its generic
    Structure class; in a fleet that is a third of the prober's CPU. Unauthenticated calls and NTLM at
    packet integrity (what the probe uses unless --privacy or --kerberos) take this path; everything
    else (sealing, Kerberos) is left to impacket. The bytes on the wire are the ones impacket sends.

    The NTLM session state lives in impacket's private (name-mangled) attributes; it is read here, not
    copied, so impacket's own code keeps working on the same connection.
    """

    def _lean(self) -> bool:
        level = self._DCERPC_v5__auth_level
        return level == rpcrt.RPC_C_AUTHN_LEVEL_NONE or (
            level == AUTHN_LEVEL_INTEGRITY and self._DCERPC_v5__auth_type == rpcrt.RPC_C_AUTHN_WINNT
        )

    def bind(self, iface_uuid: bytes, alter: int = 0, bogus_binds: int = 0, transfer_syntax=NDR_SYNTAX_TUPLE):
        """impacket's bind (one context; anonymous, or NTLM at packet integrity), with the PDUs packed and
        read by `struct`: the same bytes on the wire, the same session state left in impacket's private
        attributes for its own code to use."""
        if alter or bogus_binds or transfer_syntax != NDR_SYNTAX_TUPLE or not self._lean():
            return super().bind(iface_uuid, alter, bogus_binds, transfer_syntax)
        ctx, call_id, level = self._ctx, self._DCERPC_v5__callid, self._DCERPC_v5__auth_level
        body = pack("<HHLBBH", MAX_FRAGMENT, MAX_FRAGMENT, 0, 1, 0, 0) + pack("<HBB", ctx, 1, 0) + iface_uuid
        body += NDR_TRANSFER_SYNTAX
        negotiate = None
        if level == rpcrt.RPC_C_AUTHN_LEVEL_NONE:
            pdu = self._pdu(rpcrt.MSRPC_BIND, call_id, body, b"")
        else:
            negotiate = _ntlm_negotiate()
            pdu = self._pdu(rpcrt.MSRPC_BIND, call_id, body, negotiate.getData())
        self._transport.send(pdu)
        reply = self._transport.recv(count=HEADER_SIZE)
        reply += self._transport.recv(count=unpack_from("<H", reply, 8)[0] - HEADER_SIZE)
        kind = reply[2]
        if kind in (PDU_BINDNAK, PDU_FAULT):
            raise rpcrt.DCERPCException(f"bind refused (PDU type {kind})")
        if kind != rpcrt.MSRPC_BINDACK:
            raise rpcrt.DCERPCException(f"Unknown DCE RPC packet type received: {kind}")
        _, max_recv, _, address_len = unpack_from("<HHLH", reply, 16)
        at = 26 + address_len
        at += (4 - at % 4) % 4
        result, reason = unpack_from("<HH", reply, at + 4)
        if result != 0:
            text = rpcrt.rpc_provider_reason.get(reason, f"reason {reason}")
            raise rpcrt.DCERPCException(f"Bind context 1 rejected: {text}")
        self._DCERPC_v5__max_xmit_size = max_recv
        if negotiate is not None:
            self._authenticate(negotiate, reply, ctx)
        self._DCERPC_v5__callid += 1
        return reply

    def _pdu(self, kind: int, call_id: int, body: bytes, auth: bytes) -> bytes:
        trailer = b""
        if auth:
            pad = (4 - (HEADER_SIZE + len(body)) % 4) % 4
            body += b"\xff" * pad
            trailer = pack(
                "<BBBBL", rpcrt.RPC_C_AUTHN_WINNT, self._DCERPC_v5__auth_level, pad, 0, self._ctx + AUTH_CONTEXT_BASE
            )
        return (
            pack(
                "<BBBB4sHHL",
                5,
                0,
                kind,
                rpcrt.PFC_FIRST_FRAG | rpcrt.PFC_LAST_FRAG,
                DREP_LITTLE_ENDIAN,
                HEADER_SIZE + len(body) + len(trailer) + len(auth),
                len(auth),
                call_id,
            )
            + body
            + trailer
            + auth
        )

    def _authenticate(self, negotiate: ntlm.NTLMAuthNegotiate, bind_ack: bytes, ctx: int) -> None:
        """The NTLM AUTHENTICATE for the server's CHALLENGE, sent in an AUTH3 (never answered), and the
        session keys derived as impacket derives them."""
        user, password, domain, lmhash, nthash, *_ = self._transport.get_credentials()
        challenge = bind_ack[len(bind_ack) - unpack_from("<H", bind_ack, 10)[0] :]
        message: bytes | None = None
        # the transport holds a given NT hash as bytes, and '' without one
        if user and (isinstance(nthash, bytes) or nthash == "") and self._transport.doesSupportNTLMv2():
            try:
                nt_hash = nthash or ntlm_v2.nt_hash_of(password or "")
                message, flags, session_key = ntlm_v2.authenticate(negotiate["flags"], challenge, user, domain, nt_hash)
            except ntlm_v2.NotAChallenge:
                message = None
        if message is None:  # anonymous, or a reply this module does not answer: impacket's own message
            response, session_key = ntlm.getNTLMSSPType3(
                negotiate,
                challenge,
                user,
                password,
                domain,
                lmhash,
                nthash,
                use_ntlmv2=self._transport.doesSupportNTLMv2(),
            )
            flags, message = response["flags"], response.getData()
        self._DCERPC_v5__sessionKey, self._DCERPC_v5__flags, self._DCERPC_v5__sequence = session_key, flags, 0
        if flags & ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY:
            client_seal, server_seal = ntlm.SEALKEY(flags, session_key), ntlm.SEALKEY(flags, session_key, b"Server")
            self._DCERPC_v5__clientSigningKey = ntlm.SIGNKEY(flags, session_key)
            self._DCERPC_v5__serverSigningKey = ntlm.SIGNKEY(flags, session_key, b"Server")
            self._DCERPC_v5__clientSealingKey, self._DCERPC_v5__serverSealingKey = client_seal, server_seal
            self._DCERPC_v5__clientSealingHandle = ARC4.new(client_seal).encrypt
            self._DCERPC_v5__serverSealingHandle = ARC4.new(server_seal).encrypt
        else:
            self._DCERPC_v5__clientSigningKey = self._DCERPC_v5__serverSigningKey = session_key
            self._DCERPC_v5__clientSealingKey = self._DCERPC_v5__serverSealingKey = session_key
            handle = ARC4.new(session_key).encrypt
            self._DCERPC_v5__clientSealingHandle = self._DCERPC_v5__serverSealingHandle = handle
        self._DCERPC_v5__confounder = b""
        call_id = unpack_from("<L", bind_ack, 12)[0]
        self._DCERPC_v5__callid = call_id
        self._transport.send(self._pdu(rpcrt.MSRPC_AUTH3, call_id, b"    ", message))

    def _transport_send(self, rpc_packet: rpcrt.MSRPCHeader, forceWriteAndx: int = 0, forceRecv: int = 0) -> None:
        if not self._lean() or rpc_packet["type"] != rpcrt.MSRPC_REQUEST:
            super()._transport_send(rpc_packet, forceWriteAndx, forceRecv)
            return
        rpc_packet["ctx_id"] = self._ctx  # a _ContextCall keeps its own
        flags = rpc_packet["flags"]
        body = pack("<LHH", rpc_packet["alloc_hint"], rpc_packet["ctx_id"], rpc_packet["op_num"])
        if flags & PFC_OBJECT_UUID:
            body += rpc_packet["uuid"]
        stub = rpc_packet["pduData"]
        if self._DCERPC_v5__auth_level == rpcrt.RPC_C_AUTHN_LEVEL_NONE:
            self._transport.send(self._header(rpc_packet, flags, len(body) + len(stub), 0) + body + stub)
            return
        pad = (4 - (HEADER_SIZE + len(body) + len(stub)) % 4) % 4
        stub += b"\xbb" * pad
        trailer = pack("<BBBBL", rpcrt.RPC_C_AUTHN_WINNT, AUTHN_LEVEL_INTEGRITY, pad, 0, self._ctx + 79231)
        signed = self._header(rpc_packet, flags, len(body) + len(stub) + len(trailer) + 16, 16) + body + stub + trailer
        ntlm_flags = self._DCERPC_v5__flags
        ess = ntlm_flags & ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
        signature = ntlm.SIGN(
            ntlm_flags,
            self._DCERPC_v5__clientSigningKey,
            signed if ess else stub,
            self._DCERPC_v5__sequence,
            self._DCERPC_v5__clientSealingHandle,
        )
        self._DCERPC_v5__sequence += 1
        self._transport.send(signed + signature.getData())

    @staticmethod
    def _header(rpc_packet: rpcrt.MSRPCHeader, flags: int, body_len: int, auth_len: int) -> bytes:
        return pack(
            "<BBBB4sHHL",
            5,
            0,
            rpcrt.MSRPC_REQUEST,
            flags,
            DREP_LITTLE_ENDIAN,
            HEADER_SIZE + body_len,
            auth_len,
            rpc_packet["call_id"],
        )

    def recv(self) -> bytes:
        if not self._lean():
            return super().recv()
        answer = b""
        while True:
            data = self._transport.recv(count=RESPONSE_HEADER_SIZE)
            kind, flags = data[2], data[3]
            frag_len, auth_len = unpack_from("<HH", data, 8)
            if frag_len > len(data):
                data += self._transport.recv(count=frag_len - len(data))
            if kind == PDU_FAULT:
                raise _fault(unpack_from("<L", data, RESPONSE_HEADER_SIZE)[0])
            body = data[RESPONSE_HEADER_SIZE:]
            if auth_len:
                pad = data[len(data) - auth_len - 6]  # sec_trailer: type, level, pad length, ...
                body = body[: len(body) - auth_len - 8 - pad]
                if not self._DCERPC_v5__flags & ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY:
                    self._DCERPC_v5__sequence += 1  # impacket counts received PDUs only without NTLM2
            answer += body
            if flags & rpcrt.PFC_LAST_FRAG:
                return answer


def _fault(status: int) -> rpcrt.DCERPCException:
    """The exception impacket raises for a fault PDU (same text)."""
    codes = rpcrt.rpc_status_codes
    if status in codes:
        return rpcrt.DCERPCException(codes[status])
    if status & 0xFFFF in codes:
        return rpcrt.DCERPCException(codes[status & 0xFFFF])
    messages = rpcrt.hresult_errors.ERROR_MESSAGES
    if status in messages:
        return rpcrt.DCERPCException(f"{messages[status][0]} - {messages[status][1]}")
    return rpcrt.DCERPCException(f"Unknown DCE RPC fault status code: {status:08x}")


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
    header = pack(
        "<BBBB4sHHL",
        5,
        0,
        PDU_ALTER_CONTEXT,
        rpcrt.PFC_FIRST_FRAG | rpcrt.PFC_LAST_FRAG,
        b"\x10\x00\x00\x00",
        16 + len(body),
        0,
        call_id,
    )
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


def call_raw(dce: rpcrt.DCERPC_v5, ctx_id: int, opnum: int, stub: bytes, uuid: bytes | None = None) -> bytes:
    """One request with a stub already encoded (remote.templates), on presentation context `ctx_id`;
    returns the reply's stub."""
    dce.send(_ContextCall(ctx_id, opnum, stub, uuid))
    return dce.recv()


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


def open_dce(
    sock: socket.socket,
    host: str,
    port: int,
    creds: Credentials | None,
    level: int,
    kdc_host: str | None = None,
    tickets=None,
) -> tuple[rpcrt.DCERPC_v5, SocketTransport]:
    """A DCE/RPC client on `sock`; authenticated (NTLM, or Kerberos with `tickets` from the kdc stage)
    at `level` unless creds is None."""
    transport = SocketTransport(sock, host, port)
    if creds is not None:
        if tickets is not None:
            transport.set_credentials(creds.user, "", creds.kerberos_realm, TGT=tickets.tgt, TGS=tickets.tgs)
            transport.set_kerberos(True, kdc_host)
        else:
            password, lmhash, nthash = creds.ntlm_secret()
            transport.set_credentials(creds.user, password, creds.domain, lmhash, nthash)
    dce = transport.get_dce_rpc()
    if creds is not None:
        dce.set_auth_level(level)
        if tickets is not None:
            dce.set_auth_type(rpcrt.RPC_C_AUTHN_GSS_NEGOTIATE)
    return dce, transport
