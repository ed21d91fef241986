"""Named fields of WMI-Activity events recovered from their rendered message.

NXLog's `im_msvistalog` (and Splunk's classic `WinEventLog` text) flatten EventData into fields but leave
the UserData block of WMI-Activity 5857-5861 only in the rendered `Message`. The message is a fixed
template of the UserData values ("Id = ...; ClientMachine = ...; ..."), so the values come back under
the names an .evtx record gives them. Templates as Windows renders them (English), seen in the OTRF
exports (github.com/OTRF/Security-Datasets, e.g. covenant_persistwmi: 5857, 5859 and 5861;
covenant_dcom_registerxll: 5858) and in Microsoft's WMI-Activity event documentation
(https://learn.microsoft.com/windows/win32/wmisdk/tracing-wmi-activity).
Separators are matched loosely (';' or ','), because 5859 and 5860 mix them.
"""

from __future__ import annotations

import re

# event id -> (text before the first label, ((label in the message, field name), ...))
_TEMPLATES: dict[int, tuple[str, tuple[tuple[str, str], ...]]] = {
    5857: (
        r"(?P<ProviderName>.*?) provider started with result code (?P<Code>\S+?)\.\s+",
        (("HostProcess", "HostProcess"), ("ProcessID", "ProcessID"), ("ProviderPath", "ProviderPath")),
    ),
    5858: (
        "",
        (
            ("Id", "Id"),
            ("ClientMachine", "ClientMachine"),
            ("User", "User"),
            ("ClientProcessId", "ClientProcessId"),
            ("Component", "Component"),
            ("Operation", "Operation"),
            ("ResultCode", "ResultCode"),
            ("PossibleCause", "PossibleCause"),
        ),
    ),
    5859: (
        "",
        (
            ("Namespace", "NamespaceName"),
            ("NotificationQuery", "Query"),
            ("OwnerName", "User"),
            ("HostProcessID", "Processid"),
            ("Provider", "Provider"),
            ("queryID", "queryid"),
            ("PossibleCause", "PossibleCause"),
        ),
    ),
    5860: (
        "",
        (
            ("Namespace", "NamespaceName"),
            ("NotificationQuery", "Query"),
            ("UserName", "User"),
            ("ClientProcessID", "Processid"),
            ("ClientMachine", "ClientMachine"),
            ("PossibleCause", "PossibleCause"),
        ),
    ),
    5861: (
        "",
        (
            ("Namespace", "Namespace"),
            ("Eventfilter", "ESS"),
            ("Consumer", "CONSUMER"),
            ("PossibleCause", "PossibleCause"),
        ),
    ),
}
_FILTER_NOTE = "(refer to its activate eventid:5859)"  # 5861 appends this to the filter name


def _compile(prefix: str, labels: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    parts = []
    for index, (label, name) in enumerate(labels):
        value = f"(?P<{name}>.*)" if index == len(labels) - 1 else f"(?P<{name}>.*?)"
        separator = "" if index == 0 else r"\s*[;,]\s*"
        parts.append(rf"{separator}{re.escape(label)}\s*=\s?{value}")
    return re.compile("^" + prefix + "".join(parts) + r"\s*$", re.S)


_PATTERNS = {event_id: _compile(prefix, labels) for event_id, (prefix, labels) in _TEMPLATES.items()}
TEMPLATE_IDS = frozenset(_PATTERNS)


def activity_fields(event_id: int, message: str) -> dict[str, str]:
    """The UserData fields of a WMI-Activity event read back from its message; {} when it does not match."""
    pattern = _PATTERNS.get(event_id)
    match = pattern.match(message.replace("\r\n", "\n")) if pattern else None
    if match is None:
        return {}
    fields = {name: value.strip() if name != "PossibleCause" else value for name, value in match.groupdict().items()}
    if "ESS" in fields:
        fields["ESS"] = fields["ESS"].removesuffix(_FILTER_NOTE).strip()
    return fields
