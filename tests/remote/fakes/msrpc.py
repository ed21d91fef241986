"""A fake Windows RPCSS + WMI service speaking connection-oriented MSRPC (DCE 1.1 / [MS-RPCE]) built
from impacket's own PDU and NDR structures, behaving like Windows where the probe's verdicts depend on it:

- bind_ack as Windows sends it (secondary address, one result per context item, the bind-time feature
  negotiation item acknowledged), or bind_nak with a reason; a Kerberos bind is refused with reason 9
  (the fake holds no service key, as a target with a stale key would not);
- NTLM: the AUTHENTICATE proof is checked against the account's password, the session keys are derived
  from it, and every request at packet integrity or privacy is verified (and unsealed) with them; replies
  are signed (and sealed) with the server's keys. A bad signature is refused, so a signing bug fails;
- an AUTH3 is never answered; if it failed, the first request gets an RPC fault with status 5;
- ORPC calls are routed by the IPID in the object UUID, not by the presentation context (as Windows
  does); an unknown IPID gets a fault nca_s_unk_if;
- activation replies list a named-pipe (ncacn_np) tower before the TCP ones, as Server 2016+ do;
- ExecQuery is semisynchronous: it returns an enumerator at once and class, query and provider errors
  come from IEnumWbemClassObject::Next; Next honours its lTimeout (WBEM_S_TIMEDOUT);
- a namespace that requires encryption accepts NTLMLogin at integrity and refuses ExecQuery (0x80041003).

Scenarios also make it stall (never answer a call) or trickle (send a reply a byte at a time).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from Cryptodome.Cipher import ARC4
from impacket import ntlm
from impacket.dcerpc.v5 import dcomrt, rpcrt
from impacket.dcerpc.v5.dcom import wmi
from impacket.dcerpc.v5.dtypes import NULL
from impacket.uuid import generate
from tests.remote.fakes.wmio import encode_instance

IFACES = {
    dcomrt.IID_IObjectExporter[:16]: "IObjectExporter",
    dcomrt.IID_IRemoteSCMActivator[:16]: "IRemoteSCMActivator",
    wmi.IID_IWbemLevel1Login[:16]: "IWbemLevel1Login",
    wmi.IID_IWbemServices[:16]: "IWbemServices",
    wmi.IID_IEnumWbemClassObject[:16]: "IEnumWbemClassObject",
}
METHODS = {
    ("IObjectExporter", 5): "ServerAlive2",
    ("IRemoteSCMActivator", 4): "RemoteCreateInstance",
    ("IWbemLevel1Login", 6): "NTLMLogin",
    ("IWbemServices", 20): "ExecQuery",
    ("IEnumWbemClassObject", 4): "Next",
}
# Bind-time feature negotiation: a context item whose transfer syntax starts with this UUID ([MS-RPCE] 3.3.1.5.3).
BIND_TIME_FEATURES = bytes.fromhex("2c1cb76c12984045")
PFC_FIRST_LAST = rpcrt.PFC_FIRST_FRAG | rpcrt.PFC_LAST_FRAG
PFC_DID_NOT_EXECUTE = 0x20
RPC_S_ACCESS_DENIED = 5
NCA_S_OP_RNG_ERROR = 0x1C010002
NCA_S_UNK_IF = 0x1C010003
AUTHN_WINNT = rpcrt.RPC_C_AUTHN_WINNT
KERBEROS_AUTHN = (rpcrt.RPC_C_AUTHN_GSS_NEGOTIATE, rpcrt.RPC_C_AUTHN_GSS_KERBEROS)
WBEM_S_TIMEDOUT = 0x00040004
WBEM_E_ACCESS_DENIED = 0x80041003
TOWER_TCP, TOWER_NP = 0x07, 0x0F
_MAC = ntlm.MAC  # bound here: a test that breaks the client's signing must not break the fake's check
# The security bindings a Windows 10 host lists after its string bindings (seen in a real ServerAlive2 reply).
SECURITY_BINDINGS = (0x09, 0x1E, 0x10, 0x0A, 0x16, 0x1F, 0x0E)


@dataclass
class Scenario:
    """How the fake host behaves; the defaults make a healthy host."""

    accounts: dict[str, str] = field(default_factory=lambda: {"probe": "Secret-1"})
    computer: str = "FAKEWMI"
    addresses: tuple[str, ...] = ("127.0.0.1",)
    silent: bool = False  # accept TCP, never answer
    bind_nak: int | None = None  # refuse every bind with this p_reject_reason
    restrict_anonymous: bool = False  # RestrictRemoteClients: fault 5 to unauthenticated calls
    launch_denied: bool = False  # valid accounts get RPC fault 5 on RemoteCreateInstance (no launch right / UAC)
    activation_error: int = 0  # ErrorCode of RemoteCreateInstance
    advertised_port: int | None = None  # the dynamic port the OXID bindings name (default: this listener)
    login_error: int = 0  # ErrorCode of NTLMLogin
    encryption_required: bool = False  # ExecQuery refused (0x80041003) below packet privacy
    exec_error: int = 0  # ErrorCode of ExecQuery at any level
    namespaces: tuple[str, ...] = ("root\\cimv2",)
    query_error: int = 0  # ErrorCode of IEnumWbemClassObject::Next (semisynchronous: errors come from Next)
    provider_delay: float = 0.0  # seconds before the provider has a row; Next times out first if shorter
    faults: dict[str, int] = field(default_factory=dict)  # method name -> RPC fault status
    authenticated_faults: dict[str, int] = field(default_factory=dict)  # the same, on authenticated calls only
    stall: tuple[str, ...] = ()  # method names never answered
    trickle: tuple[str, ...] = ()  # method names whose reply is sent one byte at a time
    trickle_gap: float = 0.2
    reply_delay: float = 0.0  # seconds before answering each call (a host slow at every stage, each in time)
    verify_signatures: bool = True
    # A farm of many hosts: serve each bind's and each method's first reply again (one server challenge
    # per listener), so that the fakes cost little CPU next to the prober. NTLM proofs and request
    # signatures are still checked; replies are then not signed (impacket does not check them).
    reuse_replies: bool = False
    row: dict[str, str] = field(
        default_factory=lambda: {
            "Caption": "Microsoft Windows Server 2022 Standard",
            "Version": "10.0.20348",
            "CSName": "FAKEWMI",
        }
    )


class _Session:
    """NTLM session security of one connection ([MS-NLMP] 3.4), from the server's side."""

    def __init__(self, flags: int, exported_key: bytes):
        self.flags = flags
        self.client_sign = ntlm.SIGNKEY(flags, exported_key)
        self.server_sign = ntlm.SIGNKEY(flags, exported_key, "Server")
        self.client_seal = ARC4.new(ntlm.SEALKEY(flags, exported_key)).encrypt
        self.server_seal = ARC4.new(ntlm.SEALKEY(flags, exported_key, "Server")).encrypt
        self.client_seq = 0
        self.server_seq = 0

    def verify(self, pdu: bytes, body_at: int, level: int) -> bytes | None:
        """The request's stub (unsealed at privacy), or None when its verifier does not match."""
        auth_len = struct.unpack_from("<H", pdu, 10)[0]
        trailer_at = len(pdu) - auth_len - 8
        pad = pdu[trailer_at + 2]
        body = pdu[body_at:trailer_at]
        if level == rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY:
            body = self.client_seal(body)
        signed = pdu[:body_at] + body + pdu[trailer_at : len(pdu) - auth_len]
        expected = _MAC(self.flags, self.client_seal, self.client_sign, self.client_seq, signed).getData()
        self.client_seq += 1
        if expected != pdu[len(pdu) - auth_len :]:
            return None
        return body[: len(body) - pad]

    def protect(self, header_and_body: bytearray, level: int, auth_ctx_id: int, body_at: int) -> bytes:
        """Append the sec_trailer and the server's verifier (sealing the body at privacy)."""
        pad = (4 - len(header_and_body) % 4) % 4
        header_and_body += b"\x00" * pad
        trailer = struct.pack("<BBBBL", AUTHN_WINNT, level, pad, 0, auth_ctx_id)
        pdu = header_and_body + trailer
        struct.pack_into("<HH", pdu, 8, len(pdu) + 16, 16)
        if level == rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY:
            sealed = self.server_seal(bytes(pdu[body_at : len(header_and_body)]))
            signature = _MAC(self.flags, self.server_seal, self.server_sign, self.server_seq, bytes(pdu))
            pdu[body_at : len(header_and_body)] = sealed
        else:
            signature = _MAC(self.flags, self.server_seal, self.server_sign, self.server_seq, bytes(pdu))
        self.server_seq += 1
        return bytes(pdu) + signature.getData()


