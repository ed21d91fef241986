"""The Kerberos exchange with the KDC (AS for the TGT, TGS for the target's HOST service ticket), with a
time limit.

impacket talks to the KDC through `kerberosv5.sendReceive`, on a socket without a timeout: a KDC that
accepts and never answers would hang the probe. `install()` replaces that one function with a bounded
one that keeps impacket's contract (send the length-prefixed message over TCP, return the reply, raise
KerberosError for a KRB-ERROR other than PREAUTH_REQUIRED) and takes its time limit from the stage
running on the calling thread (`walk.current_deadline`), so it is safe to use from many threads.

Two interoperability points with KDCs other than Active Directory (an MIT KDC in the tests):
- RFC 4120 5.4.2 lets a KDC encode the AS-REP's encrypted part as EncTGSRepPart (MIT does); impacket
  decodes only EncASRepPart, so `install()` gives kerberosv5 a decoder that accepts both (same fields).
- the TGS-REQ's authenticator must carry a keyed checksum of the request body (RFC 4120 5.4.1; MIT 1.20
  refuses a request without it, KRB_AP_ERR_INAPP_CKSUM); impacket's getKerberosTGS sends none, so the
  service ticket is requested here (`_service_ticket`), with the checksum.
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


class _EitherEncPartDecoder:
    """pyasn1's DER decoder, except that an EncASRepPart is also read from an [APPLICATION 26] encoding."""

    ENC_TGS_REP_PART_TAG, ENC_AS_REP_PART_TAG = 0x7A, 0x79

    def __init__(self, decoder) -> None:
        self._decoder = decoder

    def __getattr__(self, name: str):
        return getattr(self._decoder, name)

    def decode(self, substrate, asn1Spec=None, **options):
        from impacket.krb5.asn1 import EncASRepPart

        if isinstance(asn1Spec, EncASRepPart) and substrate[:1] == bytes([self.ENC_TGS_REP_PART_TAG]):
            substrate = bytes([self.ENC_AS_REP_PART_TAG]) + bytes(substrate[1:])
        return self._decoder.decode(substrate, asn1Spec=asn1Spec, **options)


def install() -> None:
    """Route impacket's KDC exchanges through the bounded one (once per process)."""
    global _installed
    if _installed:
        return
    from impacket.krb5 import kerberosv5

    kerberosv5.sendReceive = bounded_send_receive
    kerberosv5.decoder = _EitherEncPartDecoder(kerberosv5.decoder)
    _installed = True


# The keyed checksum that goes with each session-key encryption type (RFC 3961/3962, RFC 4757).
_CHECKSUM_FOR_ETYPE = {18: 16, 17: 15, 23: -138}
TGS_REQ_BODY_CHECKSUM_USAGE = 6
TGS_REQ_AUTHENTICATOR_USAGE = 7
TGS_REP_ENC_PART_USAGE = 8


def _untagged(der: bytes) -> bytes:
    """The inner encoding of an explicitly tagged DER value (req-body sits under [4] in a KDC-REQ; its
    checksum covers the KDC-REQ-BODY itself)."""
    if der[0] == 0x30:
        return der
    first = der[1]
    header = 2 + (first & 0x7F if first & 0x80 else 0)
    return der[header:]


