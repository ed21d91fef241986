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

# The events that matter for WMI, per publisher (the log reader's gate and the collector's export filters).
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

# Every (publisher, event id) the log reader decodes, besides every event of WHOLE_PROVIDERS.
WANTED_EVENTS = (
    {(WMI_ACTIVITY, i) for i in ACTIVITY_IDS}
    | {(DCOM, i) for i in DCOM_IDS}
    | {(DCOM_SOURCE, i) for i in DCOM_IDS}
    | {(SCM, i) for i in SCM_IDS}
    | {(SYSMON, i) for i in SYSMON_WMI_IDS}
    | {(PERFLIB, i) for i in PERFLIB_IDS}
    | {(PERFLIB_SOURCE, i) for i in PERFLIB_IDS}
    | PROCESS_NAMING
    | TRACE_ONLY
)
WHOLE_PROVIDERS = frozenset({WMI_CORE, WINMGMT_SOURCE, WMI_ADAPTER, WMI_ADAPTER_SOURCE})

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