def ntlm_challenge(
    negotiate_flags: int, computer: str, challenge: bytes, *, timestamp: bool = True
) -> ntlm.NTLMAuthChallenge:
    """The CHALLENGE a Windows server sends for a NEGOTIATE with these flags ([MS-NLMP] 2.2.1.2): the flags
    it shares with the client, its names as AV pairs and, unless `timestamp` is false, its clock."""
    flags = negotiate_flags & (
        ntlm.NTLMSSP_NEGOTIATE_56
        | ntlm.NTLMSSP_NEGOTIATE_128
        | ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH
        | ntlm.NTLMSSP_NEGOTIATE_UNICODE
        | ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
        | ntlm.NTLMSSP_NEGOTIATE_SIGN
        | ntlm.NTLMSSP_NEGOTIATE_SEAL
    )
    flags |= (
        ntlm.NTLMSSP_NEGOTIATE_VERSION
        | ntlm.NTLMSSP_NEGOTIATE_TARGET_INFO
        | ntlm.NTLMSSP_TARGET_TYPE_SERVER
        | ntlm.NTLMSSP_NEGOTIATE_NTLM
        | ntlm.NTLMSSP_REQUEST_TARGET
    )
    name = computer.encode("utf-16le")
    pairs = ntlm.AV_PAIRS()
    pairs[ntlm.NTLMSSP_AV_DOMAINNAME] = pairs[ntlm.NTLMSSP_AV_HOSTNAME] = name
    pairs[ntlm.NTLMSSP_AV_DNS_DOMAINNAME] = pairs[ntlm.NTLMSSP_AV_DNS_HOSTNAME] = name
    if timestamp:
        pairs[ntlm.NTLMSSP_AV_TIME] = struct.pack("<Q", int((time.time() + 11644473600) * 10_000_000))
    message = ntlm.NTLMAuthChallenge()
    message["flags"] = flags
    message["domain_name"] = name
    message["domain_offset"] = 40 + 16
    message["challenge"] = challenge
    message["TargetInfoFields"] = pairs.getData()
    message["TargetInfoFields_offset"] = 40 + 16 + len(name)
    message["Version"] = b"\x0a\x00\x7c\x4f\x00\x00\x00\x0f"  # 10.0 build 20348, NTLM revision 15
    return message


