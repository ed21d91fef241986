"""The precomputed requests are the bytes impacket encodes (but for the per-call id), and the lean
readers give what impacket's parsing gives, on the fake's replies (and on a real host's, in
test_fidelity)."""

from __future__ import annotations

from impacket.dcerpc.v5 import dcomrt
from impacket.dcerpc.v5.dcom import wmi
from tests.remote.fakes.msrpc import FakeRpcServer, Scenario, _Connection

from wmidoctor.remote import templates


def test_requests_decode_as_the_calls_they_stand_for_with_a_fresh_call_id():
    """impacket decodes each rendered template into the call the probe means (referent ids aside, the
    bytes are impacket's own encoding); the call id changes on every render."""
    login = templates.ntlm_login("//./root/cimv2")
    first, second = login.render(), login.render()
    decoded = wmi.IWbemLevel1Login_NTLMLogin(first)
    assert decoded["wszNetworkResource"] == "//./root/cimv2\x00" and decoded["lFlags"] == 0
    assert (
        decoded["ORPCthis"]["cid"]
        == first[login.cid_at : login.cid_at + 16]
        != second[login.cid_at : login.cid_at + 16]
    )
    assert (decoded["ORPCthis"]["version"]["MajorVersion"], decoded["ORPCthis"]["version"]["MinorVersion"]) == (5, 7)

    query = wmi.IWbemServices_ExecQuery(templates.exec_query("SELECT * FROM Win32_Service").render())
    assert query["strQuery"]["asData"] == "SELECT * FROM Win32_Service" and query["strQueryLanguage"]["asData"] == "WQL"
    assert query["lFlags"] == wmi.WBEM_FLAG_FORWARD_ONLY | wmi.WBEM_FLAG_RETURN_IMMEDIATELY

    fetch = wmi.IEnumWbemClassObject_Next(templates.enum_next().render(1234))
    assert (fetch["lTimeout"], fetch["uCount"]) == (1234, 1)

    activation = templates.remote_create_instance()
    rendered = activation.render()
    decoded = dcomrt.RemoteCreateInstance(rendered)
    assert decoded["ORPCthis"]["cid"] == rendered[activation.cid_at : activation.cid_at + 16]
    assert b"".join(decoded["pActProperties"]["abData"])[:4] == b"MEOW"


def test_readers_agree_with_impacket_on_the_fakes_replies():
    with FakeRpcServer(Scenario()) as server:
        connection = _Connection(server, None)
        login = connection.ntlm_login(templates.ntlm_login("//./root/cimv2").render())
        query = connection.exec_query(templates.exec_query("SELECT * FROM Win32_OperatingSystem").render())
        fetched = connection.enum_next(templates.enum_next().render(1000))
        alive = connection.server_alive2(b"")
    ns = dcomrt.OBJREF_STANDARD(b"".join(wmi.IWbemLevel1Login_NTLMLoginResponse(login)["ppNamespace"]["abData"]))
    assert templates.read_interface_ipid(login) == ns["std"]["ipid"]
    enum = dcomrt.OBJREF_STANDARD(b"".join(wmi.IWbemServices_ExecQueryResponse(query)["ppEnum"]["abData"]))
    assert templates.read_interface_ipid(query) == enum["std"]["ipid"]
    reply = wmi.IEnumWbemClassObject_NextResponse(fetched)
    assert templates.read_next(fetched) == (
        reply["ErrorCode"],
        reply["puReturned"],
        b"".join(reply["apObjects"][0]["abData"]),
    )
    version, bindings = templates.read_server_alive2(alive)
    parsed = dcomrt.ServerAlive2Response(alive)
    assert version == (parsed["pComVersion"]["MajorVersion"], parsed["pComVersion"]["MinorVersion"])
    assert [address for _, address in bindings] == ["FAKEWMI", "127.0.0.1"]


def test_readers_give_up_on_what_they_do_not_handle():
    assert templates.read_interface_ipid(b"\x00" * 8) is None
    assert templates.read_activation(b"\x00\x00\x00\x00\x01\x00\x00\x00" + b"\x00" * 40) is None  # an extension
    assert templates.read_next(b"\x00" * 12) is None
