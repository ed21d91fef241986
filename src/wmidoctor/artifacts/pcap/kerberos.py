"""Replies of a Kerberos KDC (TCP or UDP 88): who a ticket was issued to (cname, in clear in AS-REP and
TGS-REP), for which service, and KRB-ERROR codes. This is how a capture names the user of a Kerberos
logon, whose authenticator in the AP-REQ is encrypted. Tickets and keys are never kept."""

from __future__ import annotations

from dataclasses import dataclass

RECORD_MAX = 1024 * 1024


@dataclass
class KdcReply:
    ts: float
    client: str  # the address the reply went to
    kdc: str
    kind: str  # AS-REP | TGS-REP | KRB-ERROR
    user: str = ""
    realm: str = ""
    service: str = ""  # the ticket's (or the refused request's) service principal name
    error: int | None = None


def decode(message: bytes, ts: float, client: str, kdc: str) -> KdcReply | None:
    """One KDC message; None for requests and anything unreadable."""
    if message[:1] not in (b"\x6b", b"\x6d", b"\x7e"):  # [APPLICATION 11/13/30]
        return None
    try:
        from impacket.krb5 import asn1
        from pyasn1.codec.der import decoder

        if message[:1] == b"\x7e":
            error = decoder.decode(message, asn1Spec=asn1.KRB_ERROR())[0]
            reply = KdcReply(ts, client, kdc, "KRB-ERROR", error=int(error["error-code"]), realm=str(error["realm"]))
            if error["sname"].hasValue():
                reply.service = "/".join(str(p) for p in error["sname"]["name-string"])
            if error["cname"].hasValue():
                reply.user = "/".join(str(p) for p in error["cname"]["name-string"])
            return reply
        spec = asn1.AS_REP if message[:1] == b"\x6b" else asn1.TGS_REP
        value = decoder.decode(message, asn1Spec=spec())[0]
        return KdcReply(
            ts,
            client,
            kdc,
            "AS-REP" if spec is asn1.AS_REP else "TGS-REP",
            user="/".join(str(p) for p in value["cname"]["name-string"]),
            realm=str(value["crealm"]),
            service="/".join(str(p) for p in value["ticket"]["sname"]["name-string"]),
        )
    except Exception:
        return None


class KerberosFramer:
    """Kerberos over TCP: each message is preceded by its length (4 bytes, big-endian), RFC 4120 7.2.2."""

    def __init__(self, replies: list[KdcReply], client: str, kdc: str, from_client: bool):
        self.replies, self.client, self.kdc, self.from_client = replies, client, kdc, from_client
        self.buffer = bytearray()

    def unfinished(self) -> int:
        return len(self.buffer)

    def feed(self, data: bytes, ts: float) -> None:
        if self.from_client:
            return
        self.buffer += data
        while len(self.buffer) >= 4:
            size = int.from_bytes(self.buffer[:4], "big")
            if size > RECORD_MAX:
                self.buffer.clear()
                return
            if len(self.buffer) < 4 + size:
                return
            reply = decode(bytes(self.buffer[4 : 4 + size]), ts, self.client, self.kdc)
            del self.buffer[: 4 + size]
            if reply is not None and len(self.replies) < 100:
                self.replies.append(reply)

    def gap(self, missing: int) -> None:
        self.buffer.clear()
