"""A fake Windows RPCSS + WMI service speaking connection-oriented MSRPC (DCE 1.1 / [MS-RPCE]) built
from impacket's own PDU and NDR structures.

It answers what the probe asks, in the bytes a Windows server sends: bind_ack with an NTLM challenge
(or bind_nak with a reason), an RPC fault rpc_s_access_denied on the first call after an AUTH3 whose
NTLMv2 proof does not match the account's password, IObjectExporter::ServerAlive2, an activation blob
for RemoteCreateInstance (or its ErrorCode), and IWbemLevel1Login / IWbemServices /
IEnumWbemClassObject replies with the WBEM status chosen by the scenario.

What it does not do: sign or seal its replies (impacket's client does not verify server verifiers),
unseal sealed requests (at packet privacy it answers from the opnum alone), or Kerberos.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

from impacket import ntlm
from impacket.dcerpc.v5 import dcomrt, rpcrt
from impacket.dcerpc.v5.dcom import wmi
from impacket.dcerpc.v5.dtypes import NULL
from impacket.uuid import generate
from tests.probe.fakes.wmio import encode_instance

IFACES = {
    dcomrt.IID_IObjectExporter[:16]: "IObjectExporter",
    dcomrt.IID_IRemoteSCMActivator[:16]: "IRemoteSCMActivator",
    wmi.IID_IWbemLevel1Login[:16]: "IWbemLevel1Login",
    wmi.IID_IWbemServices[:16]: "IWbemServices",
    wmi.IID_IEnumWbemClassObject[:16]: "IEnumWbemClassObject",
}
PFC_FIRST_LAST = rpcrt.PFC_FIRST_FRAG | rpcrt.PFC_LAST_FRAG
PFC_DID_NOT_EXECUTE = 0x20
RPC_S_ACCESS_DENIED = 5
NCA_S_OP_RNG_ERROR = 0x1C010002


@dataclass
class Scenario:
    """How the fake host behaves; the defaults make a healthy host."""

    accounts: dict[str, str] = field(default_factory=lambda: {"probe": "Secret-1"})
    computer: str = "FAKEWMI"
    silent: bool = False  # accept TCP, never answer
    bind_nak: int | None = None  # refuse every bind with this p_reject_reason
    activation_error: int = 0  # ErrorCode of RemoteCreateInstance
    advertised_port: int | None = None  # the dynamic port the OXID bindings name (default: this listener)
    login_error: int = 0  # ErrorCode of NTLMLogin
    encryption_required: bool = False  # NTLMLogin denied unless the connection is at packet privacy
    namespaces: tuple[str, ...] = ("root\\cimv2",)
    query_error: int = 0  # ErrorCode of ExecQuery
    # A farm of many hosts: serve each bind's and each method's first reply again (one server challenge
    # per listener), so that the fakes cost little CPU next to the prober. NTLM proofs are still checked.
    reuse_replies: bool = False
    row: dict[str, str] = field(default_factory=lambda: {"Caption": "Microsoft Windows Server 2022 Standard",
                                                         "Version": "10.0.20348", "CSName": "FAKEWMI"})


class _Connection:
    def __init__(self, server: FakeRpcServer, sock: socket.socket):
        self.server = server
        self.scenario = server.scenario
        self.sock = sock
        self.contexts: dict[int, str] = {}
        self.challenge = b""
        self.auth_level = rpcrt.RPC_C_AUTHN_LEVEL_NONE
        self.auth_failed = False

    # --- framing --------------------------------------------------------------------------------
    def read_pdu(self) -> bytes | None:
        header = self._read(16)
        if header is None:
            return None
        frag_len = struct.unpack_from("<H", header, 8)[0]
        rest = self._read(frag_len - 16)
        return None if rest is None else header + rest

    def _read(self, count: int) -> bytes | None:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def send(self, pdu: rpcrt.MSRPCHeader) -> bytes:
        data = bytearray(pdu.get_packet())
        struct.pack_into("<H", data, 8, len(data))  # frag_length: impacket leaves it to the sender
        self.sock.sendall(data)
        return bytes(data)

    def resend(self, reply: bytes, call_id: int, ctx_id: int | None = None) -> None:
        """A reply served before, under this PDU's call id (and presentation context)."""
        data = bytearray(reply)
        struct.pack_into("<L", data, 12, call_id)
        if ctx_id is not None:
            struct.pack_into("<H", data, 20, ctx_id)
        self.sock.sendall(data)

    def serve(self) -> None:
        try:
            while (data := self.read_pdu()) is not None:
                self.dispatch(data)
        except OSError:
            pass
        finally:
            self.sock.close()

    # --- PDUs -----------------------------------------------------------------------------------
    def dispatch(self, data: bytes) -> None:
        if self.scenario.silent:
            return
        kind = data[2]
        if kind in (rpcrt.MSRPC_BIND, rpcrt.MSRPC_ALTERCTX):
            self.bind(data)
        elif kind == rpcrt.MSRPC_AUTH3:
            self.auth3(data)
        elif kind == rpcrt.MSRPC_REQUEST:
            self.request(data)

    def bind(self, data: bytes) -> None:
        call_id, auth_len = struct.unpack_from("<L", data, 12)[0], struct.unpack_from("<H", data, 10)[0]
        # A farm serves the same bind (same interfaces, same NTLM negotiate) the same answer.
        key = (data[2], data[16:])
        cached = self.server.binds.get(key) if self.scenario.reuse_replies else None
        if cached is None:
            cached = self._bind_reply(rpcrt.MSRPCHeader(data))
            self.server.binds[key] = cached
        reply, contexts, auth_level, challenge = cached
        self.contexts.update(contexts)
        if auth_len:
            self.auth_level, self.challenge = auth_level, challenge
        self.resend(reply, call_id)

    def _bind_reply(self, header: rpcrt.MSRPCHeader) -> tuple[bytes, dict[int, str], int, bytes]:
        """bind_ack / alter_context_resp (or bind_nak), and what it changes on the connection."""
        if self.scenario.bind_nak is not None:
            nak = rpcrt.MSRPCHeader()
            nak["type"] = rpcrt.MSRPC_BINDNAK
            nak["call_id"] = header["call_id"]
            body = rpcrt.MSRPCBindNak()
            body["RejectedReason"] = self.scenario.bind_nak
            body["SupportedVersions"] = b"\x01\x05\x00"  # one version: 5.0
            nak["pduData"] = body.getData()
            return self.send_later(nak), {}, self.auth_level, self.challenge
        bind = rpcrt.MSRPCBind(header["pduData"])
        ack = rpcrt.MSRPCBindAck()
        ack["type"] = rpcrt.MSRPC_BINDACK if header["type"] == rpcrt.MSRPC_BIND else rpcrt.MSRPC_ALTERCTX_R
        ack["call_id"] = header["call_id"]
        ack["max_tfrag"], ack["max_rfrag"], ack["assoc_group"] = 5840, 5840, 0x1D2E3
        port = str(self.server.port).encode()
        ack["SecondaryAddr"], ack["SecondaryAddrLen"] = port, len(port) + 1
        ack["Pad"] = b"\x00" * ((4 - ((len(port) + 1 + rpcrt.MSRPCBindAck._SIZE) % 4)) % 4)
        items, raw, contexts = b"", bind["ctx_items"], {}
        for _ in range(bind["ctx_num"]):
            item = rpcrt.CtxItem(raw)
            raw = raw[len(item):]
            result = rpcrt.CtxItemResult()
            name = IFACES.get(item["AbstractSyntax"][:16])
            if name:
                contexts[item["ContextID"]] = name
                result["Result"], result["Reason"] = 0, 0
                result["TransferSyntax"] = item["TransferSyntax"]
            else:
                result["Result"], result["Reason"] = 2, 1  # provider rejection: abstract syntax not supported
                result["TransferSyntax"] = b"\x00" * 20
            items += result.getData()
        ack["ctx_num"], ack["ctx_items"] = bind["ctx_num"], items
        auth_level, challenge = self.auth_level, self.challenge
        if header["auth_len"]:
            trailer = rpcrt.SEC_TRAILER(header["sec_trailer"])
            auth_level = trailer["auth_level"]
            negotiate = ntlm.NTLMAuthNegotiate()
            negotiate.fromString(header["auth_data"])
            challenge = self.server.challenge if self.scenario.reuse_replies else generate()[:8]
            ack["sec_trailer"] = trailer
            ack["auth_data"] = self.ntlm_challenge(negotiate, challenge)
        return self.send_later(ack), contexts, auth_level, challenge

    @staticmethod
    def send_later(pdu: rpcrt.MSRPCHeader) -> bytes:
        data = bytearray(pdu.get_packet())
        struct.pack_into("<H", data, 8, len(data))  # frag_length: impacket leaves it to the sender
        return bytes(data)

    def ntlm_challenge(self, negotiate: ntlm.NTLMAuthNegotiate, challenge: bytes) -> bytes:
        flags = negotiate["flags"] & (ntlm.NTLMSSP_NEGOTIATE_56 | ntlm.NTLMSSP_NEGOTIATE_128
                                      | ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH | ntlm.NTLMSSP_NEGOTIATE_UNICODE
                                      | ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
                                      | ntlm.NTLMSSP_NEGOTIATE_SIGN | ntlm.NTLMSSP_NEGOTIATE_SEAL)
        flags |= (ntlm.NTLMSSP_NEGOTIATE_VERSION | ntlm.NTLMSSP_NEGOTIATE_TARGET_INFO
                  | ntlm.NTLMSSP_TARGET_TYPE_SERVER | ntlm.NTLMSSP_NEGOTIATE_NTLM | ntlm.NTLMSSP_REQUEST_TARGET)
        name = self.scenario.computer.encode("utf-16le")
        pairs = ntlm.AV_PAIRS()
        pairs[ntlm.NTLMSSP_AV_HOSTNAME] = pairs[ntlm.NTLMSSP_AV_DNS_HOSTNAME] = name
        pairs[ntlm.NTLMSSP_AV_DOMAINNAME] = pairs[ntlm.NTLMSSP_AV_DNS_DOMAINNAME] = name
        message = ntlm.NTLMAuthChallenge()
        message["flags"] = flags
        message["domain_name"] = name
        message["domain_offset"] = 40 + 16
        message["challenge"] = challenge
        message["TargetInfoFields"] = pairs.getData()
        message["TargetInfoFields_offset"] = 40 + 16 + len(name)
        message["Version"] = b"\x0a\x00\x7c\x4f\x00\x00\x00\x0f"  # 10.0 build 20348, NTLM revision 15
        return message.getData()

    def auth3(self, data: bytes) -> None:
        """Check the NTLMv2 proof against the account's password, as the server's LSA would."""
        auth_len = struct.unpack_from("<H", data, 10)[0]
        message = data[len(data) - auth_len:]

        def field(offset: int) -> bytes:  # an NTLM AUTHENTICATE_MESSAGE payload field (len, max, offset)
            length, _, start = struct.unpack_from("<HHL", message, offset)
            return message[start:start + length]

        nt_response = field(20)
        domain, user = field(28).decode("utf-16le"), field(36).decode("utf-16le")
        password = self.scenario.accounts.get(user.lower())
        if password is None or len(nt_response) <= 24:
            self.auth_failed = True
            return
        proof = ntlm.hmac_md5(self.server.response_key(user, password, domain), self.challenge + nt_response[16:])
        self.auth_failed = proof != nt_response[:16]

    def request(self, data: bytes) -> None:
        call_id = struct.unpack_from("<L", data, 12)[0]
        ctx_id, opnum = struct.unpack_from("<HH", data, 20)
        if self.auth_failed:
            self.fault(call_id, ctx_id, RPC_S_ACCESS_DENIED)
            return
        iface = self.contexts.get(ctx_id)
        handler = HANDLERS.get((iface, opnum))
        if handler is None:
            self.fault(call_id, ctx_id, NCA_S_OP_RNG_ERROR)
            return
        key = (iface, opnum)
        reply = self.server.replies.get(key) if self.scenario.reuse_replies else None
        if reply is None:
            header = rpcrt.MSRPCRequestHeader(data)
            stub = handler(self, header["pduData"])
            response = rpcrt.MSRPCRespHeader()
            response["type"] = rpcrt.MSRPC_RESPONSE
            response["flags"] = PFC_FIRST_LAST
            response["call_id"] = call_id
            response["ctx_id"] = ctx_id
            response["alloc_hint"] = len(stub)
            response["pduData"] = stub
            reply = self.server.replies[key] = self.send_later(response)
        self.resend(reply, call_id, ctx_id)

    def fault(self, call_id: int, ctx_id: int, status: int) -> None:
        body = struct.pack("<LHBBLL", 0, ctx_id, 0, 0, status, 0)  # alloc_hint, context, cancel count, status
        header = struct.pack("<BBBB4sHHL", 5, 0, rpcrt.MSRPC_FAULT, PFC_FIRST_LAST | PFC_DID_NOT_EXECUTE,
                             b"\x10\x00\x00\x00", 16 + len(body), 0, call_id)
        self.sock.sendall(header + body)

    # --- the calls ------------------------------------------------------------------------------
    @property
    def readable(self) -> bool:
        """Stub data is plain text below packet privacy (signed, not sealed)."""
        return self.auth_level < rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY

    def server_alive2(self, stub: bytes) -> bytes:
        reply = dcomrt.ServerAlive2Response()
        reply["pComVersion"]["MajorVersion"], reply["pComVersion"]["MinorVersion"] = 5, 7
        reply["ppdsaOrBindings"] = dual_string_array([self.scenario.computer, "127.0.0.1"])
        reply["pReserved"] = NULL
        reply["ErrorCode"] = 0
        return reply.getData()

    def remote_create_instance(self, stub: bytes) -> bytes:
        reply = dcomrt.RemoteCreateInstanceResponse()
        reply["ORPCthat"]["flags"], reply["ORPCthat"]["extensions"] = 0, NULL
        if self.scenario.activation_error:
            reply["ppActProperties"] = NULL
            reply["ErrorCode"] = self.scenario.activation_error
            return reply.getData()
        port = self.scenario.advertised_port or self.server.port
        blob = activation_blob([f"{self.scenario.computer}[{port}]", f"127.0.0.1[{port}]"],
                               objref_standard(wmi.IID_IWbemLevel1Login))
        custom = dcomrt.OBJREF_CUSTOM()
        custom["iid"] = dcomrt.IID_IActivationPropertiesOut[:-4]
        custom["clsid"] = dcomrt.CLSID_ActivationPropertiesOut
        custom["pObjectData"] = blob
        custom["ObjectReferenceSize"] = len(blob) + 8
        data = custom.getData()
        reply["ppActProperties"]["ulCntData"] = len(data)
        reply["ppActProperties"]["abData"] = list(data)
        reply["ErrorCode"] = 0
        return reply.getData()

    def ntlm_login(self, stub: bytes) -> bytes:
        status = self.scenario.login_error
        if not status and self.scenario.encryption_required and self.readable:
            status = 0x80041003  # WBEM_E_ACCESS_DENIED: the namespace requires encryption
        if not status and self.readable:
            request = wmi.IWbemLevel1Login_NTLMLogin(stub)
            namespace = request["wszNetworkResource"].rstrip("\x00").replace("/", "\\").lstrip("\\.").lower()
            if namespace not in {n.lower() for n in self.scenario.namespaces}:
                status = 0x8004100E  # WBEM_E_INVALID_NAMESPACE
        return self.interface_reply(wmi.IWbemLevel1Login_NTLMLoginResponse(), "ppNamespace",
                                    wmi.IID_IWbemServices, status)

    def exec_query(self, stub: bytes) -> bytes:
        return self.interface_reply(wmi.IWbemServices_ExecQueryResponse(), "ppEnum", wmi.IID_IEnumWbemClassObject,
                                    self.scenario.query_error)

    def interface_reply(self, reply: dcomrt.DCOMANSWER, field_name: str, iid: bytes, status: int) -> bytes:
        reply["ORPCthat"]["flags"], reply["ORPCthat"]["extensions"] = 0, NULL
        if status:
            reply[field_name] = NULL
        else:
            data = objref_standard(iid)
            reply[field_name]["ulCntData"] = len(data)
            reply[field_name]["abData"] = list(data)
        reply["ErrorCode"] = status
        return reply.getData()

    def enum_next(self, stub: bytes) -> bytes:
        reply = wmi.IEnumWbemClassObject_NextResponse()
        reply["ORPCthat"]["flags"], reply["ORPCthat"]["extensions"] = 0, NULL
        custom = dcomrt.OBJREF_CUSTOM()
        custom["iid"] = wmi.IID_IWbemClassObject[:-4]
        custom["clsid"] = wmi.CLSID_WbemClassObject
        custom["pObjectData"] = encode_instance("Win32_OperatingSystem", self.scenario.row,
                                                self.scenario.computer)
        custom["ObjectReferenceSize"] = len(custom["pObjectData"]) + 8
        data = custom.getData()
        pointer = dcomrt.PMInterfacePointer()
        pointer["ulCntData"] = len(data)
        pointer["abData"] = list(data)
        reply["apObjects"].append(pointer)
        reply["puReturned"] = 1
        reply["ErrorCode"] = 0
        return reply.getData()


