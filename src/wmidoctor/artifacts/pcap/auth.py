"""Security tokens in DCE/RPC trailers and HTTP Authorization headers: which mechanism, and the names
they carry in clear (NTLM user/domain/workstation, the server's names and OS version from its
CHALLENGE, a Kerberos ticket's realm and service name, a KRB-ERROR code).

impacket (already the project's MSRPC library) decodes the NTLM messages and the Kerberos ASN.1.
Proofs, session keys and tickets are never kept: only names, flags and versions.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache

NTLMSSP = b"NTLMSSP\x00"
KRB5_OIDS = (b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02", b"\x2a\x86\x48\x82\xf7\x12\x01\x02\x02")
SPNEGO_OID = b"\x2b\x06\x01\x05\x05\x02"

# [MS-RPCE] 2.2.1.1.7 security providers, 2.2.1.1.8 authentication levels.
AUTH_TYPES = {0: "none", 9: "Negotiate", 10: "NTLM", 14: "Schannel", 16: "Kerberos", 68: "Netlogon", 255: "default"}
AUTH_LEVELS = {0: "default", 1: "none", 2: "connect", 3: "call", 4: "packet", 5: "integrity", 6: "privacy"}
PRIVACY = 6

NTLM_MESSAGES = {1: "NEGOTIATE", 2: "CHALLENGE", 3: "AUTHENTICATE"}


@dataclass
class Token:
    """What one security token says (fields empty when absent)."""

    mechanism: str = ""  # NTLM | Kerberos | "" (unknown)
    message: str = ""  # NTLM: NEGOTIATE/CHALLENGE/AUTHENTICATE; Kerberos: AP-REQ/AP-REP/KRB-ERROR; SPNEGO: accept
    user: str = ""
    domain: str = ""
    workstation: str = ""
    server_netbios: str = ""
    server_domain: str = ""
    server_dns: str = ""
    server_dns_domain: str = ""
    os_version: str = ""
    realm: str = ""
    service: str = ""  # Kerberos service principal name of the ticket
    error: int | None = None  # KRB-ERROR error-code
    spnego_state: str = ""  # accept-completed | accept-incomplete | reject | request-mic


def decode(blob: bytes) -> Token:
    """Decode a token; never raises (garbage gives an empty Token)."""
    token = Token()
    with suppress(Exception):
        _decode(blob, token)
    return token


def _decode(blob: bytes, token: Token) -> None:
    at = blob.find(NTLMSSP)
    if at >= 0:
        token.mechanism = "NTLM"
        _ntlm(blob[at:], token)
    elif any(oid in blob[:96] for oid in KRB5_OIDS) or _kerberos_tag(blob):
        token.mechanism = "Kerberos"
        _kerberos(blob, token)
    if blob[:1] == b"\xa1":  # SPNEGO negTokenResp: the server's verdict on the exchange
        state = _spnego_state(blob)
        if state:
            token.spnego_state = state
        if not token.mechanism and any(oid in blob for oid in KRB5_OIDS):
            token.mechanism = "Kerberos"


def _kerberos_tag(blob: bytes) -> bool:
    return blob[:1] in (b"\x6e", b"\x6f", b"\x7e")


def _spnego_state(blob: bytes) -> str:
    """negState of a negTokenResp (a1 30 ... a0 03 0a 01 NN)."""
    at = blob.find(b"\xa0\x03\x0a\x01", 0, 16)
    if at < 0:
        return ""
    return {0: "accept-completed", 1: "accept-incomplete", 2: "reject", 3: "request-mic"}.get(blob[at + 4], "")


def _utf16(data: bytes) -> str:
    return data.decode("utf-16le", "replace").rstrip("\x00")


def _ntlm(message: bytes, token: Token) -> None:
    from impacket import ntlm

    kind = int.from_bytes(message[8:12], "little")
    token.message = NTLM_MESSAGES.get(kind, f"type {kind}")
    if kind == 2:
        challenge = ntlm.NTLMAuthChallenge()
        challenge.fromString(message)
        if challenge["flags"] & ntlm.NTLMSSP_NEGOTIATE_VERSION and len(challenge["Version"]) >= 4:
            version = challenge["Version"]
            token.os_version = f"{version[0]}.{version[1]}.{int.from_bytes(version[2:4], 'little')}"
        pairs = ntlm.AV_PAIRS(challenge["TargetInfoFields"])
        for field, attr in (
            (ntlm.NTLMSSP_AV_HOSTNAME, "server_netbios"),
            (ntlm.NTLMSSP_AV_DOMAINNAME, "server_domain"),
            (ntlm.NTLMSSP_AV_DNS_HOSTNAME, "server_dns"),
            (ntlm.NTLMSSP_AV_DNS_DOMAINNAME, "server_dns_domain"),
        ):
            if pairs[field] is not None:
                setattr(token, attr, _utf16(pairs[field][1]))
    elif kind == 3:
        answer = ntlm.NTLMAuthChallengeResponse()
        answer.fromString(message)
        token.user = _utf16(answer["user_name"])
        token.domain = _utf16(answer["domain_name"])
        token.workstation = _utf16(answer["host_name"])


KRB_TOKEN_IDS = {b"\x01\x00": "AP-REQ", b"\x02\x00": "AP-REP", b"\x03\x00": "KRB-ERROR"}  # RFC 1964 1.1


BARE_TAGS = {0x6E: "AP-REQ", 0x6F: "AP-REP", 0x7E: "KRB-ERROR"}


def _bare_message(blob: bytes) -> tuple[int, str]:
    """Where an unwrapped AP-REQ/AP-REP/KRB-ERROR starts: its tag, then a DER length that fits the blob."""
    for at in range(len(blob) - 4):
        kind = BARE_TAGS.get(blob[at])
        if kind is None:
            continue
        first = blob[at + 1]
        if first < 0x80:
            size, header = first, 2
        elif first in (0x81, 0x82, 0x83):
            count = first - 0x80
            size, header = int.from_bytes(blob[at + 2 : at + 2 + count], "big"), 2 + count
        else:
            continue
        if size > 16 and at + header + size <= len(blob) and blob[at + header] == 0x30:  # a SEQUENCE inside
            return at, kind
    return -1, ""


def _der(blob: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the DER element at `at`."""
    tag, first = blob[at], blob[at + 1]
    if first < 0x80:
        return tag, at + 2, at + 2 + first
    count = first - 0x80
    size = int.from_bytes(blob[at + 2 : at + 2 + count], "big")
    return tag, at + 2 + count, at + 2 + count + size


