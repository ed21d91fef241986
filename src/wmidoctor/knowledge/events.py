"""Event publishers that matter for WMI, by the names their records carry (facts the event checks and the
log reader share). Each publisher's manifest name and its classic event source name are both listed: .evtx
records carry the first, XML and SIEM exports of classic logs often the second.
https://learn.microsoft.com/en-us/windows/win32/wmisdk/tracing-wmi-activity (WMI-Activity),
https://learn.microsoft.com/en-us/windows/win32/com/distributed-com-events (DCOM)."""

from __future__ import annotations

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
