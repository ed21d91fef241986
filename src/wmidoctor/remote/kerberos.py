"""The Kerberos exchange with the KDC (AS for the TGT, TGS for the target's HOST service ticket), with a
time limit.

impacket talks to the KDC through `kerberosv5.sendReceive`, on a socket without a timeout: a KDC that
accepts and never answers would hang the probe. `install()` replaces that one function with a bounded
one that keeps impacket's contract (send the length-prefixed message over TCP, return the reply, raise
KerberosError for a KRB-ERROR other than PREAUTH_REQUIRED) and takes its time limit from the stage
running on the calling thread (`walk.current_deadline`), so it is safe to use from many threads.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

from wmidoctor.remote.walk import StageFailure, current_deadline

KDC_PORT = 88
DEFAULT_LIMIT = 10.0  # seconds, for a KDC exchange made outside any stage
_installed = False


class KdcTimeout(TimeoutError):
    """The KDC did not answer within the stage's time limit."""


@dataclass
class Tickets:
    """What impacket's bind takes in set_credentials(TGT=, TGS=): dicts with KDC_REP, cipher, sessionKey."""

    tgt: dict
    tgs: dict
    spn: str


def split_kdc(kdc: str | None) -> tuple[str | None, int]:
    """HOST, HOST:PORT or [IPv6]:PORT."""
    if not kdc:
        return None, KDC_PORT
    if kdc.startswith("["):
        host, _, rest = kdc[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else KDC_PORT
    if kdc.count(":") == 1:
        host, _, port = kdc.partition(":")
        return host, int(port)
    return kdc, KDC_PORT


def _left() -> float:
    deadline = current_deadline()
    left = DEFAULT_LIMIT if deadline is None else deadline - time.monotonic()
    if left <= 0:
        raise KdcTimeout("no answer from the KDC within the stage's time limit")
    return left


def _read(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        sock.settimeout(_left())
        try:
            chunk = sock.recv(count - len(data))
        except TimeoutError as exc:
            raise KdcTimeout("no answer from the KDC within the stage's time limit") from exc
        if not chunk:
            raise ConnectionResetError("the KDC closed the connection")
        data += chunk
    return data


def bounded_send_receive(data: bytes, host: str, kdcHost: str | None, port: int = KDC_PORT) -> bytes:
    """impacket's sendReceive, bounded by the current stage's deadline (same arguments, same errors)."""
    from impacket.krb5 import constants
    from impacket.krb5.asn1 import KRB_ERROR
    from impacket.krb5.kerberosv5 import KerberosError
    from pyasn1.codec.der import decoder

    target, kdc_port = split_kdc(kdcHost)
    if target is None:
        target, kdc_port = host, port
    try:
        sock = socket.create_connection((target, kdc_port), timeout=_left())
    except TimeoutError as exc:
        raise KdcTimeout(f"the KDC {target}:{kdc_port} did not accept the connection in time") from exc
    try:
        sock.settimeout(_left())
        sock.sendall(struct.pack("!I", len(data)) + data)
        length = struct.unpack("!I", _read(sock, 4))[0]
        reply = _read(sock, length)
    finally:
        sock.close()
    try:
        error = KerberosError(packet=decoder.decode(reply, asn1Spec=KRB_ERROR())[0])
    except Exception:  # not a KRB-ERROR: the reply the caller asked for
        return reply
    if error.getErrorCode() != constants.ErrorCodes.KDC_ERR_PREAUTH_REQUIRED.value:
        raise error
    return reply


def install() -> None:
    """Route impacket's KDC exchanges through the bounded one (once per process)."""
    global _installed
    if _installed:
        return
    from impacket.krb5 import kerberosv5

    kerberosv5.sendReceive = bounded_send_receive
    _installed = True


def get_tickets(user: str, password: str, realm: str, nthash: str, target_host: str, kdc: str | None) -> Tickets:
    """A TGT for user@realm and a service ticket for HOST/target_host (what RPCSS and WMI accept)."""
    from binascii import unhexlify

    from impacket.krb5 import constants
    from impacket.krb5.kerberosv5 import getKerberosTGS, getKerberosTGT
    from impacket.krb5.types import Principal

    install()
    if not realm:
        raise StageFailure("Kerberos needs the account's realm: give --realm or USER@REALM", reason="missing")
    client = Principal(user, type=constants.PrincipalNameType.NT_PRINCIPAL.value)
    nt = unhexlify(nthash) if nthash else b""
    tgt, cipher, _, session_key = getKerberosTGT(client, password, realm.upper(), b"", nt, "", kdc)
    spn = f"host/{target_host}"
    server = Principal(spn, type=constants.PrincipalNameType.NT_SRV_INST.value)
    tgs, tgs_cipher, _, tgs_key = getKerberosTGS(server, realm.upper(), kdc, tgt, cipher, session_key)
    return Tickets(tgt={"KDC_REP": tgt, "cipher": cipher, "sessionKey": session_key},
                   tgs={"KDC_REP": tgs, "cipher": tgs_cipher, "sessionKey": tgs_key}, spn=spn)
