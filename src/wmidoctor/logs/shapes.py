"""How each WMI-related event is read: its kind, names for positional inserts, and its grouping key.

Events of one id are counted in groups that share the salient fields (the key); everything that varies
from one record to the next (process ids of hosts, timestamps, counters) stays out of the key and is
only seen in the group's example. Classic events (WinMgmt, DCOM, SCM) carry unnamed inserts
`param1..N`; they get the names their message templates give them here, so a reader sees `CLSID`
rather than `param4`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wmidoctor.knowledge.events import (
    DCOM,
    DCOM_SOURCE,
    PERFLIB,
    PERFLIB_SOURCE,
    SCM,
    SYSMON,
    WINMGMT_SOURCE,
    WMI_ACTIVITY,
    WMI_ADAPTER,
    WMI_ADAPTER_SOURCE,
    WMI_CORE,
)
from wmidoctor.logs.selection import scm_service


@dataclass(frozen=True)
class Shape:
    kind: str
    names: tuple[str, ...] = ()  # names for param1, param2, ... in order
    key: tuple[str, ...] | None = None  # None: every field except the volatile ones


# Fields that differ per record and would split groups into singletons.
VOLATILE = frozenset(
    {
        "UtcTime",
        "RuleName",
        "ProcessID",
        "ProcessId",
        "Processid",
        "processid",
        "HostId",
        "Value",
        "Id",
        "CorrelationId",
        "GroupOperationId",
        "OperationId",
        "ClientProcessCreationTime",
        "Binary",
        "queryid",
    }
)

ACTIVITY = {
    5857: Shape("provider-started", key=("ProviderName", "Code", "HostProcess", "ProviderPath")),
    5858: Shape(
        "client-failure",
        key=("ResultCode", "Namespace", "Method", "Target", "ClientProcessId", "ClientMachine", "User"),
    ),
    5859: Shape("event-query-activated", key=("NamespaceName", "Query", "Provider", "providerName", "PossibleCause")),
    5860: Shape("temporary-subscription", key=("NamespaceName", "Query", "User", "ClientMachine", "MachineName")),
    5861: Shape("permanent-binding", key=("Namespace", "ESS", "CONSUMER")),
    11: Shape("trace-operation", key=("NamespaceName", "Operation", "ClientProcessId", "ClientMachine", "User")),
    12: Shape("trace-provider", key=("ProviderName", "ProviderGuid", "Path")),
}

WINMGMT = {
    4: Shape("mof-not-loaded-at-recovery", ("Error", "MOF")),
    10: Shape("filter-not-reactivated", ("Namespace", "Query", "Error")),
    21: Shape("invalid-provider-query", ("Provider", "Query")),
    22: Shape("undeterminable-provider-query", ("Provider", "Query", "Namespace")),
    23: Shape("provider-query-too-broad", ("Provider", "Query", "Namespace")),
    24: Shape("provider-query-class-missing", ("Provider", "Query", "Class", "Namespace")),
    25: Shape("provider-query-not-event-class", ("Provider", "Query", "Class")),
    28: Shape("core-failure", ("Error",)),
    29: Shape("service-init-failure", ("Error",)),
    43: Shape("adap-connection-failure", ("Namespace", "Error")),
    48: Shape("adap-class-not-saved", ("Object", "Namespace", "Error")),
    58: Shape("adap-win32perf-not-created", ("Namespace", "Error")),
    59: Shape("adap-win32perfrawdata-not-created", ("Namespace",)),
    63: Shape("localsystem-provider", ("Provider", "Namespace")),
    68: Shape("backup-failed", ("BackupFile", "Error")),
    5600: Shape("repository-rebuilt"),
    5601: Shape("repository-failed-to-start"),
    5605: Shape("encryption-required-denied", ("Namespace",)),
    5606: Shape("encryption-required-async-denied", ("Namespace",)),
    5612: Shape(
        "quota-kill", ("Quota", "Value", "Maximum", "ProcessId", "Providers"), key=("Quota", "Maximum", "Providers")
    ),
    5611: Shape("unclean-shutdown-detected"),
    5614: Shape("repository-files-missing"),
    5615: Shape("service-started"),
    5616: Shape("repository-recreated"),
    5617: Shape("subsystems-initialised"),
    5631: Shape("interop-class-overwritten", ("Class",)),
}

_HARDENED_CLIENT = ("Application", "ProcessId", "CLSID", "Computer", "AuthenticationLevel")

DCOM_SHAPES = {
    10005: Shape("dcom-service-start-failed", ("Error", "Service", "Arguments", "CLSID")),
    10006: Shape("dcom-remote-activation-error", ("Error", "Computer", "Server")),
    10009: Shape("dcom-unreachable", ("Computer", "ProcessId", "Image")),
    10010: Shape("dcom-server-not-registered", ("Server",)),
    10016: Shape(
        "dcom-permission",
        (
            "Scope",
            "Locality",
            "Permission",
            "CLSID",
            "AppID",
            "UserDomain",
            "UserName",
            "UserSid",
            "Address",
            "PackageName",
            "PackageSid",
        ),
        key=("Permission", "Locality", "Scope", "CLSID", "AppID", "UserDomain", "UserName", "UserSid", "PackageSid"),
    ),  # a sandboxed app's refusals apart from its user's own
    10028: Shape("dcom-unreachable", ("Computer", "ProcessId", "Image")),
    # KB5004442 hardening: the server names the rejected user and the client's address; a client names the
    # application (its process id varies), the class, the target computer and the level it asked for.
    10036: Shape("dcom-hardening-server-rejected", ("UserDomain", "UserName", "UserSid", "Address")),
    10037: Shape(
        "dcom-hardening-client-rejected",
        _HARDENED_CLIENT,
        key=("Application", "CLSID", "Computer", "AuthenticationLevel"),
    ),
    10038: Shape(
        "dcom-hardening-client-rejected",
        _HARDENED_CLIENT,
        key=("Application", "CLSID", "Computer", "AuthenticationLevel"),
    ),
}

# Counter-library failures: the service whose Performance key names the library, and the library file.
_SERVICE_LIBRARY = ("Service", "Library")
PERFLIB_SHAPES = {
    1008: Shape("perflib-open-failed", _SERVICE_LIBRARY),
    1009: Shape("perflib-open-exception", _SERVICE_LIBRARY),
    1010: Shape("perflib-collect-failed", _SERVICE_LIBRARY),
    1011: Shape("perflib-library-not-found", _SERVICE_LIBRARY),
    1017: Shape("perflib-collection-disabled"),
    1022: Shape("perflib-wrong-bitness"),
    1023: Shape("perflib-library-not-loaded", ("Library",)),
    2003: Shape("perflib-library-not-trusted"),
}

SYSMON_SHAPES = {
    19: Shape("sysmon-wmi-filter"),
    20: Shape("sysmon-wmi-consumer"),
    21: Shape("sysmon-wmi-binding"),
}

_OPERATION = re.compile(
    r"^(?:Start\s+)?(?:IWbemServices::)?(?P<method>[\w:]+)\s+-\s+(?P<ns>[^:]*?)\s*:\s*(?P<target>.*)$", re.S
)


def split_operation(operation: str) -> tuple[str, str, str]:
    """'Start IWbemServices::ExecQuery - root\\cimv2 : SELECT ...' -> ('ExecQuery', 'root\\cimv2', 'SELECT ...')."""
    match = _OPERATION.match(operation.strip())
    if not match:
        return "", "", operation.strip()
    return match["method"], match["ns"], match["target"].strip()


def shape_of(provider: str, event_id: int) -> Shape:
    if provider == WMI_ACTIVITY:
        return ACTIVITY.get(event_id, Shape(f"activity-{event_id}"))
    if provider in (WMI_CORE, WINMGMT_SOURCE):
        return WINMGMT.get(event_id, Shape(f"winmgmt-{event_id}"))
    if provider in (DCOM, DCOM_SOURCE):
        return DCOM_SHAPES.get(event_id, Shape(f"dcom-{event_id}"))
    if provider == SCM:
        return Shape("service")
    if provider in (PERFLIB, PERFLIB_SOURCE):
        return PERFLIB_SHAPES.get(event_id, Shape(f"perflib-{event_id}"))
    if provider in (WMI_ADAPTER, WMI_ADAPTER_SOURCE):
        return Shape(f"wmi-adapter-{event_id}")
    if provider == SYSMON:
        return SYSMON_SHAPES.get(event_id, Shape(f"sysmon-{event_id}"))
    return Shape(f"event-{event_id}")


def named_fields(provider: str, event_id: int, fields: dict[str, str]) -> dict[str, str]:
    """The event's fields under readable names, with derived ones (5858 operation parts, SCM service)."""
    shape = shape_of(provider, event_id)
    named = dict(fields)
    for index, name in enumerate(shape.names, 1):
        if f"param{index}" in named and name not in named:
            named[name] = named.pop(f"param{index}")
    if shape.kind == "client-failure":
        method, namespace, target = split_operation(named.get("Operation", ""))
        named.update(Method=method, Namespace=namespace, Target=target)
        named["ResultCode"] = normalise_code(named.get("ResultCode", ""))
    elif shape.kind == "provider-started":
        named["Code"] = normalise_code(named.get("Code", ""))
    elif shape.kind == "service":
        named["Service"] = scm_service(fields)
    return named


def group_key(shape: Shape, named: dict[str, str]) -> tuple[tuple[str, str], ...]:
    if shape.key is not None:
        return tuple((name, named[name]) for name in shape.key if name in named)
    return tuple((name, value) for name, value in named.items() if name not in VOLATILE)


def normalise_code(text: str) -> str:
    """'0x8004100a' / '2147749890' / '0' -> '0x8004100A' / '0x80041002' / '0x0' (others unchanged)."""
    text = text.strip()
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return text
    return f"0x{value & 0xFFFFFFFF:X}"


def code_value(text: str) -> int | None:
    try:
        return int(text, 16)
    except ValueError:
        return None