HANDLERS = {
    ("IObjectExporter", 5): _Connection.server_alive2,
    ("IRemoteSCMActivator", 4): _Connection.remote_create_instance,
    ("IWbemLevel1Login", 6): _Connection.ntlm_login,
    ("IWbemServices", 20): _Connection.exec_query,
    ("IEnumWbemClassObject", 4): _Connection.enum_next,
}


def dual_string_array(addresses: list[str]) -> dcomrt.DUALSTRINGARRAY:
    """String bindings (TCP tower) then one NTLM security binding, as USHORTs."""
    raw = b"".join(struct.pack("<H", 7) + (a + "\x00").encode("utf-16le") for a in addresses) + b"\x00\x00"
    security_offset = len(raw) // 2
    raw += struct.pack("<HH", 10, 0xFFFF) + "\x00".encode("utf-16le") + b"\x00\x00"
    dsa = dcomrt.DUALSTRINGARRAY()
    dsa["wNumEntries"] = len(raw) // 2
    dsa["wSecurityOffset"] = security_offset
    dsa["aStringArray"] = list(struct.unpack(f"<{len(raw) // 2}H", raw))
    return dsa


def objref_standard(iid: bytes) -> bytes:
    ref = dcomrt.OBJREF_STANDARD()
    ref["iid"] = iid[:16]
    ref["std"]["flags"] = dcomrt.SORF_NOPING
    ref["std"]["cPublicRefs"] = 5
    ref["std"]["oxid"] = 0x1122334455667788
    ref["std"]["oid"] = 0x0102030405060708
    ref["std"]["ipid"] = generate()
    ref["saResAddr"] = b"\x00\x00\x00\x00"  # an empty DUALSTRINGARRAY
    return ref.getData()


