"""The NTLMv2 AUTHENTICATE message of a DCE/RPC bind, built with struct and hashlib from [MS-NLMP].

impacket builds the same message through its generic Structure class, twice per deep walk, and that was a
fifth of the prober's CPU in a fleet. The NEGOTIATE message, Kerberos and the session security applied to each
call stay impacket's; this module only answers a CHALLENGE for an account with a name (an anonymous bind
goes through impacket).

Facts used ([MS-NLMP] 2.2.1.2, 2.2.1.3, 2.2.2.1, 2.2.2.7, 3.3.2): the CHALLENGE carries its flags at offset
20, the server challenge at 24 and the target information (AV pairs ended by MsvAvEOL) through a
length/offset field at 40. The client answers with NTProofStr = HMAC-MD5(ResponseKeyNT, server challenge +
temp), where temp holds the response versions, the time, a client challenge and the AV pairs;
ResponseKeyNT = HMAC-MD5(NT hash, UTF-16LE(upper-cased user name + domain)); the session base key is
HMAC-MD5(ResponseKeyNT, NTProofStr), and with key exchange a random session key travels RC4-encrypted under it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import time

SIGNATURE = b"NTLMSSP\x00"
CHALLENGE_MESSAGE, AUTHENTICATE_MESSAGE = 2, 3
NEGOTIATE_UNICODE = 0x00000001
NEGOTIATE_SIGN = 0x00000010
NEGOTIATE_SEAL = 0x00000020
NEGOTIATE_ALWAYS_SIGN = 0x00008000
NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000
NEGOTIATE_VERSION = 0x02000000
NEGOTIATE_128 = 0x20000000
NEGOTIATE_KEY_EXCH = 0x40000000
# flags the client keeps only when the server's CHALLENGE offers them too
_OFFERED_BY_SERVER = (
    NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_128
    | NEGOTIATE_KEY_EXCH
    | NEGOTIATE_SEAL
    | NEGOTIATE_SIGN
    | NEGOTIATE_ALWAYS_SIGN
)
AV_EOL, AV_DNS_COMPUTER_NAME, AV_TIMESTAMP, AV_TARGET_NAME = 0, 3, 7, 9
SERVICE = "cifs"  # the service class named in MsvAvTargetName, as impacket's binds name it
_EPOCH_AS_FILETIME = 116444736000000000  # 1970-01-01 in 100 ns steps since 1601-01-01
_AUTHENTICATE_HEAD = struct.Struct("<8sL8s8s8s8s8s8sL")  # signature, type, six payload fields, flags
_VERSION = b"\x00" * 7 + b"\x0f"  # no product version claimed; NTLM revision 15


class NotAChallenge(ValueError):
    """The bytes the server sent are not an NTLM CHALLENGE message this module can answer."""


def authenticate(
    negotiate_flags: int,
    challenge: bytes,
    user: str,
    domain: str,
    nt_hash: bytes,
    *,
    client_challenge: bytes | None = None,
    exported_session_key: bytes | None = None,
) -> tuple[bytes, int, bytes]:
    """(AUTHENTICATE message, its flags, the exported session key that signs and seals the calls).

    `nt_hash` is the account's NT hash (`nt_hash_of(password)` or a given one). The random parts can be
    fixed by a test."""
    server_flags, server_challenge, pairs = _read_challenge(challenge)
    if not server_flags & negotiate_flags & NEGOTIATE_UNICODE:
        raise NotAChallenge("the server does not take Unicode names")
    flags = negotiate_flags & ~(_OFFERED_BY_SERVER & ~server_flags) & 0xFFFFFFFF
    stamp = server_stamp = _pair(pairs, AV_TIMESTAMP)
    if stamp is None:
        stamp = struct.pack("<q", _EPOCH_AS_FILETIME + int(time.time()) * 10_000_000)
        pairs.append((AV_TIMESTAMP, stamp))
    host = _pair(pairs, AV_DNS_COMPUTER_NAME)
    if host is not None:  # for servers that check the SPN the client meant (SPN target name validation)
        _set_pair(pairs, AV_TARGET_NAME, f"{SERVICE}/".encode("utf-16-le") + host)
    client_challenge = client_challenge or os.urandom(8)
    key = _hmac_md5(nt_hash, (user.upper() + domain).encode("utf-16-le"))
    blob = b"\x01\x01" + b"\x00" * 6 + stamp + client_challenge + b"\x00" * 4 + _pairs_bytes(pairs) + b"\x00" * 4
    proof = _hmac_md5(key, server_challenge + blob)
    base_key = _hmac_md5(key, proof)
    # with a server timestamp the LMv2 response is left empty (24 zero bytes), [MS-NLMP] 3.1.5.1.2
    if server_stamp is None:
        lm_response = _hmac_md5(key, server_challenge + client_challenge) + client_challenge
    else:
        lm_response = b"\x00" * 24
    if flags & NEGOTIATE_KEY_EXCH:
        from Cryptodome.Cipher import ARC4

        exported = exported_session_key or os.urandom(16)
        encrypted_key = ARC4.new(base_key).encrypt(exported)
    else:
        exported, encrypted_key = base_key, b""
    message = _authenticate_message(
        flags, lm_response, proof + blob, domain.encode("utf-16-le"), user.encode("utf-16-le"), encrypted_key
    )
    return message, flags, exported


def nt_hash_of(password: str) -> bytes:
    """MD4 of the UTF-16LE password (pycryptodomex's, as OpenSSL 3 leaves MD4 out of hashlib)."""
    from Cryptodome.Hash import MD4

    return MD4.new(password.encode("utf-16-le")).digest()


def _hmac_md5(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.md5).digest()


def _read_challenge(challenge: bytes) -> tuple[int, bytes, list[tuple[int, bytes]]]:
    """(server flags, server challenge, AV pairs without the closing MsvAvEOL)."""
    try:
        signature, kind = struct.unpack_from("<8sL", challenge)
        (flags,) = struct.unpack_from("<L", challenge, 20)
        server_challenge = challenge[24:32]
        info_length, _, info_offset = struct.unpack_from("<HHL", challenge, 40)
    except struct.error:
        raise NotAChallenge("cut short") from None
    if signature != SIGNATURE or kind != CHALLENGE_MESSAGE or len(server_challenge) != 8:
        raise NotAChallenge("no NTLMSSP CHALLENGE signature")
    info = challenge[info_offset : info_offset + info_length]
    pairs: list[tuple[int, bytes]] = []
    position = 0
    while position + 4 <= len(info):
        pair_id, length = struct.unpack_from("<HH", info, position)
        if pair_id == AV_EOL:
            break
        pairs.append((pair_id, info[position + 4 : position + 4 + length]))
        position += 4 + length
    return flags, server_challenge, pairs


def _pair(pairs: list[tuple[int, bytes]], pair_id: int) -> bytes | None:
    return next((value for key, value in pairs if key == pair_id), None)


def _set_pair(pairs: list[tuple[int, bytes]], pair_id: int, value: bytes) -> None:
    for index, (key, _) in enumerate(pairs):
        if key == pair_id:
            pairs[index] = (pair_id, value)
            return
    pairs.append((pair_id, value))


def _pairs_bytes(pairs: list[tuple[int, bytes]]) -> bytes:
    return b"".join(struct.pack("<HH", key, len(value)) + value for key, value in pairs) + b"\x00" * 4


def _authenticate_message(flags: int, lm: bytes, nt: bytes, domain: bytes, user: bytes, encrypted_key: bytes) -> bytes:
    """The AUTHENTICATE message: its fixed head, the version when negotiated, then the payload fields."""
    workstation = b""
    head_size = _AUTHENTICATE_HEAD.size + (len(_VERSION) if flags & NEGOTIATE_VERSION else 0)
    payload, fields, offset = [], [], head_size
    for value in (lm, nt, domain, user, workstation, encrypted_key):
        fields.append(struct.pack("<HHL", len(value), len(value), offset))
        payload.append(value)
        offset += len(value)
    head = _AUTHENTICATE_HEAD.pack(SIGNATURE, AUTHENTICATE_MESSAGE, *fields, flags)
    return head + (_VERSION if flags & NEGOTIATE_VERSION else b"") + b"".join(payload)
