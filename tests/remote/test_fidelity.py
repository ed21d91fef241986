"""The fakes answer as real Windows hosts do: their replies are compared, field by field, with replies
a real Windows host sent in captures (../shared/corpus/pcap, OTRF Security-Datasets, MIT licence).

The captured clients' own PDUs are replayed into the fake where the fake can answer them (anonymous
bind and ServerAlive2, alter_context); where it cannot (the captured activation ran over Kerberos), the
captured reply is read by the probe's own parsing path and its structure compared with the fake's.
The corpus holds no NTLM exchange (every capture is Kerberos between domain members), so the NTLM
CHALLENGE is not compared here; the fake's is built per [MS-NLMP] and checked by impacket's client.
"""

from __future__ import annotations

import socket
import struct

import pytest
from impacket.dcerpc.v5 import dcomrt
from impacket.dcerpc.v5.dcom import wmi
from tests.remote.capture import Conversation, conversations
from tests.remote.fakes.msrpc import FakeRpcServer, Scenario

pytestmark = [pytest.mark.corpus, pytest.mark.network]

WMI_CAPTURE = "pcap/otrf__empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod_WORKSTATION5_2020-09-21001437.cap"


@pytest.fixture(scope="module")
def captured(corpus) -> list[Conversation]:
    return conversations(corpus / WMI_CAPTURE)


def _exchange(server: FakeRpcServer, pdus: list[bytes]) -> list[bytes]:
    replies = []
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for pdu in pdus:
            sock.sendall(pdu)
            header = b""
            while len(header) < 16:
                header += sock.recv(16 - len(header))
            rest = b""
            while len(rest) < struct.unpack_from("<H", header, 8)[0] - 16:
                rest += sock.recv(65536)
            replies.append(header + rest)
    return replies


def bind_ack_fields(pdu: bytes) -> dict:
    """Every field of a bind_ack / alter_context_resp except the association group (chosen per server)
    and the padding bytes (whose content Windows leaves unset)."""
    version, minor, kind, flags, drep, frag, auth, call = struct.unpack_from("<BBBB4sHHL", pdu, 0)
    max_xmit, max_recv, assoc, address_len = struct.unpack_from("<HHLH", pdu, 16)
    address = pdu[26 : 26 + address_len]
    at = 26 + address_len
    at += (4 - at % 4) % 4
    count = pdu[at]
    results = [struct.unpack_from("<HH20s", pdu, at + 4 + 24 * i) for i in range(count)]
    return {
        "version": (version, minor),
        "type": kind,
        "flags": flags,
        "drep": drep,
        "frag_length": frag,
        "auth_length": auth,
        "call_id": call,
        "max_frags": (max_xmit, max_recv),
        "assoc_group_set": assoc != 0,
        "secondary_address": address.rstrip(b"\x00").isdigit() if address else b"",
        "address_terminated": address.endswith(b"\x00") if address else None,
        "results": results,
    }


def test_anonymous_bind_ack_and_serveralive2_match_a_real_host(captured):
    """The capture's own bind (IObjectExporter with bind-time feature negotiation) and ServerAlive2,
    replayed into the fake: the bind_ack has the same fields; the reply lists names then addresses as
    TCP towers, then the same security bindings, with the same COM version."""
    real = next(c for c in captured if c.server_port == 135 and c.client[0].auth_len == 0)
    with FakeRpcServer(Scenario(computer="WORKSTATION6")) as server:
        fake_ack, fake_alive = _exchange(server, [real.client[0].data, real.client[1].data])
    real_ack = bind_ack_fields(real.server[0].data)
    ours = bind_ack_fields(fake_ack)
    # The secondary address is the port in decimal: 135 there, the fake's own port here (one more digit).
    size_of_port = len(str(server.port)) - len("135")
    real_ack["frag_length"] += size_of_port + (4 - (26 + len(str(server.port)) + 1) % 4) % 4 - (4 - (26 + 4) % 4) % 4
    assert ours == real_ack

    real_reply = dcomrt.ServerAlive2Response(real.server[1].stub)
    fake_reply = dcomrt.ServerAlive2Response(fake_alive[24:])
    assert _alive2_shape(fake_reply) == _alive2_shape(real_reply)


def _alive2_shape(reply: dcomrt.ServerAlive2Response) -> dict:
    dsa = reply["ppdsaOrBindings"]
    raw = b"".join(struct.pack("<H", x) for x in dsa["aStringArray"])
    bindings, at = [], 0
    while raw[at : at + 2] != b"\x00\x00":
        binding = dcomrt.STRINGBINDING(raw[at:])
        bindings.append(binding["wTowerId"])
        at += len(binding)
    security = raw[dsa["wSecurityOffset"] * 2 :]
    services = [struct.unpack_from("<HH", security, i)[:2] for i in range(0, len(security) - 2, 6)]
    return {
        "com": (reply["pComVersion"]["MajorVersion"], reply["pComVersion"]["MinorVersion"]),
        "towers": bindings,
        "security_bindings": services,
        "error": reply["ErrorCode"],
        "offset_after_strings": dsa["wSecurityOffset"] * 2 == at + 2,
    }


