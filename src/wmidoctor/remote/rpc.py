"""MSRPC plumbing on top of impacket: a transport over a socket we opened (so TCP outcomes are ours to
classify), and reading the status out of the last PDU the server sent (impacket keeps only text)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from struct import unpack_from

from impacket.dcerpc.v5 import rpcrt
from impacket.dcerpc.v5.transport import TCPTransport

from wmidoctor.remote.credentials import Credentials

AUTHN_LEVEL_INTEGRITY = rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY
AUTHN_LEVEL_PRIVACY = rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY

PDU_FAULT = rpcrt.MSRPC_FAULT
PDU_BINDNAK = rpcrt.MSRPC_BINDNAK

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
        transport.set_credentials(creds.user, creds.password, creds.domain, creds.lmhash, creds.nthash)
        transport.set_kerberos(creds.kerberos, kdc_host)
    dce = transport.get_dce_rpc()
    if creds is not None:
        dce.set_auth_level(level)
        if creds.kerberos:
            dce.set_auth_type(rpcrt.RPC_C_AUTHN_GSS_NEGOTIATE)
    return dce, transport
