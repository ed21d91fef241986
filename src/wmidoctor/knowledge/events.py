"""Event publishers that matter for WMI, by the names their records carry (facts the event checks and the
log reader share). Each publisher's manifest name and its classic event source name are both listed: .evtx
records carry the first, XML and SIEM exports of classic logs often the second.
https://learn.microsoft.com/en-us/windows/win32/wmisdk/tracing-wmi-activity (WMI-Activity),
https://learn.microsoft.com/en-us/windows/win32/com/distributed-com-events (DCOM)."""

from __future__ import annotations

import re

WMI_ACTIVITY = "Microsoft-Windows-WMI-Activity"
WMI_CORE = "Microsoft-Windows-WMI"  # the Application-log publisher; "WinMgmt" as an event source
WINMGMT_SOURCE = "WinMgmt"
DCOM = "Microsoft-Windows-DistributedCOM"
DCOM_SOURCE = "DCOM"
SCM = "Service Control Manager"
SYSMON = "Microsoft-Windows-Sysmon"
SECURITY = "Microsoft-Windows-Security-Auditing"
# Performance counters, which WMI's adapter (ADAP, wmiApSrv) turns into Win32_Perf* classes: the counter
# library loader (Application log) and the WMI adapter's own publisher, each under its manifest and its
# classic source name.
PERFLIB = "Microsoft-Windows-Perflib"
PERFLIB_SOURCE = "Perflib"
WMI_ADAPTER = "Microsoft-Windows-WMIAdapter"
WMI_ADAPTER_SOURCE = "WMIAdapter"

_FROM = re.compile(r"\bfrom\s+([A-Za-z_]\w*)", re.IGNORECASE)
_LEADING_NAME = re.compile(r"[A-Za-z_]\w*")


def target_class(target: str) -> str:
    """The class a WMI-Activity 5858 target names: after FROM in a query, else the leading name of an object
    path or method (`RSOP_ExtensionStatus.extensionGuid=...`, `MSFT_SmbShare::FireShareChangeEvent`)."""
    target = target.strip()
    if target.lower().startswith("select"):
        match = _FROM.search(target)
        return match.group(1) if match else ""
    match = _LEADING_NAME.match(target)
    return match.group(0) if match else ""