def test_alter_context_resp_matches_a_real_host(captured):
    """An alter_context adding an interface (no auth, reusing the connection's security context), as the
    captured client sends on the WMI port, answered as Windows answers it (no secondary address)."""
    from tests.remote.fakes.msrpc import IFACES

    real = next(c for c in captured if c.server_port != 135)
    # the one adding IWbemLevel1Login (the others add WMI helper interfaces the fake does not serve)
    alter = next(p for p in real.client if p.kind == 14 and p.auth_len == 0 and p.data[32:48] in IFACES)
    real_resp = next(p for p in real.server if p.kind == 15 and p.call_id == alter.call_id)
    ours = bind_ack_fields(_replay_alter(alter.data))
    assert ours == bind_ack_fields(real_resp.data)


def _replay_alter(alter: bytes) -> bytes:
    """The fake's answer to the captured alter_context, on a connection first bound anonymously with the
    same PDU made a bind."""
    bind = bytearray(alter)
    bind[2] = 11  # the same PDU as a bind first, so that the connection exists
    with FakeRpcServer() as server:
        _, reply = _exchange(server, [bytes(bind), alter])
    return reply


def test_a_real_activation_reply_reads_through_the_probes_path(captured):
    """The captured RemoteCreateInstance reply, parsed by the code path the probe uses, gives the WMI
    login object's IPID and TCP bindings with a port; the fake's reply has the same structure."""
    real = next(c for c in captured if c.server_port == 135 and c.client[0].auth_len)
    request = next(p for p in real.client if p.kind == 0 and p.opnum == 4)
    response = next(p for p in real.server if p.kind == 2 and p.call_id == request.call_id)
    real_shape = _activation_shape(response.stub)
    with FakeRpcServer() as server:
        from tests.remote.fakes.msrpc import _Connection

        fake_shape = _activation_shape(_Connection(server, None).remote_create_instance(b""))
    assert real_shape["tcp_bindings_with_port"] and fake_shape["tcp_bindings_with_port"]
    for key in (
        "orpcthat_flags",
        "objref",
        "properties",
        "serialization_headers",
        "authn_hint",
        "server_version",
        "interfaces",
        "interface_objref",
        "error",
    ):
        assert fake_shape[key] == real_shape[key], key


def _activation_shape(stub: bytes) -> dict:
    from wmidoctor.remote.dcom import TOWER_TCP, _forget_interface, _port_of, _Replayed
    from wmidoctor.remote.templates import read_activation

    interface = dcomrt.IRemoteSCMActivator(_Replayed(stub, "captured")).RemoteCreateInstance(
        wmi.CLSID_WbemLevel1Login, wmi.IID_IWbemLevel1Login
    )
    bindings = interface.get_cinstance().get_string_bindings()
    _forget_interface("captured")
    lean = read_activation(stub)  # the probe's fast reader agrees with impacket's on the same bytes
    assert lean is not None and lean.ipid == interface.get_iPid()
    assert lean.bindings == [(b["wTowerId"], b["aNetworkAddr"].rstrip("\x00")) for b in bindings]
    reply = dcomrt.RemoteCreateInstanceResponse(stub)
    objref = b"".join(reply["ppActProperties"]["abData"])
    custom = dcomrt.OBJREF_CUSTOM(objref)
    blob = dcomrt.ACTIVATION_BLOB(custom["pObjectData"])
    header = blob["CustomHeader"]
    sizes = [s["Data"] for s in header["pSizes"]]
    properties = blob["Property"]
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    props_out = dcomrt.PropsOutInfo()
    size = props_out.fromString(properties[: sizes[0]])
    props_out.fromStringReferents(properties[size : sizes[0]])
    scm = dcomrt.ScmReplyInfoData()
    size = scm.fromString(properties[sizes[0] : sizes[0] + sizes[1]])
    scm.fromStringReferents(properties[sizes[0] + size : sizes[0] + sizes[1]])
    interface_objref = b"".join(props_out["ppIntfData"][0]["abData"])
    return {
        "orpcthat_flags": reply["ORPCthat"]["flags"],
        "error": reply["ErrorCode"],
        "objref": (objref[:4], custom["flags"], custom["iid"], custom["clsid"]),
        "properties": [c["Data"] for c in header["pclsid"]],
        "destination": header["destCtx"],
        "serialization_headers": [properties[start : start + 4] for start in starts],
        "authn_hint": scm["remoteReply"]["authnHint"] >= 0,
        "server_version": (
            scm["remoteReply"]["serverVersion"]["MajorVersion"],
            scm["remoteReply"]["serverVersion"]["MinorVersion"],
        ),
        "interfaces": (props_out["cIfs"], [h["Data"] for h in props_out["phresults"]]),
        "interface_objref": (interface_objref[:4], dcomrt.OBJREF(interface_objref)["flags"]),
        "tcp_bindings_with_port": [
            b["aNetworkAddr"]
            for b in bindings
            if b["wTowerId"] == TOWER_TCP and _port_of(b["aNetworkAddr"].rstrip("\x00"))
        ],
        "ipid": interface.get_iPid(),
    }
