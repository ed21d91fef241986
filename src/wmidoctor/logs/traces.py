"""Fill the Evidence `wmi_traces` section from event records: what the logs saw WMI do, record by record.

`TraceCollector.add` sees every selected event as the log analysis streams it (logs.analysis calls it) and
keeps, within fixed caps, only what the security checks join later: subscription parts (WMI-Activity
5859/5861, Sysmon 19/20/21), processes WMI started or WMIC ran (Sysmon 1, Security 4688), network logons
(Security 4624 type 3) and CIMWin32 provider loads (WMI-Activity 5857). It works the same on .evtx files,
XML exports and any other reader that yields normalised `Event`s.
"""

from __future__ import annotations

import re
from typing import TypedDict

from wmidoctor.artifacts.evtx.event import Event
from wmidoctor.artifacts.evtx.normalise import SYSMON, clean_sysmon_wmi, iso_utc, mof_unquote
from wmidoctor.artifacts.registry.security import SecurityDescriptorError, sid_from_bytes
from wmidoctor.evidence.chains import (
    ACTIVATED,
    BOUND,
    SYSMON_CONSUMER_TYPES,
    NetworkLogon,
    ProcessStart,
    ProviderLoad,
    SubscriptionSighting,
    image_name,
)
from wmidoctor.evidence.model import WmiTraces
from wmidoctor.knowledge.subscriptions import path_class, path_keys

WMI_ACTIVITY = "Microsoft-Windows-WMI-Activity"
SECURITY = "Microsoft-Windows-Security-Auditing"
# Security 4624 (logon) and 4688 (process creation); Sysmon 1 (process creation), 19/20/21 (WMI parts);
# WMI-Activity 5857 (provider load), 5859 (permanent filter activated), 5861 (permanent binding).
TRACE_EVENTS = frozenset(
    {
        (SECURITY, 4624),
        (SECURITY, 4688),
        (SYSMON, 1),
        (SYSMON, 19),
        (SYSMON, 20),
        (SYSMON, 21),
        (WMI_ACTIVITY, 5857),
        (WMI_ACTIVITY, 5859),
        (WMI_ACTIVITY, 5861),
    }
)
# Processes kept: started by a WMI host or by WMIC, or WMIC itself.
WMI_PROCESSES = frozenset({"wmiprvse.exe", "scrcons.exe", "wmic.exe"})
NETWORK_LOGON = "3"
MAX_PER_KIND = 5000  # records kept per kind: memory stays bounded whatever the log holds
MAX_LOGONS = 20_000
OPERATIONS = {"created": "created", "modified": "modified", "deleted": "deleted"}

_INSTANCE = re.compile(r"instance of\s+(\w+)\s*\{(.*?)\n\s*\};", re.S)
_PROPERTY = re.compile(r"^\s*(\w+)\s*=\s*(.*?);\s*$", re.M)
_CONSUMER_REF = re.compile(r'^\s*(\w+)\s*=\s*"?(.*?)"?\s*$', re.S)


class _Seen(TypedDict):
    """Where and when the sightings read from one event were seen."""

    time: str
    host: str
    source: str
    what: str


class _SeenBy(_Seen):
    user: str  # Sysmon names the account that made the change


class _SeenIn(_Seen):
    namespace: str  # WMI-Activity 5861 names the namespace the binding lives in


def wmi_namespace(text: str) -> str:
    """'//./root/subscription' -> 'root\\subscription'."""
    text = text.strip().replace("/", "\\")
    if text.startswith("\\\\"):
        text = text[2:].partition("\\")[2]
    return text


def mof_instances(text: str) -> list[tuple[str, dict[str, str]]]:
    """The `instance of Class { Name = value; ... };` blocks of a MOF rendering (as 5861 carries), with string
    values unescaped and a CreatorSID byte array as its SID string."""
    found = []
    for match in _INSTANCE.finditer(text):
        values: dict[str, str] = {}
        for prop in _PROPERTY.finditer(match.group(2)):
            name, raw = prop.group(1), prop.group(2).strip()
            if raw.startswith("{") and name == "CreatorSID":
                values[name] = _sid(raw)
            else:
                values[name] = mof_unquote(raw)
        found.append((match.group(1), values))
    return found


def _sid(array: str) -> str:
    try:
        return sid_from_bytes(bytes(int(b) for b in array.strip("{}").split(",")))[0]
    except (SecurityDescriptorError, ValueError):
        return ""


