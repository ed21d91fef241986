"""Which events matter for WMI, decided as cheaply as possible.

`wanted(provider, event_id)` runs on every record before it is decoded, so it is a set lookup.
Service Control Manager events pass that first gate by id range and are kept only when the service
they name is one WMI depends on (`names_wmi_service`, which needs the decoded fields).
"""

from __future__ import annotations

from wmidoctor.knowledge.events import (
    WANTED_EVENTS,
    WHOLE_PROVIDERS,
)

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
    return provider in WHOLE_PROVIDERS or (provider, event_id) in WANTED_EVENTS


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