class _Connection:
    def __init__(self, server: FakeRpcServer, sock: socket.socket):
        self.server = server
        self.scenario = server.scenario
        self.sock = sock
        self.contexts: dict[int, str] = {}
        self.challenge = b""
        self.negotiate_flags = 0
        self.auth_level = rpcrt.RPC_C_AUTHN_LEVEL_NONE
        self.auth_failed = False
        self.session: _Session | None = None

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
            time.sleep(self.scenario.reply_delay)
            self.request(data)

    def bind(self, data: bytes) -> None:
        call_id, auth_len = struct.unpack_from("<L", data, 12)[0], struct.unpack_from("<H", data, 10)[0]
        # A farm serves the same bind (same interfaces, same NTLM negotiate) the same answer.
        key = (data[2], data[16:])
        cached = self.server.binds.get(key) if self.scenario.reuse_replies else None
        if cached is None:
            cached = self.bind_reply(data)
            self.server.binds[key] = cached
        reply, contexts, auth_level, challenge, flags = cached
        self.contexts.update(contexts)
        if auth_len:
            self.auth_level, self.challenge, self.negotiate_flags = auth_level, challenge, flags
            self.session, self.auth_failed = None, False
        self.resend(reply, call_id)

    def bind_reply(self, data: bytes) -> tuple[bytes, dict[int, str], int, bytes, int]:
        """bind_ack / alter_context_resp (or bind_nak), and what it changes on the connection."""
        header = rpcrt.MSRPCHeader(data)
        keep = (self.auth_level, self.challenge, self.negotiate_flags)
        if self.scenario.bind_nak is not None:
            return self.bind_nak(header["call_id"], self.scenario.bind_nak), {}, *keep
        if header["auth_len"] and rpcrt.SEC_TRAILER(header["sec_trailer"])["auth_type"] in KERBEROS_AUTHN:
            # The fake holds no key for its service principal: it refuses the AP-REQ as a Windows host
            # does a ticket it cannot decrypt (bind_nak reason 9, invalid checksum).
            return self.bind_nak(header["call_id"], 9), {}, *keep
        bind = rpcrt.MSRPCBind(header["pduData"])
        kind = rpcrt.MSRPC_BINDACK if header["type"] == rpcrt.MSRPC_BIND else rpcrt.MSRPC_ALTERCTX_R
        # An alter_context_resp names no secondary address; a bind_ack names the port, NUL-terminated.
        address = str(self.server.port).encode() + b"\x00" if kind == rpcrt.MSRPC_BINDACK else b""
        body = bytearray(
            struct.pack(
                "<HHLH",
                bind["max_tfrag"],
                bind["max_rfrag"],
                bind["assoc_group"] or self.server.assoc_group,
                len(address),
            )
            + address
        )
        body += b"\x00" * ((4 - (16 + len(body)) % 4) % 4)
        results, raw, contexts = [], bind["ctx_items"], {}
        for _ in range(bind["ctx_num"]):
            item = rpcrt.CtxItem(raw)
            raw = raw[len(item) :]
            name = IFACES.get(item["AbstractSyntax"][:16])
            if item["TransferSyntax"][:8] == BIND_TIME_FEATURES:
                # Acknowledge: security context multiplexing and keep connection on orphan.
                results.append(struct.pack("<HH", 3, item["TransferSyntax"][8] & 0x03) + b"\x00" * 20)
            elif name:
                contexts[item["ContextID"]] = name
                results.append(struct.pack("<HH", 0, 0) + item["TransferSyntax"])
            else:  # provider rejection: abstract syntax not supported
                results.append(struct.pack("<HH", 2, 1) + b"\x00" * 20)
        body += struct.pack("<BBH", len(results), 0, 0) + b"".join(results)
        auth_level, challenge, flags = keep
        auth = b""
        if header["auth_len"]:
            trailer = rpcrt.SEC_TRAILER(header["sec_trailer"])
            auth_level = trailer["auth_level"]
            negotiate = ntlm.NTLMAuthNegotiate()
            negotiate.fromString(header["auth_data"])
            challenge = self.server.challenge if self.scenario.reuse_replies else generate()[:8]
            message = ntlm_challenge(negotiate["flags"], self.scenario.computer, challenge)
            flags = message["flags"]
            auth = message.getData()
            body += struct.pack("<BBBBL", trailer["auth_type"], auth_level, 0, 0, trailer["auth_ctx_id"]) + auth
        pdu = struct.pack(
            "<BBBB4sHHL", 5, 0, kind, PFC_FIRST_LAST, b"\x10\x00\x00\x00", 16 + len(body), len(auth), header["call_id"]
        ) + bytes(body)
        return pdu, contexts, auth_level, challenge, flags

    def bind_nak(self, call_id: int, reason: int) -> bytes:
        nak = rpcrt.MSRPCHeader()
        nak["type"] = rpcrt.MSRPC_BINDNAK
        nak["flags"] = PFC_FIRST_LAST
        nak["call_id"] = call_id
        body = rpcrt.MSRPCBindNak()
        body["RejectedReason"] = reason
        body["SupportedVersions"] = b"\x01\x05\x00"  # one version: 5.0
        nak["pduData"] = body.getData()
        return self.encode(nak)

    @staticmethod
    def encode(pdu: rpcrt.MSRPCHeader) -> bytes:
        data = bytearray(pdu.get_packet())
        struct.pack_into("<H", data, 8, len(data))  # frag_length: impacket leaves it to the sender
        return bytes(data)

    def auth3(self, data: bytes) -> None:
        """Check the NTLMv2 proof against the account's password, as the server's LSA would, and derive
        the session keys from it. An AUTH3 is never answered, whatever its outcome."""
        auth_len = struct.unpack_from("<H", data, 10)[0]
        message = data[len(data) - auth_len :]

        def field(offset: int) -> bytes:  # an NTLM AUTHENTICATE_MESSAGE payload field (len, max, offset)
            length, _, start = struct.unpack_from("<HHL", message, offset)
            return message[start : start + length]

        nt_response = field(20)
        domain, user = field(28).decode("utf-16le"), field(36).decode("utf-16le")
        password = self.scenario.accounts.get(user.lower())
        self.session = None
        if password is None or len(nt_response) <= 24:
            self.auth_failed = True
            return
        key = self.server.response_key(user, password, domain)
        proof = ntlm.hmac_md5(key, self.challenge + nt_response[16:])
        self.auth_failed = proof != nt_response[:16]
        if self.auth_failed:
            return
        flags = self.negotiate_flags
        exported = base_key = ntlm.hmac_md5(key, proof)
        if flags & ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH:
            exported = ARC4.new(base_key).decrypt(field(52))
        self.session = _Session(flags, exported)

    def request(self, data: bytes) -> None:
        call_id, auth_len = struct.unpack_from("<L", data, 12)[0], struct.unpack_from("<H", data, 10)[0]
        ctx_id, opnum = struct.unpack_from("<HH", data, 20)
        has_object = bool(data[3] & rpcrt.PFC_OBJECT_UUID)
        body_at = 24 + (16 if has_object else 0)
        if self.auth_failed:
            self.fault(call_id, ctx_id, RPC_S_ACCESS_DENIED)
            return
        authenticated = self.auth_level >= rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY
        stub = data[body_at:]
        auth_ctx_id = 0
        if authenticated:
            if not auth_len or self.session is None:
                self.fault(call_id, ctx_id, RPC_S_ACCESS_DENIED)  # unsigned call on a signed connection
                return
            auth_ctx_id = struct.unpack_from("<L", data, len(data) - auth_len - 4)[0]
            if self.scenario.verify_signatures:
                verified = self.session.verify(data, body_at, self.auth_level)
                if verified is None:
                    self.fault(call_id, ctx_id, RPC_S_ACCESS_DENIED)  # the verifier does not match
                    return
                stub = verified
        iface = self.server.objects.get(data[24:40]) if has_object else self.contexts.get(ctx_id)
        if iface is None:
            self.fault(call_id, ctx_id, NCA_S_UNK_IF)  # an IPID this server never exported
            return
        method = METHODS.get((iface, opnum))
        if method is None:
            self.fault(call_id, ctx_id, NCA_S_OP_RNG_ERROR)
            return
        if method in self.scenario.stall:
            return
        status = self.scenario.faults.get(method)
        if status is None and authenticated:
            status = self.scenario.authenticated_faults.get(method)
        if status is None and not authenticated and method == "ServerAlive2" and self.scenario.restrict_anonymous:
            status = RPC_S_ACCESS_DENIED
        if status is None and method == "RemoteCreateInstance" and self.scenario.launch_denied:
            status = RPC_S_ACCESS_DENIED
        if status is not None:
            self.fault(call_id, ctx_id, status)
            return
        reusable = self.scenario.reuse_replies and method != "Next"
        reply = self.server.replies.get(method) if reusable else None
        if reply is None:
            body = HANDLERS[method](self, stub)
            header = struct.pack(
                "<BBBB4sHHLLHBB",
                5,
                0,
                rpcrt.MSRPC_RESPONSE,
                PFC_FIRST_LAST,
                b"\x10\x00\x00\x00",
                0,
                0,
                call_id,
                len(body),
                ctx_id,
                0,
                0,
            )
            pdu = bytearray(header + body)
            if authenticated and self.session is not None and not self.scenario.reuse_replies:
                reply = self.session.protect(pdu, self.auth_level, auth_ctx_id, 24)
            else:
                struct.pack_into("<H", pdu, 8, len(pdu))
                reply = bytes(pdu)
            if reusable:
                self.server.replies[method] = reply
        data_out = bytearray(reply)
        struct.pack_into("<L", data_out, 12, call_id)
        struct.pack_into("<H", data_out, 20, ctx_id)
        if method in self.scenario.trickle:
            for byte in bytes(data_out):
                self.sock.sendall(bytes([byte]))
                time.sleep(self.scenario.trickle_gap)
            return
        self.sock.sendall(data_out)

    def fault(self, call_id: int, ctx_id: int, status: int) -> None:
        body = struct.pack("<LHBBLL", 0, ctx_id, 0, 0, status, 0)  # alloc_hint, context, cancel count, status
        header = struct.pack(
            "<BBBB4sHHL",
            5,
            0,
            rpcrt.MSRPC_FAULT,
            PFC_FIRST_LAST | PFC_DID_NOT_EXECUTE,
            b"\x10\x00\x00\x00",
            16 + len(body),
            0,
            call_id,
        )
        self.sock.sendall(header + body)

    # --- the calls ------------------------------------------------------------------------------
    @property
    def sealed(self) -> bool:
        return self.auth_level >= rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY

    def server_alive2(self, stub: bytes) -> bytes:
        reply = dcomrt.ServerAlive2Response()
        reply["pComVersion"]["MajorVersion"], reply["pComVersion"]["MinorVersion"] = 5, 7
        reply["ppdsaOrBindings"] = dual_string_array(
            [(TOWER_TCP, self.scenario.computer)] + [(TOWER_TCP, a) for a in self.scenario.addresses]
        )
        reply["pReserved"] = NULL
        reply["ErrorCode"] = 0
        return reply.getData()

    def remote_create_instance(self, stub: bytes) -> bytes:
        reply = dcomrt.RemoteCreateInstanceResponse()
        reply["ORPCthat"]["flags"], reply["ORPCthat"]["extensions"] = 1, NULL  # as a real reply carries it
        if self.scenario.activation_error:
            reply["ppActProperties"] = NULL
            reply["ErrorCode"] = self.scenario.activation_error
            return reply.getData()
        port = self.scenario.advertised_port or self.server.port
        towers = [
            (TOWER_NP, f"\\\\{self.scenario.computer}"),  # listed first by Server 2016 and later
            (TOWER_TCP, f"{self.scenario.computer}[{port}]"),
        ]
        towers += [(TOWER_TCP, f"{address}[{port}]") for address in self.scenario.addresses]
        blob = activation_blob(towers, self.server.objref_standard(wmi.IID_IWbemLevel1Login))
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
        if not status:
            request = wmi.IWbemLevel1Login_NTLMLogin(stub)
            namespace = request["wszNetworkResource"].rstrip("\x00").replace("/", "\\").lstrip("\\.").lower()
            if namespace not in {n.lower() for n in self.scenario.namespaces}:
                status = 0x8004100E  # WBEM_E_INVALID_NAMESPACE
        return self.interface_reply(
            wmi.IWbemLevel1Login_NTLMLoginResponse(), "ppNamespace", wmi.IID_IWbemServices, status
        )

    def exec_query(self, stub: bytes) -> bytes:
        wmi.IWbemServices_ExecQuery(stub)  # a request that does not decode fails the test here
        status = self.scenario.exec_error
        if not status and self.scenario.encryption_required and not self.sealed:
            status = WBEM_E_ACCESS_DENIED  # the namespace requires encryption (target event 5605)
        return self.interface_reply(
            wmi.IWbemServices_ExecQueryResponse(), "ppEnum", wmi.IID_IEnumWbemClassObject, status
        )

    def interface_reply(self, reply: dcomrt.DCOMANSWER, field_name: str, iid: bytes, status: int) -> bytes:
        reply["ORPCthat"]["flags"], reply["ORPCthat"]["extensions"] = 0, NULL
        if status:
            reply[field_name] = NULL
        else:
            data = self.server.objref_standard(iid)
            reply[field_name]["ulCntData"] = len(data)
            reply[field_name]["abData"] = list(data)
        reply["ErrorCode"] = status
        return reply.getData()

    def enum_next(self, stub: bytes) -> bytes:
        request = wmi.IEnumWbemClassObject_Next(stub)
        reply = wmi.IEnumWbemClassObject_NextResponse()
        reply["ORPCthat"]["flags"], reply["ORPCthat"]["extensions"] = 0, NULL
        wait = request["lTimeout"] / 1000 if request["lTimeout"] >= 0 else float("inf")
        if self.scenario.provider_delay > wait:
            time.sleep(wait)
            reply["puReturned"], reply["ErrorCode"] = 0, WBEM_S_TIMEDOUT
            return reply.getData()
        time.sleep(self.scenario.provider_delay)
        if self.scenario.query_error:
            reply["puReturned"], reply["ErrorCode"] = 0, self.scenario.query_error
            return reply.getData()
        custom = dcomrt.OBJREF_CUSTOM()
        custom["iid"] = wmi.IID_IWbemClassObject[:-4]
        custom["clsid"] = wmi.CLSID_WbemClassObject
        custom["pObjectData"] = encode_instance("Win32_OperatingSystem", self.scenario.row, self.scenario.computer)
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
    "ServerAlive2": _Connection.server_alive2,
    "RemoteCreateInstance": _Connection.remote_create_instance,
    "NTLMLogin": _Connection.ntlm_login,
    "ExecQuery": _Connection.exec_query,
    "Next": _Connection.enum_next,
}


