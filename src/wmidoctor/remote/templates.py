"""The probe's fixed DCOM/WMI requests as precomputed bytes, and `struct` readers for the few fields the
probe needs from the replies.

The requests never change from one host to the next except for the call id (the ORPCTHIS `cid`, a
GUID chosen per call) and Next's time-out, so each is encoded once by impacket and patched per call;
impacket's generic NDR packing and parsing cost more CPU than the rest of a deep walk together (a
RemoteCreateInstance built and read by impacket: ~4.5 ms). Every reader returns None on anything it does
not expect (an ORPC extension, an odd pointer, a short buffer), and the caller then reads the reply with
impacket, so a host that answers unusually gets the slow path, not a wrong answer.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from struct import error as struct_error
from struct import pack_into, unpack_from

_MARK_CID = b"\xc1" * 16
_MARK_TIMEOUT = 0x7E5A7E5A
OBJREF_IPID_AT = 48  # 'MEOW', flags, iid, then STDOBJREF flags, cPublicRefs, oxid, oid: the IPID
TYPE_SERIALIZATION_HEADERS = 16  # common header (8) and private header (8) of a serialized property


@dataclass(frozen=True)
class Template:
    opnum: int
    stub: bytes
    cid_at: int
    timeout_at: int = -1

    def render(self, timeout_ms: int | None = None) -> bytes:
        data = bytearray(self.stub)
        data[self.cid_at : self.cid_at + 16] = os.urandom(16)
        if timeout_ms is not None:
            pack_into("<l", data, self.timeout_at, timeout_ms)
        return bytes(data)


_cache: dict[tuple, Template] = {}
_lock = threading.Lock()


def _orpcthis():
    from impacket.dcerpc.v5 import dcomrt
    from impacket.dcerpc.v5.dtypes import NULL

    orpcthis = dcomrt.ORPCTHIS()
    orpcthis["cid"] = _MARK_CID
    orpcthis["extensions"] = NULL
    orpcthis["flags"] = 0
    return orpcthis


def _template(key: tuple, build) -> Template:
    found = _cache.get(key)
    if found is None:
        with _lock:
            found = _cache.get(key)
            if found is None:
                opnum, stub = build()
                at = stub.find(_MARK_CID)
                assert at >= 0 and stub.find(_MARK_CID, at + 1) < 0, "the call id must appear once"
                timeout_at = stub.find(_MARK_TIMEOUT.to_bytes(4, "little"))
                found = _cache[key] = Template(opnum, stub, at, timeout_at)
    return found


def remote_create_instance() -> Template:
    """IRemoteSCMActivator::RemoteCreateInstance of CLSID_WbemLevel1Login for IWbemLevel1Login, as
    impacket's DCOM client encodes it."""

    def build() -> tuple[int, bytes]:
        from impacket.dcerpc.v5 import dcomrt
        from impacket.dcerpc.v5.dcom import wmi

        class Capture:
            """Stands for the connection: keeps the request impacket builds and stops there."""

            def bind(self, *args: object, **kwargs: object) -> None:
                pass

            def request(self, request, uuid=None, checkError=True):
                self.request_made = request
                raise _Captured

        capture = Capture()
        with contextlib.suppress(_Captured):
            dcomrt.IRemoteSCMActivator(capture).RemoteCreateInstance(
                wmi.CLSID_WbemLevel1Login, wmi.IID_IWbemLevel1Login
            )
        request = capture.request_made
        request["ORPCthis"]["cid"] = _MARK_CID
        return request.opnum, request.getData()

    return _template(("RemoteCreateInstance",), build)


class _Captured(Exception):
    pass


def ntlm_login(resource: str) -> Template:
    def build() -> tuple[int, bytes]:
        from impacket.dcerpc.v5.dcom import wmi
        from impacket.dcerpc.v5.dtypes import NULL

        request = wmi.IWbemLevel1Login_NTLMLogin()
        request["ORPCthis"] = _orpcthis()
        request["wszNetworkResource"] = resource + "\x00"
        request["wszPreferredLocale"] = NULL
        request["lFlags"] = 0
        request["pCtx"] = NULL
        return request.opnum, request.getData()

    return _template(("NTLMLogin", resource), build)


def exec_query(query: str) -> Template:
    """Semisynchronous ExecQuery (return immediately, forward only), as PowerShell and .NET call it."""

    def build() -> tuple[int, bytes]:
        from impacket.dcerpc.v5.dcom import wmi
        from impacket.dcerpc.v5.dtypes import NULL

        request = wmi.IWbemServices_ExecQuery()
        request["ORPCthis"] = _orpcthis()
        request["strQueryLanguage"]["asData"] = "WQL"
        request["strQuery"]["asData"] = query
        request["lFlags"] = wmi.WBEM_FLAG_FORWARD_ONLY | wmi.WBEM_FLAG_RETURN_IMMEDIATELY
        request["pCtx"] = NULL
        return request.opnum, request.getData()

    return _template(("ExecQuery", query), build)


def enum_next() -> Template:
    """IEnumWbemClassObject::Next for one object; render(timeout_ms) sets lTimeout."""

    def build() -> tuple[int, bytes]:
        from impacket.dcerpc.v5.dcom import wmi

        request = wmi.IEnumWbemClassObject_Next()
        request["ORPCthis"] = _orpcthis()
        request["lTimeout"] = _MARK_TIMEOUT
        request["uCount"] = 1
        return request.opnum, request.getData()

    return _template(("Next",), build)


# --- replies --------------------------------------------------------------------------------------


def error_code(stub: bytes) -> int:
    """The ErrorCode every DCOM reply ends with."""
    return unpack_from("<L", stub, len(stub) - 4)[0]


