"""Access-mask bits and their names, per kind of secured object.

COM (DCOM launch/access permissions and machine limits): the COM_RIGHTS_* bits of objidl.h.
WMI namespaces: the WBEM_SECURITY_FLAGS bits of wbemcli.h plus the standard READ_CONTROL / WRITE_DAC.
Bits a kind does not define are named by the standard and generic access rights, else in hex.
"""

from __future__ import annotations

COM = "com"
NAMESPACE = "namespace"

COM_RIGHTS_EXECUTE = 0x1
COM_RIGHTS_EXECUTE_LOCAL = 0x2
COM_RIGHTS_EXECUTE_REMOTE = 0x4
COM_RIGHTS_ACTIVATE_LOCAL = 0x8
COM_RIGHTS_ACTIVATE_REMOTE = 0x10

WBEM_ENABLE = 0x1
WBEM_METHOD_EXECUTE = 0x2
WBEM_FULL_WRITE_REP = 0x4
WBEM_PARTIAL_WRITE_REP = 0x8
WBEM_WRITE_PROVIDER = 0x10
WBEM_REMOTE_ACCESS = 0x20
WBEM_RIGHT_SUBSCRIBE = 0x40
WBEM_RIGHT_PUBLISH = 0x80

DELETE = 0x10000
READ_CONTROL = 0x20000
WRITE_DAC = 0x40000
WRITE_OWNER = 0x80000
SYNCHRONIZE = 0x100000
ACCESS_SYSTEM_SECURITY = 0x1000000
GENERIC_ALL = 0x10000000
GENERIC_EXECUTE = 0x20000000
GENERIC_WRITE = 0x40000000
GENERIC_READ = 0x80000000

STANDARD_RIGHTS: dict[int, str] = {
    DELETE: "delete",
    READ_CONTROL: "read-control",
    WRITE_DAC: "write-dac",
    WRITE_OWNER: "write-owner",
    SYNCHRONIZE: "synchronize",
    ACCESS_SYSTEM_SECURITY: "access-system-security",
    GENERIC_ALL: "generic-all",
    GENERIC_EXECUTE: "generic-execute",
    GENERIC_WRITE: "generic-write",
    GENERIC_READ: "generic-read",
}

COM_RIGHTS: dict[int, str] = {
    COM_RIGHTS_EXECUTE: "execute",
    COM_RIGHTS_EXECUTE_LOCAL: "execute-local",
    COM_RIGHTS_EXECUTE_REMOTE: "execute-remote",
    COM_RIGHTS_ACTIVATE_LOCAL: "activate-local",
    COM_RIGHTS_ACTIVATE_REMOTE: "activate-remote",
}

NAMESPACE_RIGHTS: dict[int, str] = {
    WBEM_ENABLE: "enable",
    WBEM_METHOD_EXECUTE: "method-execute",
    WBEM_FULL_WRITE_REP: "full-write",
    WBEM_PARTIAL_WRITE_REP: "partial-write",
    WBEM_WRITE_PROVIDER: "provider-write",
    WBEM_REMOTE_ACCESS: "remote-enable",
    WBEM_RIGHT_SUBSCRIBE: "subscribe",
    WBEM_RIGHT_PUBLISH: "publish",
    READ_CONTROL: "read-security",
    WRITE_DAC: "edit-security",
}

RIGHTS_BY_KIND: dict[str, dict[int, str]] = {COM: COM_RIGHTS, NAMESPACE: NAMESPACE_RIGHTS}


def rights_names(mask: int, kind: str | None = None) -> list[str]:
    """Names of the bits set in `mask`, lowest bit first; `kind` is COM, NAMESPACE or None."""
    table = {**STANDARD_RIGHTS, **RIGHTS_BY_KIND.get(kind or "", {})}
    names = []
    for bit in range(32):
        value = 1 << bit
        if mask & value:
            names.append(table.get(value, f"0x{value:x}"))
    return names