def _hex_id(text: str) -> str:
    try:
        return hex(int(text, 16)) if text.lower().startswith("0x") else hex(int(text))
    except ValueError:
        return ""


def _decimal(text: str, base: int = 10) -> str:
    try:
        return str(int(text, base))
    except ValueError:
        return ""


def _data_time(event: Event) -> str:
    """Sysmon's own UtcTime (the record header time can be zero, e.g. 1601-01-01) or the record time."""
    utc = event.fields.get("UtcTime", "")
    return iso_utc(utc.replace(" ", "T")) if utc[:4].isdigit() and utc[:4] > "1601" else event.time


def _account(domain: str, user: str) -> str:
    return f"{domain}\\{user}" if domain and domain != "-" else user


class TraceCollector:
    """Keeps the WMI-relevant records of a stream of events (see module doc); `section()` hands them over."""

    def __init__(self) -> None:
        self.traces = WmiTraces()
        self._logons: dict[tuple[str, str], NetworkLogon] = {}

    def add(self, event: Event) -> None:
        key = (event.provider, event.event_id)
        if key not in TRACE_EVENTS:
            return
        fields = event.fields
        if event.provider == SYSMON:
            if event.event_id == 1:
                self._process(
                    event,
                    fields.get("Image", ""),
                    fields.get("ProcessId", ""),
                    fields.get("ParentImage", ""),
                    fields.get("ParentProcessId", ""),
                    fields.get("User", ""),
                    fields.get("LogonId", ""),
                    "Sysmon 1",
                )
            else:
                self._sysmon_part(event, clean_sysmon_wmi(event.provider, event.event_id, dict(fields)))
        elif event.provider == SECURITY:
            if event.event_id == 4688:
                # the new process's own account is the Target one when it differs from the creator's
                side = "Target" if _hex_id(fields.get("TargetLogonId", "")) not in ("", "0x0") else "Subject"
                own = fields.get(f"{side}LogonId", "")
                user = _account(fields.get(f"{side}DomainName", ""), fields.get(f"{side}UserName", ""))
                self._process(
                    event,
                    fields.get("NewProcessName", ""),
                    _decimal(fields.get("NewProcessId", ""), 16),
                    fields.get("ParentProcessName", ""),
                    _decimal(fields.get("ProcessId", ""), 16),
                    user,
                    own,
                    "Security 4688",
                )
            elif fields.get("LogonType", "").strip() == NETWORK_LOGON:
                logon = NetworkLogon(
                    _account(fields.get("TargetDomainName", ""), fields.get("TargetUserName", "")),
                    _hex_id(fields.get("TargetLogonId", "")),
                    fields.get("IpAddress", "").strip("-"),
                    fields.get("AuthenticationPackageName", ""),
                    event.time,
                    event.computer,
                    event.source,
                )
                self._remember(logon)
        elif event.event_id == 5857:
            if fields.get("ProviderName", "").lower() == "cimwin32":
                self._keep(
                    self.traces.provider_loads,
                    ProviderLoad(
                        fields["ProviderName"],
                        fields.get("ProcessID", ""),
                        fields.get("ProviderPath", ""),
                        event.time,
                        event.computer,
                        event.source,
                    ),
                )
        elif event.event_id == 5861:
            self._binding_5861(event)
        elif fields.get("PossibleCause", "").strip().lower() == "permanent":  # 5859
            self._keep(
                self.traces.sightings,
                SubscriptionSighting(
                    "filter",
                    ACTIVATED,
                    "",
                    query=fields.get("Query", ""),
                    event_namespace=wmi_namespace(fields.get("NamespaceName", "")),
                    user=fields.get("User", ""),
                    time=event.time,
                    host=event.computer,
                    source=event.source,
                    what="WMI-Activity 5859",
                ),
            )

    def merge(self, later: TraceCollector) -> None:
        """Fold in what a collector of later inputs kept, as if it had seen their events after these."""
        for name in ("sightings", "processes", "provider_loads"):
            mine = getattr(self.traces, name)
            mine += getattr(later.traces, name)[: max(MAX_PER_KIND - len(mine), 0)]
        for logon in later._logons.values():
            self._remember(logon)

    def _remember(self, logon: NetworkLogon) -> None:
        """Keep the newest network logons: a busy server logs them by the million (a dict keeps order)."""
        self._logons.pop((logon.host, logon.logon_id), None)
        self._logons[(logon.host, logon.logon_id)] = logon
        if len(self._logons) > MAX_LOGONS:
            del self._logons[next(iter(self._logons))]

    def _keep(self, target: list, item: object) -> None:
        if len(target) < MAX_PER_KIND:
            target.append(item)

    def _process(
        self, event: Event, image: str, pid: str, parent: str, parent_pid: str, user: str, logon_id: str, what: str
    ) -> None:
        if image_name(parent) not in WMI_PROCESSES and image_name(image) != "wmic.exe":
            return
        fields = event.fields
        self._keep(
            self.traces.processes,
            ProcessStart(
                image,
                fields.get("CommandLine", ""),
                pid,
                parent,
                parent_pid,
                fields.get("ParentCommandLine", ""),
                user,
                _hex_id(logon_id),
                fields.get("IntegrityLevel", "") or fields.get("MandatoryLabel", ""),
                _data_time(event),
                event.computer,
                event.source,
                what,
            ),
        )

    def _sysmon_part(self, event: Event, fields: dict[str, str]) -> None:
        operation = OPERATIONS.get(fields.get("Operation", "").strip().lower(), "created")
        common: _SeenBy = {
            "user": fields.get("User", ""),
            "time": _data_time(event),
            "host": event.computer,
            "source": event.source,
            "what": f"Sysmon {event.event_id}",
        }
        if event.event_id == 19:
            part = SubscriptionSighting(
                "filter",
                operation,
                fields.get("Name", ""),
                query=fields.get("Query", ""),
                event_namespace=fields.get("EventNamespace", ""),
                **common,
            )
        elif event.event_id == 20:
            consumer_class = SYSMON_CONSUMER_TYPES.get(fields.get("Type", "").lower(), fields.get("Type", ""))
            payload = {
                "CommandLineEventConsumer": "CommandLineTemplate",
                "ActiveScriptEventConsumer": "ScriptText",
            }.get(consumer_class, "Destination")
            part = SubscriptionSighting(
                "consumer",
                operation,
                fields.get("Name", ""),
                consumer_class=consumer_class,
                properties={payload: fields.get("Destination", "")},
                **common,
            )
        else:
            consumer = fields.get("Consumer", "")
            part = SubscriptionSighting(
                "binding",
                operation,
                path_keys(consumer).get("name", consumer),
                consumer_class=path_class(consumer),
                filter_name=path_keys(fields.get("Filter", "")).get("name", ""),
                **common,
            )
        self._keep(self.traces.sightings, part)

    def _binding_5861(self, event: Event) -> None:
        fields = event.fields
        namespace = wmi_namespace(fields.get("Namespace", ""))
        match = _CONSUMER_REF.match(fields.get("CONSUMER", ""))
        consumer_class, consumer_name = (match.group(1), match.group(2)) if match else ("", fields.get("CONSUMER", ""))
        common: _SeenIn = {
            "time": event.time,
            "host": event.computer,
            "source": event.source,
            "what": "WMI-Activity 5861",
            "namespace": namespace,
        }
        creator = ""
        for class_name, values in mof_instances(fields.get("PossibleCause", "")):
            creator = creator or values.get("CreatorSID", "")
            if class_name == "__EventFilter":
                self._keep(
                    self.traces.sightings,
                    SubscriptionSighting(
                        "filter",
                        BOUND,
                        values.get("Name", fields.get("ESS", "")),
                        query=values.get("Query", ""),
                        event_namespace=values.get("EventNamespace", ""),
                        user=values.get("CreatorSID", ""),
                        **common,
                    ),
                )
            else:
                properties = {k: v for k, v in values.items() if k not in ("Name", "CreatorSID") and v}
                self._keep(
                    self.traces.sightings,
                    SubscriptionSighting(
                        "consumer",
                        BOUND,
                        values.get("Name", consumer_name),
                        consumer_class=class_name,
                        properties=properties,
                        user=values.get("CreatorSID", ""),
                        **common,
                    ),
                )
        self._keep(
            self.traces.sightings,
            SubscriptionSighting(
                "binding",
                BOUND,
                consumer_name,
                consumer_class=consumer_class,
                filter_name=fields.get("ESS", ""),
                user=creator,
                **common,
            ),
        )

    def section(self, source: str = "") -> WmiTraces:
        """The traces as an Evidence section, collected from `source` (the logs read)."""
        if source:
            self.traces.mark_collected(source)
        self.traces.logons = list(self._logons.values())
        return self.traces
