"""The probe's own NTLMv2 AUTHENTICATE, checked with impacket as the independent reader and verifier.

The corpus captures hold no NTLM exchange (every one is Kerberos between domain members), so the CHALLENGE
messages here are the fakes' ([MS-NLMP] 2.2.1.2), with and without the server's timestamp and key exchange.
The whole walk against the fakes (which check the proof and then every signature) is covered by the probe
tests.
"""

from __future__ import annotations

import struct

import pytest
from Cryptodome.Cipher import ARC4
from impacket import ntlm
from tests.remote.fakes.msrpc import ntlm_challenge

from wmidoctor.remote import ntlm_v2

USER, PASSWORD, DOMAIN, HOST = "probe", "Secret-1", "CONTOSO", "WS01"
SERVER_CHALLENGE = b"\x01\x23\x45\x67\x89\xab\xcd\xef"
SERVER_TIME = struct.pack("<Q", 133_000_000_000_000_000)


def _challenge(*, stamp: bool, key_exchange: bool) -> bytes:
    flags = ntlm.getNTLMSSPType1("", "", signingRequired=True, use_ntlmv2=True)["flags"]
    if not key_exchange:
        flags &= ~ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH
    message = ntlm_challenge(flags, HOST, SERVER_CHALLENGE, timestamp=stamp)
    if stamp:
        pairs = ntlm.AV_PAIRS(message["TargetInfoFields"])
        pairs[ntlm.NTLMSSP_AV_TIME] = SERVER_TIME
        message["TargetInfoFields"] = pairs.getData()
    return message.getData()


@pytest.mark.parametrize("stamp", [True, False], ids=["server timestamp", "no server timestamp"])
@pytest.mark.parametrize("key_exchange", [True, False], ids=["key exchange", "no key exchange"])
def test_impacket_reads_and_verifies_the_message(stamp: bool, key_exchange: bool) -> None:
    negotiate = ntlm.getNTLMSSPType1("", "", signingRequired=True, use_ntlmv2=True)
    challenge = _challenge(stamp=stamp, key_exchange=key_exchange)
    exported = bytes(range(16))
    message, flags, session_key = ntlm_v2.authenticate(
        negotiate["flags"],
        challenge,
        USER,
        DOMAIN,
        ntlm_v2.nt_hash_of(PASSWORD),
        client_challenge=b"CLIENT!!",
        exported_session_key=exported,
    )
    read = ntlm.NTLMAuthChallengeResponse()
    read.fromString(message)
    assert (read["user_name"].decode("utf-16le"), read["domain_name"].decode("utf-16le")) == (USER, DOMAIN)
    assert read["flags"] == flags
    offered = ntlm.NTLMAuthChallenge(challenge)["flags"]
    assert flags & ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH == (offered & ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH)

    key = ntlm.NTOWFv2(USER, PASSWORD, DOMAIN)  # impacket's own derivation: the oracle
    nt = read["ntlm"]
    proof = ntlm.hmac_md5(key, SERVER_CHALLENGE + nt[16:])
    assert proof == nt[:16], "a server checking the NTLMv2 proof accepts it"
    base_key = ntlm.hmac_md5(key, proof)
    if key_exchange:
        assert session_key == exported == ARC4.new(base_key).decrypt(read["session_key"])
    else:
        assert session_key == base_key and read["session_key"] == b""

    blob_pairs = ntlm.AV_PAIRS(nt[16 + 28 :])
    assert blob_pairs[ntlm.NTLMSSP_AV_TARGET_NAME][1] == f"cifs/{HOST}".encode("utf-16le")
    assert nt[16 + 8 : 16 + 16] == blob_pairs[ntlm.NTLMSSP_AV_TIME][1]
    if stamp:
        assert blob_pairs[ntlm.NTLMSSP_AV_TIME][1] == SERVER_TIME
        assert read["lanman"] == b"\x00" * 24, "with a server timestamp the LMv2 response is left empty"
    else:
        assert read["lanman"] == ntlm.hmac_md5(key, SERVER_CHALLENGE + b"CLIENT!!") + b"CLIENT!!"


def test_a_given_nt_hash_answers_as_the_password_does() -> None:
    negotiate = ntlm.getNTLMSSPType1("", "", signingRequired=True, use_ntlmv2=True)
    challenge = _challenge(stamp=True, key_exchange=False)
    fixed = {"client_challenge": b"CLIENT!!"}
    from_password = ntlm_v2.authenticate(
        negotiate["flags"], challenge, USER, DOMAIN, ntlm_v2.nt_hash_of(PASSWORD), **fixed
    )
    from_hash = ntlm_v2.authenticate(
        negotiate["flags"], challenge, USER, DOMAIN, ntlm.compute_nthash(PASSWORD), **fixed
    )
    assert from_password == from_hash


@pytest.mark.parametrize("reply", [b"", b"NTLMSSP\x00\x03\x00\x00\x00" + b"\x00" * 40, b"not ntlm at all" * 4])
def test_anything_but_a_challenge_is_refused(reply: bytes) -> None:
    with pytest.raises(ntlm_v2.NotAChallenge):
        ntlm_v2.authenticate(0xE0888235, reply, USER, DOMAIN, ntlm_v2.nt_hash_of(PASSWORD))
