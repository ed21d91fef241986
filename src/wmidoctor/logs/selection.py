"""Which events matter for WMI, decided as cheaply as possible.

`wanted(provider, event_id)` runs on every record before it is decoded, so it is a set lookup.
Service Control Manager events pass that first gate by id range and are kept only when the service
they name is one WMI depends on (`names_wmi_service`, which needs the decoded fields).
"""

from __future__ import annotations

from wmidoctor.knowledge.events import (
    DCOM,
    DCOM_SOURCE,
    PERFLIB,
    PERFLIB_SOURCE,
    SCM,
    SECURITY,
    SYSMON,
    WINMGMT_SOURCE,
    WMI_ACTIVITY,
    WMI_ADAPTER,
    WMI_ADAPTER_SOURCE,
    WMI_CORE,
)

ACTIVITY_IDS = frozenset({5857, 5858, 5859, 5860, 5861, 11, 12})
DCOM_IDS = frozenset({10005, 10006, 10009, 10010, 10016, 10028, 10036, 10037, 10038})
SCM_IDS = frozenset(range(7000, 7046))
# Counter libraries that failed to open, collect or load (their performance classes go missing or blank).
PERFLIB_IDS = frozenset({1008, 1009, 1010, 1011, 1017, 1022, 1023, 2003})
SYSMON_WMI_IDS = frozenset({19, 20, 21})  # WmiEventFilter / WmiEventConsumer / WmiEventConsumerToFilter
# Events read only to know which process had an id when (client attribution), not reported as groups:
# process creation and process exit.
PROCESS_STARTS = frozenset({(SYSMON, 1), (SECURITY, 4688)})
PROCESS_NAMING = PROCESS_STARTS | {(SYSMON, 5), (SECURITY, 4689)}
# Events read only for the WMI traces (logs.traces: who logged on over the network), never grouped.
TRACE_ONLY = frozenset({(SECURITY, 4624)})

_FIXED = (
    {(WMI_ACTIVITY, i) for i in ACTIVITY_IDS}
    | {(DCOM, i) for i in DCOM_IDS} | {(DCOM_SOURCE, i) for i in DCOM_IDS}
    | {(SCM, i) for i in SCM_IDS}
    | {(SYSMON, i) for i in SYSMON_WMI_IDS}
    | {(PERFLIB, i) for i in PERFLIB_IDS} | {(PERFLIB_SOURCE, i) for i in PERFLIB_IDS}
    | PROCESS_NAMING | TRACE_ONLY
)
_WHOLE_PROVIDERS = frozenset({WMI_CORE, WINMGMT_SOURCE, WMI_ADAPTER, WMI_ADAPTER_SOURCE})

# Services WMI needs or that carry it: key name -> English display name.
WMI_SERVICES = {
    "Winmgmt": "Windows Management Instrumentation",
    "RpcSs": "Remote Procedure Call (RPC)",
    "DcomLaunch": "DCOM Server Process Launcher",
    "RpcEptMapper": "RPC Endpoint Mapper",
    "wmiApSrv": "WMI Performance Adapter",
    "WinRM": "Windows Remote Management (WS-Management)",
}
# Either spelling, lower-cased -> the key name.
_SERVICE_NAMES = {k.lower(): k for k in WMI_SERVICES} | {v.lower(): k for k, v in WMI_SERVICES.items()}
# SCM fields that hold a service name, depending on the event (7009/7011 put it second; 7040 adds
# the key name as param4; 7045 names it ServiceName).
_SERVICE_FIELDS = ("param1", "param2", "param4", "ServiceName")


def wanted(provider: str, event_id: int) -> bool:
    """Decode this record? (True for every WinMgmt and WMI adapter event and the fixed WMI-related ids.)"""
    return provider in _WHOLE_PROVIDERS or (provider, event_id) in _FIXED


def service_key_from_binary(hex_text: str) -> str:
    """SCM events carry the service key name as UTF-16LE hex in Binary (locale-independent)."""
    try:
        return bytes.fromhex(hex_text).decode("utf-16-le").rstrip("\x00")
    except ValueError:
        return ""


def scm_service(fields: dict[str, str]) -> str:
    """The key name of the WMI-related service an SCM event names, or '' when it names none."""
    names = [service_key_from_binary(fields.get("Binary", ""))]
    names += [fields.get(name, "") for name in _SERVICE_FIELDS]
    for name in names:
        key = _SERVICE_NAMES.get(name.strip().lower())
        if key:
            return key
    return ""