def _service_ticket(spn: str, realm: str, kdc: str | None, tgt: bytes, cipher, session_key) -> tuple:
    """A TGS exchange for `spn`: (TGS-REP bytes, cipher, session key), as impacket's getKerberosTGS
    returns them, with the request body's checksum in the authenticator."""
    import datetime
    import random

    from impacket.krb5 import constants
    from impacket.krb5.asn1 import AP_REQ, AS_REP, TGS_REP, TGS_REQ, Authenticator, EncTGSRepPart, seq_set, seq_set_iter
    from impacket.krb5.crypto import Key, _checksum_table, _enctype_table
    from impacket.krb5.types import KerberosTime, Principal, Ticket
    from pyasn1.codec.der import decoder, encoder
    from pyasn1.type.univ import noValue

    as_rep = decoder.decode(tgt, asn1Spec=AS_REP())[0]
    request = TGS_REQ()
    request["pvno"] = 5
    request["msg-type"] = int(constants.ApplicationTagNumbers.TGS_REQ.value)
    body = seq_set(request, "req-body")
    body["kdc-options"] = constants.encodeFlags(
        [constants.KDCOptions.forwardable.value, constants.KDCOptions.canonicalize.value]
    )
    server = Principal(spn, type=constants.PrincipalNameType.NT_SRV_INST.value)
    seq_set(body, "sname", server.components_to_asn1)
    body["realm"] = realm
    body["till"] = KerberosTime.to_asn1(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1))
    body["nonce"] = random.getrandbits(31)
    seq_set_iter(body, "etype", (int(cipher.enctype),))
    encoded_body = _untagged(encoder.encode(body))

    authenticator = Authenticator()
    authenticator["authenticator-vno"] = 5
    authenticator["crealm"] = as_rep["crealm"].asOctets()
    client = Principal()
    client.from_asn1(as_rep, "crealm", "cname")
    seq_set(authenticator, "cname", client.components_to_asn1)
    checksum_type = _CHECKSUM_FOR_ETYPE[int(cipher.enctype)]
    authenticator["cksum"] = noValue
    authenticator["cksum"]["cksumtype"] = checksum_type
    authenticator["cksum"]["checksum"] = _checksum_table[checksum_type].checksum(
        session_key, TGS_REQ_BODY_CHECKSUM_USAGE, encoded_body
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    authenticator["cusec"] = now.microsecond
    authenticator["ctime"] = KerberosTime.to_asn1(now)

    ap_req = AP_REQ()
    ap_req["pvno"] = 5
    ap_req["msg-type"] = int(constants.ApplicationTagNumbers.AP_REQ.value)
    ap_req["ap-options"] = constants.encodeFlags([])
    ticket = Ticket()
    ticket.from_asn1(as_rep["ticket"])
    seq_set(ap_req, "ticket", ticket.to_asn1)
    ap_req["authenticator"] = noValue
    ap_req["authenticator"]["etype"] = cipher.enctype
    ap_req["authenticator"]["cipher"] = cipher.encrypt(
        session_key, TGS_REQ_AUTHENTICATOR_USAGE, encoder.encode(authenticator), None
    )
    request["padata"] = noValue
    request["padata"][0] = noValue
    request["padata"][0]["padata-type"] = int(constants.PreAuthenticationDataTypes.PA_TGS_REQ.value)
    request["padata"][0]["padata-value"] = encoder.encode(ap_req)

    reply = bounded_send_receive(encoder.encode(request), realm, kdc)
    tgs = decoder.decode(reply, asn1Spec=TGS_REP())[0]
    plain = cipher.decrypt(session_key, TGS_REP_ENC_PART_USAGE, tgs["enc-part"]["cipher"])
    enc_part = decoder.decode(plain, asn1Spec=EncTGSRepPart())[0]
    new_key = Key(enc_part["key"]["keytype"], enc_part["key"]["keyvalue"].asOctets())
    return reply, _enctype_table[enc_part["key"]["keytype"]], new_key


def get_tickets(user: str, password: str, realm: str, nthash: str, target_host: str, kdc: str | None) -> Tickets:
    """A TGT for user@realm and a service ticket for HOST/target_host (what RPCSS and WMI accept)."""
    from binascii import unhexlify

    from impacket.krb5 import constants
    from impacket.krb5.kerberosv5 import getKerberosTGT
    from impacket.krb5.types import Principal

    install()
    if not realm:
        raise StageFailure("Kerberos needs the account's realm: give --realm or USER@REALM", reason="missing")
    client = Principal(user, type=constants.PrincipalNameType.NT_PRINCIPAL.value)
    nt = unhexlify(nthash) if nthash else b""
    tgt, cipher, _, session_key = getKerberosTGT(client, password, realm.upper(), b"", nt, "", kdc)
    spn = f"host/{target_host}"
    tgs, tgs_cipher, tgs_key = _service_ticket(spn, realm.upper(), kdc, tgt, cipher, session_key)
    return Tickets(
        tgt={"KDC_REP": tgt, "cipher": cipher, "sessionKey": session_key},
        tgs={"KDC_REP": tgs, "cipher": tgs_cipher, "sessionKey": tgs_key},
        spn=spn,
    )