def dual_string_array(towers: list[tuple[int, str]]) -> dcomrt.DUALSTRINGARRAY:
    """String bindings (tower id, address), then the security bindings a Windows host lists, as USHORTs."""
    raw = b"".join(struct.pack("<H", tower) + (a + "\x00").encode("utf-16le") for tower, a in towers) + b"\x00\x00"
    security_offset = len(raw) // 2
    raw += b"".join(struct.pack("<HH", service, 0xFFFF) + b"\x00\x00" for service in SECURITY_BINDINGS) + b"\x00\x00"
    dsa = dcomrt.DUALSTRINGARRAY()
    dsa["wNumEntries"] = len(raw) // 2
    dsa["wSecurityOffset"] = security_offset
    dsa["aStringArray"] = list(struct.unpack(f"<{len(raw) // 2}H", raw))
    return dsa


def objref_standard(iid: bytes, ipid: bytes) -> bytes:
    ref = dcomrt.OBJREF_STANDARD()
    ref["iid"] = iid[:16]
    ref["std"]["flags"] = dcomrt.SORF_NOPING
    ref["std"]["cPublicRefs"] = 5
    ref["std"]["oxid"] = 0x1122334455667788
    ref["std"]["oid"] = 0x0102030405060708
    ref["std"]["ipid"] = ipid
    ref["saResAddr"] = b"\x00\x00\x00\x00"  # an empty DUALSTRINGARRAY
    return ref.getData()


def activation_blob(bindings: list[tuple[int, str]], interface: bytes) -> bytes:
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
        self.binds: dict[tuple[int, bytes], tuple[bytes, dict[int, str], int, bytes, int]] = {}
        self.replies: dict[str, bytes] = {}
        self.challenge = generate()[:8]  # farm mode: one server challenge per listener
        self._keys: dict[tuple[str, str], bytes] = {}
        self.objects: dict[bytes, str] = {}  # IPID -> interface, for every object this host exported
        self.assoc_group = int.from_bytes(generate()[:4], "little") & 0xFFFFFF or 1

    def objref_standard(self, iid: bytes) -> bytes:
        """An OBJREF_STANDARD for a new object of interface `iid`, remembered by its IPID."""
        ipid = generate()
        self.objects[ipid] = IFACES[iid[:16]]
        return objref_standard(iid, ipid)

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