def activation_blob(bindings: list[str], interface: bytes) -> bytes:
    """ActivationPropertiesOut: PropsOutInfo (the interface) and ScmReplyInfoData (OXID bindings)."""
    props = dcomrt.PropsOutInfo()
    props["cIfs"] = 1
    iid = dcomrt.IID()
    iid["Data"] = wmi.IID_IWbemLevel1Login[:16]
    props["piid"].append(iid)
    hresult = dcomrt.HRESULT()
    hresult["Data"] = 0
    props["phresults"].append(hresult)
    pointer = dcomrt.PMInterfacePointer()
    pointer["ulCntData"] = len(interface)
    pointer["abData"] = list(interface)
    props["ppIntfData"].append(pointer)

    scm = dcomrt.ScmReplyInfoData()
    scm["pdwReserved"] = 0
    scm["remoteReply"]["Oxid"] = 0x1122334455667788
    scm["remoteReply"]["pdsaOxidBindings"] = dual_string_array(bindings)
    scm["remoteReply"]["ipidRemUnknown"] = generate()
    scm["remoteReply"]["authnHint"] = rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY
    scm["remoteReply"]["serverVersion"]["MajorVersion"] = 5
    scm["remoteReply"]["serverVersion"]["MinorVersion"] = 7

    blob = dcomrt.ACTIVATION_BLOB()
    blob["CustomHeader"]["destCtx"] = 2
    blob["CustomHeader"]["pdwReserved"] = NULL
    properties = b""
    for clsid_value, part in ((dcomrt.CLSID_PropsOutInfo, props), (dcomrt.CLSID_ScmReplyInfo, scm)):
        clsid = dcomrt.CLSID()
        clsid["Data"] = clsid_value
        blob["CustomHeader"]["pclsid"].append(clsid)
        marshaled = part.getData() + part.getDataReferents()
        marshaled += b"\xfa" * ((8 - len(marshaled) % 8) % 8)
        size = dcomrt.DWORD()
        size["Data"] = len(marshaled)
        blob["CustomHeader"]["pSizes"].append(size)
        properties += marshaled
    blob["Property"] = properties
    return blob.getData()


class FakeRpcServer:
    """One loopback listener serving the endpoint mapper, the activator and the WMI objects."""

    def __init__(self, scenario: Scenario | None = None, port: int = 0):
        self.scenario = scenario or Scenario()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True, name=f"fake-rpc-{self.port}")
        self._open: list[socket.socket] = []
        # Replies served before (farm mode): bind answers by request bytes, call answers by method.
        self.binds: dict[tuple[int, bytes], tuple[bytes, dict[int, str], int, bytes]] = {}
        self.replies: dict[tuple[str | None, int], bytes] = {}
        self.challenge = generate()[:8]  # farm mode: one server challenge per listener
        self._keys: dict[tuple[str, str], bytes] = {}

    def response_key(self, user: str, password: str, domain: str) -> bytes:
        """The account's NTLMv2 response key (NTOWFv2), derived once per user and domain."""
        key = self._keys.get((user, domain))
        if key is None:
            key = self._keys[(user, domain)] = ntlm.NTOWFv2(user, password, domain)
        return key

    def __enter__(self) -> FakeRpcServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; close alone does not
        self.listener.close()
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._open.append(sock)
            threading.Thread(target=_Connection(self, sock).serve, daemon=True).start()