def _ticket_bytes(blob: bytes, start: int) -> bytes:
    """The Ticket inside an AP-REQ ([APPLICATION 14] SEQUENCE { ..., ticket [3], ... }, RFC 4120 5.5.1)."""
    _, inner, _ = _der(blob, start)  # [APPLICATION 14]
    _, at, end = _der(blob, inner)  # SEQUENCE
    while at < end:
        tag, value, after = _der(blob, at)
        if tag == 0xA3:
            return bytes(blob[value:after])
        at = after
    raise ValueError("no ticket in the AP-REQ")


@lru_cache(maxsize=256)
def _ticket_names(ticket: bytes) -> tuple[str, str]:
    """Realm and service of a ticket; cached, because every bind of a session presents the same ticket."""
    from impacket.krb5 import asn1
    from pyasn1.codec.der import decoder

    value = decoder.decode(ticket, asn1Spec=asn1.Ticket())[0]
    return str(value["realm"]), "/".join(str(part) for part in value["sname"]["name-string"])


def _kerberos(blob: bytes, token: Token) -> None:
    """A GSS-API Kerberos token (RFC 4121 4.1): the mechanism OID, a two-byte token id, then the message.
    Only an AP-REQ (the ticket's realm and service) and a KRB-ERROR (its code) are decoded."""
    start, kind = -1, ""
    for oid in KRB5_OIDS:  # SPNEGO lists the OIDs in its mechTypes first: take the one a token id follows
        at = blob.find(oid)
        while at >= 0 and not kind:
            kind = KRB_TOKEN_IDS.get(blob[at + len(oid) : at + len(oid) + 2], "")
            start = at + len(oid) + 2
            at = blob.find(oid, at + 1)
        if kind:
            break
    if not kind:  # a bare message, without the GSS wrapper (Windows' SPNEGO mechToken carries it so)
        start, kind = _bare_message(blob)
    token.message = kind
    if kind not in ("AP-REQ", "KRB-ERROR"):
        return
    from impacket.krb5 import asn1
    from pyasn1.codec.der import decoder

    if kind == "AP-REQ":
        token.realm, token.service = _ticket_names(_ticket_bytes(blob, start))
    else:
        error = decoder.decode(blob[start:], asn1Spec=asn1.KRB_ERROR())[0]
        token.error = int(error["error-code"])
        token.realm = str(error["realm"])
