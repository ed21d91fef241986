"""Security tokens in DCE/RPC trailers and HTTP Authorization headers: which mechanism, and the names
they carry in clear (NTLM user/domain/workstation, the server's names and OS version from its
CHALLENGE, a Kerberos ticket's realm and service name, a KRB-ERROR code).

impacket (already the project's MSRPC library) decodes the NTLM messages and the Kerberos ASN.1.
Proofs, session keys and tickets are never kept: only names, flags and versions.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

NTLMSSP = b"NTLMSSP\x00"
KRB5_OIDS = (b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02", b"\x2a\x86\x48\x82\xf7\x12\x01\x02\x02")
SPNEGO_OID = b"\x2b\x06\x01\x05\x05\x02"

# [MS-RPCE] 2.2.1.1.7 security providers, 2.2.1.1.8 authentication levels.
AUTH_TYPES = {0: "none", 9: "Negotiate", 10: "NTLM", 14: "Schannel", 16: "Kerberos", 68: "Netlogon",
              255: "default"}
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
    anonymous: bool = False
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
    elif any(oid in blob[:64] for oid in KRB5_OIDS) or _kerberos_tag(blob):
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
        for field, attr in ((ntlm.NTLMSSP_AV_HOSTNAME, "server_netbios"),
                            (ntlm.NTLMSSP_AV_DOMAINNAME, "server_domain"),
                            (ntlm.NTLMSSP_AV_DNS_HOSTNAME, "server_dns"),
                            (ntlm.NTLMSSP_AV_DNS_DOMAINNAME, "server_dns_domain")):
            if pairs[field] is not None:
                setattr(token, attr, _utf16(pairs[field][1]))
    elif kind == 3:
        answer = ntlm.NTLMAuthChallengeResponse()
        answer.fromString(message)
        token.user = _utf16(answer["user_name"])
        token.domain = _utf16(answer["domain_name"])
        token.workstation = _utf16(answer["host_name"])
        token.anonymous = not token.user and len(answer["ntlm"]) == 0


def _kerberos(blob: bytes, token: Token) -> None:
    """AP-REQ (the ticket's realm and service), AP-REP, or KRB-ERROR (its code) inside a GSS wrapper."""
    from impacket.krb5 import asn1
    from pyasn1.codec.der import decoder

    for tag, kind in ((b"\x6e", "AP-REQ"), (b"\x6f", "AP-REP"), (b"\x7e", "KRB-ERROR")):
        at = blob.find(tag)
        while 0 <= at < len(blob):
            spec = {"AP-REQ": asn1.AP_REQ, "AP-REP": asn1.AP_REP, "KRB-ERROR": asn1.KRB_ERROR}[kind]
            try:
                value = decoder.decode(blob[at:], asn1Spec=spec())[0]
            except Exception:
                at = blob.find(tag, at + 1)
                continue
            token.message = kind
            if kind == "AP-REQ":
                ticket = value["ticket"]
                token.realm = str(ticket["realm"])
                token.service = "/".join(str(part) for part in ticket["sname"]["name-string"])
            elif kind == "KRB-ERROR":
                token.error = int(value["error-code"])
                token.realm = str(value["realm"])
            return