def _dual_string_array(data: bytes, at: int) -> list[tuple[int, str]] | None:
    """(tower id, address) of each string binding of a conformant DUALSTRINGARRAY at `at`."""
    count, entries, security = unpack_from("<LHH", data, at)
    if count != entries or security > entries:
        return None
    raw = data[at + 8 : at + 8 + 2 * security]
    found = []
    pos = 0
    while pos + 2 <= len(raw):
        tower = unpack_from("<H", raw, pos)[0]
        if tower == 0:
            break
        end = pos + 2
        while end + 2 <= len(raw) and raw[end : end + 2] != b"\x00\x00":
            end += 2
        found.append((tower, raw[pos + 2 : end].decode("utf-16le")))
        pos = end + 2
    return found


def read_server_alive2(stub: bytes) -> tuple[tuple[int, int], list[tuple[int, str]]] | None:
    """COM version and string bindings of a ServerAlive2 reply."""
    try:
        major, minor, pointer = unpack_from("<HHL", stub, 0)
        if not pointer:
            return None
        bindings = _dual_string_array(stub, 8)
        return ((major, minor), bindings) if bindings is not None else None
    except (struct_error, UnicodeDecodeError):
        return None


def _no_extensions(stub: bytes) -> bool:
    """ORPCTHAT: flags, then a null extensions pointer (anything else is left to impacket)."""
    return unpack_from("<L", stub, 4)[0] == 0


def read_interface_ipid(stub: bytes) -> bytes | None:
    """The IPID of the interface a reply hands back (NTLMLogin's namespace, ExecQuery's enumerator)."""
    try:
        if not _no_extensions(stub) or not unpack_from("<L", stub, 8)[0]:
            return None
        size, count = unpack_from("<LL", stub, 12)
        objref = stub[20 : 20 + size]
        if size != count or objref[:4] != b"MEOW" or unpack_from("<L", objref, 4)[0] != 1:
            return None
        return objref[OBJREF_IPID_AT : OBJREF_IPID_AT + 16]
    except struct_error:
        return None


@dataclass
class Activation:
    ipid: bytes  # of IWbemLevel1Login
    ipid_rem_unknown: bytes
    bindings: list[tuple[int, str]]  # the OXID's string bindings: (tower id, address)
    authn_hint: int


def read_activation(stub: bytes) -> Activation | None:
    """The RemoteCreateInstance reply's interface IPID and OXID bindings ([MS-DCOM] 2.2.22)."""
    try:
        if not _no_extensions(stub) or not unpack_from("<L", stub, 8)[0]:
            return None
        size, count = unpack_from("<LL", stub, 12)
        objref = stub[20 : 20 + size]
        if size != count or objref[:4] != b"MEOW" or unpack_from("<L", objref, 4)[0] != 4:  # OBJREF_CUSTOM
            return None
        blob = objref[48:]
        header_size = unpack_from("<L", blob, 8 + TYPE_SERIALIZATION_HEADERS + 4)[0]
        classes = unpack_from("<L", blob, 72)[0]
        sizes_at = 76 + 16 * classes
        if unpack_from("<L", blob, sizes_at)[0] != classes or classes < 2:
            return None
        clsids = [blob[76 + 16 * i : 92 + 16 * i] for i in range(classes)]
        sizes = unpack_from(f"<{classes}L", blob, sizes_at + 4)
        starts = [8 + header_size + sum(sizes[:i]) for i in range(classes)]
        from impacket.dcerpc.v5 import dcomrt

        props = starts[clsids.index(dcomrt.CLSID_PropsOutInfo)] + TYPE_SERIALIZATION_HEADERS
        scm = starts[clsids.index(dcomrt.CLSID_ScmReplyInfo)] + TYPE_SERIALIZATION_HEADERS
        interfaces = unpack_from("<L", blob, props)[0]
        if interfaces != 1:
            return None
        at = props + 16 + 4 + 16 + 4 + 4 + 4 + 4  # cIfs and 3 pointers; piid, phresults, ppIntfData arrays
        if unpack_from("<L", blob, props + 16 + 4 + 16 + 4)[0] != 0:  # the interface's HRESULT
            return None
        size, count = unpack_from("<LL", blob, at)
        interface = blob[at + 8 : at + 8 + size]
        if size != count or interface[:4] != b"MEOW":
            return None
        ipid_rem_unknown = blob[scm + 8 + 8 + 4 : scm + 8 + 8 + 4 + 16]
        authn_hint = unpack_from("<L", blob, scm + 36)[0]
        bindings = _dual_string_array(blob, scm + 44)
        if bindings is None:
            return None
        return Activation(interface[OBJREF_IPID_AT : OBJREF_IPID_AT + 16], ipid_rem_unknown, bindings, authn_hint)
    except (struct_error, ValueError, UnicodeDecodeError):
        return None


def read_next(stub: bytes) -> tuple[int, int, bytes | None] | None:
    """(ErrorCode, objects returned, the first object's OBJREF) of an IEnumWbemClassObject::Next reply."""
    try:
        if not _no_extensions(stub):
            return None
        status = error_code(stub)
        returned = unpack_from("<L", stub, len(stub) - 8)[0]
        _, offset, actual = unpack_from("<LLL", stub, 8)
        if offset != 0 or actual != returned:
            return None
        if not actual:
            return status, 0, None
        at = 20 + 4 * actual  # past the array of pointers: the first referent
        size, count = unpack_from("<LL", stub, at)
        if size != count:
            return None
        return status, returned, stub[at + 8 : at + 8 + size]
    except struct_error:
        return None
