"""The lean DCE/RPC paths send and read exactly what impacket's own code does."""

from __future__ import annotations

import struct

import pytest
from Cryptodome.Cipher import ARC4
from impacket import ntlm
from impacket.dcerpc.v5 import rpcrt

from wmidoctor.remote.rpc import AUTHN_LEVEL_INTEGRITY, LeanDCERPC, _ContextCall


class _Recorder:
    """A transport that records what is sent and replays canned bytes for recv(count)."""

    def __init__(self, incoming: bytes = b""):
        self.sent: list[bytes] = []
        self.incoming = incoming

    def send(self, data: bytes, forceWriteAndx: int = 0, forceRecv: int = 0) -> None:
        self.sent.append(bytes(data))

    def recv(self, forceRecv: int = 0, count: int = 0) -> bytes:
        count = count or len(self.incoming)  # no count: the whole PDU, as impacket's TCP transport reads it
        data, self.incoming = self.incoming[:count], self.incoming[count:]
        return data


def _session(cls: type, transport: _Recorder, level: int, flags: int) -> rpcrt.DCERPC_v5:
    dce = cls.__new__(cls)
    rpcrt.DCERPC_v5.__init__(dce, transport)
    dce.set_auth_level(level)
    dce._DCERPC_v5__flags = flags
    dce._DCERPC_v5__clientSigningKey = dce._DCERPC_v5__serverSigningKey = b"k" * 16
    dce._DCERPC_v5__clientSealingHandle = ARC4.new(b"s" * 16).encrypt
    dce._DCERPC_v5__serverSealingHandle = ARC4.new(b"t" * 16).encrypt
    dce._DCERPC_v5__sequence = 0
    dce._DCERPC_v5__max_xmit_size = 5840  # as a bind_ack would have set it
    return dce


ESS = ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH


@pytest.mark.parametrize("level", [rpcrt.RPC_C_AUTHN_LEVEL_NONE, AUTHN_LEVEL_INTEGRITY])
@pytest.mark.parametrize("flags", [ESS, ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH])
@pytest.mark.parametrize("uuid", [None, b"\x11" * 16])
def test_requests_are_the_bytes_impacket_sends(level, flags, uuid):
    sent = {}
    for cls in (rpcrt.DCERPC_v5, LeanDCERPC):
        transport = _Recorder()
        dce = _session(cls, transport, level, flags)
        for stub in (b"\x01\x02\x03", b"\x05" * 41):  # unaligned and aligned stubs, two sequence numbers
            dce.call(6, stub, uuid)
        dce.send(_ContextCall(2, 4, b"\x07" * 10, uuid))
        sent[cls] = transport.sent
    assert sent[LeanDCERPC] == sent[rpcrt.DCERPC_v5]
    assert struct.unpack_from("<H", sent[LeanDCERPC][-1], 20)[0] == 2  # the pinned presentation context


def _response(stub: bytes, call_id: int, auth: bool, last: bool = True) -> bytes:
    flags = rpcrt.PFC_FIRST_FRAG | (rpcrt.PFC_LAST_FRAG if last else 0)
    pad = (4 - (24 + len(stub)) % 4) % 4 if auth else 0
    body = stub + b"\x00" * pad
    trailer = struct.pack("<BBBBL", 10, AUTHN_LEVEL_INTEGRITY, pad, 0, 79231) + b"\x01" * 16 if auth else b""
    header = struct.pack(
        "<BBBB4sHHLLHBB",
        5,
        0,
        rpcrt.MSRPC_RESPONSE,
        flags,
        b"\x10\x00\x00\x00",
        24 + len(body) + len(trailer),
        16 if auth else 0,
        call_id,
        len(stub),
        0,
        0,
        0,
    )
    return header + body + trailer


@pytest.mark.parametrize("level", [rpcrt.RPC_C_AUTHN_LEVEL_NONE, AUTHN_LEVEL_INTEGRITY])
def test_responses_read_as_impacket_reads_them(level):
    auth = level != rpcrt.RPC_C_AUTHN_LEVEL_NONE
    wire = _response(b"\xaa" * 13, 3, auth, last=False) + _response(b"\xbb" * 8, 3, auth)
    answers = {}
    for cls in (rpcrt.DCERPC_v5, LeanDCERPC):
        dce = _session(cls, _Recorder(wire), level, ESS)
        answers[cls] = dce.recv()
    assert answers[LeanDCERPC] == answers[rpcrt.DCERPC_v5] == b"\xaa" * 13 + b"\xbb" * 8


def test_a_fault_raises_what_impacket_raises():
    fault = struct.pack("<BBBB4sHHLLHBBLL", 5, 0, rpcrt.MSRPC_FAULT, 3, b"\x10\x00\x00\x00", 32, 0, 2, 0, 0, 0, 0, 5, 0)
    texts = []
    for cls in (rpcrt.DCERPC_v5, LeanDCERPC):
        with pytest.raises(rpcrt.DCERPCException) as caught:
            _session(cls, _Recorder(fault), rpcrt.RPC_C_AUTHN_LEVEL_NONE, ESS).recv()
        texts.append(str(caught.value))
    assert texts[0] == texts[1] and "access_denied" in texts[0]


@pytest.mark.parametrize("level", [rpcrt.RPC_C_AUTHN_LEVEL_NONE, AUTHN_LEVEL_INTEGRITY])
def test_binds_are_the_bytes_impacket_sends(level):
    """The lean bind's PDU is impacket's, byte for byte (answered here by a bind_nak, so both stop there)."""
    from impacket.dcerpc.v5 import dcomrt

    nak = struct.pack("<BBBB4sHHLHB2s", 5, 0, rpcrt.MSRPC_BINDNAK, 3, b"\x10\x00\x00\x00", 21, 0, 1, 4, 1, b"\x05\x00")
    sent = {}
    for cls in (rpcrt.DCERPC_v5, LeanDCERPC):
        transport = _Recorder(nak)
        transport.get_credentials = lambda: ("probe", "Secret-1", "CORP", "", "", "", None, None)
        transport.doesSupportNTLMv2 = lambda: True
        dce = cls.__new__(cls)
        rpcrt.DCERPC_v5.__init__(dce, transport)
        dce.set_auth_level(level)
        with pytest.raises(rpcrt.DCERPCException):
            dce.bind(dcomrt.IID_IObjectExporter)
        sent[cls] = transport.sent
    assert sent[LeanDCERPC] == sent[rpcrt.DCERPC_v5]
