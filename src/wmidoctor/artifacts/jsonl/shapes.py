"""Recognise the shape of one exported event record and read it into the `Event` model.

Each shape reads the record's header (channel, provider, event id, time, computer, record number) for
every record - enough to count it - and its named data fields only when the event is selected. Field
names are those the sources document:

- nxlog: NXLog `im_msvistalog` output (OTRF/Mordor data sets, many data-lake exports): System values
  under NXLog's names (`EventID`, `SourceName`, `Channel`, `Hostname`, `EventTime`, `RecordNumber`),
  EventData flattened beside them (https://docs.nxlog.co/refman/current/im/msvistalog.html).
- winlogbeat: Elastic Winlogbeat / ECS documents: `winlog.channel`, `winlog.provider_name`,
  `winlog.event_id`, `winlog.computer_name`, `winlog.record_id`, `winlog.event_data.*`,
  `winlog.user_data.*`, `@timestamp` (https://www.elastic.co/guide/en/beats/winlogbeat/current/
  exported-fields-winlog.html); also inside an Elasticsearch hit (`_source`).
- splunk: Splunk search exports (`{"result": {...}}` per line, or the bare result) whose `_raw` is the
  event XML (`XmlWinEventLog`) or the classic `WinEventLog` text (`LogName=`, `EventCode=`, ... `Message=`);
  `_time` places it (https://docs.splunk.com/Documentation/Splunk/latest/Search/Exportsearchresults).
- sentinel-event, sentinel-securityevent, sentinel-windowsevent: Azure Monitor Log Analytics `Event`,
  `SecurityEvent` and `WindowsEvent` rows (`TimeGenerated`, `Computer`, `EventID`, `EventLog`/`Source`,
  `Channel`/`EventSourceName` or `Channel`/`Provider`, and the data as XML in `EventData`, or as an object
  in WindowsEvent's) (https://learn.microsoft.com/azure/azure-monitor/reference/tables/event,
  .../tables/securityevent, .../tables/windowsevent).
- winlogbeat also covers Winlogbeat 5.x/6.x documents (`log_name`, `source_name`, `event_id`, ...).
- evtx-json: the JSON the `evtx` package and evtx_dump write for .evtx records (`Event.System`, ...).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from wmidoctor.artifacts.evtx import normalise
from wmidoctor.artifacts.jsonl.messages import TEMPLATE_IDS, activity_fields
from wmidoctor.artifacts.jsonl.times import HostClocks, utc_text

WMI_ACTIVITY = "Microsoft-Windows-WMI-Activity"


@dataclass(slots=True)
class Head:
    """What counting a record needs; the rest of the Event is read only for selected records."""

    channel: str
    provider: str
    event_id: int
    time: str
    computer: str = ""
    record_id: int = 0
    level: int | None = None


class NotAnEvent(ValueError):
    """The record has the shape's markers but not an event in it (no event id, broken embedded XML)."""


# --- value helpers ---------------------------------------------------------------------------------


def text(value: Any) -> str:
    """A field value as the XML rendering of the record would show it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def number(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def event_id(value: Any) -> int:
    found = number(value, -1)
    if found < 0:
        raise NotAnEvent("no event id")
    return found & 0xFFFF  # classic ids written with their qualifier bits


_LEVEL_WORDS = {
    "critical": 1,
    "error": 2,
    "warning": 3,
    "information": 4,
    "info": 4,
    "verbose": 5,
    "audit_success": 0,
    "audit_failure": 0,
    "audit success": 0,
    "audit failure": 0,
}


def level_of(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return number(value)
    return _LEVEL_WORDS.get(str(value).strip().lower())


def data_xml_fields(xml_text: str) -> dict[str, str]:
    """Fields of an EventData/UserData XML fragment (Sentinel's `EventData` column, Splunk's event XML)."""
    try:
        root = fromstring(xml_text)
    except (ParseError, DefusedXmlException):
        return {}
    holder = root if normalise._local(root.tag) == "DataItem" else Element("wrapper")
    if holder is not root:
        holder.append(root)
    return normalise._xml_fields(holder)


# Channels named after their publisher (the Windows convention "Publisher/Type"); classic logs need a table.
_SECURITY_EVENTLOG_IDS = frozenset({1100, 1101, 1102, 1104, 1105, 1108})


def provider_from_channel(channel: str, number_: int) -> str:
    """The publisher when an export names only the channel (some data-lake exports drop it)."""
    if channel.lower() == "security":
        return (
            "Microsoft-Windows-Eventlog" if number_ in _SECURITY_EVENTLOG_IDS else "Microsoft-Windows-Security-Auditing"
        )
    publisher, slash, _ = channel.partition("/")
    return publisher if slash and publisher.startswith("Microsoft-Windows-") else ""


# --- nxlog -----------------------------------------------------------------------------------------

# NXLog's own fields (System values, resolved account, receipt) and those Logstash/Beats shippers add.
NXLOG_META = frozenset(
    {
        "EventTime",
        "EventReceivedTime",
        "Hostname",
        "Keywords",
        "EventType",
        "SeverityValue",
        "Severity",
        "EventID",
        "SourceName",
        "ProviderGuid",
        "Version",
        "Task",
        "OpcodeValue",
        "Opcode",
        "RecordNumber",
        "ActivityID",
        "RelatedActivityID",
        "ExecutionProcessID",
        "ThreadID",
        "Channel",
        "Domain",
        "AccountName",
        "UserID",
        "AccountType",
        "Category",
        "Message",
        "SourceModuleName",
        "SourceModuleType",
        "TimeCreated",
        "ERRORCODE",
        "Qualifiers",
        "Level",
        "@timestamp",
        "@version",
        "host",
        "port",
        "tags",
        "type",
        "log",
        "agent",
        "ecs",
        "input",
        "fields",
        "beat",
    }
)


class NxLog:
    name = "nxlog"

    @staticmethod
    def matches(record: dict[str, Any]) -> bool:
        return "EventID" in record and ("Channel" in record or "SourceName" in record)

    @staticmethod
    def local_time(record: dict[str, Any]) -> Any:
        return record.get("EventTime") or record.get("TimeCreated")

    @staticmethod
    def learn(record: dict[str, Any], clocks: HostClocks) -> None:
        utc_time = record.get("UtcTime")  # Sysmon's own UTC time of the record, written without a zone
        if isinstance(utc_time, str) and str(record.get("Channel", "")).endswith("Sysmon/Operational"):
            anchor: Any = utc_time + "Z"
        else:
            anchor = record.get("@timestamp")
        clocks.learn(text(record.get("Hostname")), NxLog.local_time(record), anchor)

    @staticmethod
    def head(record: dict[str, Any], clocks: HostClocks) -> Head:
        computer = text(record.get("Hostname"))
        if computer not in clocks.offsets:
            NxLog.learn(record, clocks)
        channel = text(record.get("Channel"))
        number_ = event_id(record.get("EventID"))
        provider = text(record.get("SourceName")) or provider_from_channel(channel, number_)
        return Head(
            channel,
            provider,
            number_,
            clocks.utc(computer, NxLog.local_time(record)),
            computer,
            number(record.get("RecordNumber")),
            level_of(record.get("EventType")),
        )

    @staticmethod
    def fields(record: dict[str, Any], head: Head) -> dict[str, str]:
        # ProcessID is the publishing process when NXLog writes no ExecutionProcessID beside ThreadID (older
        # versions); without ThreadID it is the event's own ProcessID field.
        execution_pid = "ExecutionProcessID" not in record and "ThreadID" in record
        fields = {
            name: text(value)
            for name, value in record.items()
            if name not in NXLOG_META and not (execution_pid and name == "ProcessID")
        }
        return _with_message_fields(head, fields, record.get("Message"))


def _with_message_fields(head: Head, fields: dict[str, str], message: Any) -> dict[str, str]:
    """Add the UserData values a WMI-Activity record keeps only in its rendered message."""
    if head.provider == WMI_ACTIVITY and head.event_id in TEMPLATE_IDS and isinstance(message, str):
        recovered = activity_fields(head.event_id, message)
        return {**fields, **recovered} if recovered else fields
    return fields


# --- winlogbeat (ECS) ------------------------------------------------------------------------------


def _member(record: dict[str, Any], name: str) -> dict[str, Any]:
    """The JSON object under `name`, empty when it is missing or not an object."""
    value = record.get(name)
    return value if isinstance(value, dict) else {}


def _unflatten(record: dict[str, Any]) -> dict[str, Any]:
    """{'winlog.channel': x} -> {'winlog': {'channel': x}} (exports that flatten ECS names)."""
    nested: dict[str, Any] = {}
    for key, value in record.items():
        target = nested
        *parents, last = key.split(".")
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        if isinstance(value, dict) and isinstance(target.get(last), dict):
            target[last].update(value)
        else:
            target[last] = value
    return nested


# Winlogbeat 5.x/6.x field -> its 7.x `winlog.*` name (the aliases Winlogbeat itself documents).
_LEGACY_WINLOG = {
    "log_name": "channel",
    "source_name": "provider_name",
    "event_id": "event_id",
    "computer_name": "computer_name",
    "record_number": "record_id",
    "event_data": "event_data",
    "user_data": "user_data",
    "level": "level",
}


class Winlogbeat:
    name = "winlogbeat"

    @staticmethod
    def matches(record: dict[str, Any]) -> bool:
        return (
            isinstance(record.get("winlog"), dict)
            or "winlog.event_id" in record
            or "winlog.channel" in record
            or ("log_name" in record and "event_id" in record)
        )

    @staticmethod
    def prepare(record: dict[str, Any]) -> dict[str, Any]:
        if "winlog" not in record and "log_name" in record:  # Winlogbeat before 7 (no ECS): top-level names
            return {**record, "winlog": {new: record[old] for old, new in _LEGACY_WINLOG.items() if old in record}}
        return (
            record
            if isinstance(record.get("winlog"), dict) and not any("." in k for k in record)
            else _unflatten(record)
        )

    @staticmethod
    def head(record: dict[str, Any], clocks: HostClocks) -> Head:
        winlog, event, host, log = (_member(record, name) for name in ("winlog", "event", "host", "log"))
        channel = text(winlog.get("channel"))
        number_ = event_id(winlog.get("event_id", event.get("code")))
        provider = text(winlog.get("provider_name") or event.get("provider")) or provider_from_channel(channel, number_)
        stamp = record.get("@timestamp") or event.get("created")
        return Head(
            channel,
            provider,
            number_,
            utc_text(stamp),
            text(winlog.get("computer_name") or host.get("name") or host.get("hostname")),
            number(winlog.get("record_id")),
            level_of(log.get("level") or winlog.get("level")),
        )

    @staticmethod
    def fields(record: dict[str, Any], head: Head) -> dict[str, str]:
        winlog = _member(record, "winlog")
        data = winlog.get("event_data")
        if not isinstance(data, dict):
            data = winlog.get("user_data")
        fields = (
            {name: text(value) for name, value in data.items() if name != "xml_name"} if isinstance(data, dict) else {}
        )
        return _with_message_fields(head, fields, record.get("message"))


# --- splunk ----------------------------------------------------------------------------------------

_CLASSIC_HEADER = ("LogName", "EventCode", "SourceName", "ComputerName", "RecordNumber", "Type")


def _classic_raw(raw: str) -> tuple[dict[str, str], str]:
    """Classic WinEventLog text: its 'Key=value' header lines and the message after 'Message='."""
    header: dict[str, str] = {}
    head, found, message = raw.partition("\nMessage=")
    for line in head.splitlines():
        key, equals, value = line.partition("=")
        if equals:
            header[key.strip()] = value.strip()
    return header, message if found else ""


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


class Splunk:
    name = "splunk"

    @staticmethod
    def matches(record: dict[str, Any]) -> bool:
        return "_raw" in record or ("_time" in record and ("EventCode" in record or "sourcetype" in record))

    @staticmethod
    def prepare(record: dict[str, Any]) -> dict[str, Any]:
        raw = _first(record.get("_raw"))
        if isinstance(raw, str) and raw.lstrip().startswith("<"):
            try:
                element = fromstring(raw.strip())
            except (ParseError, DefusedXmlException) as exc:
                raise NotAnEvent(f"_raw is not well-formed event XML ({exc})") from None
            return {**record, "__xml": element}
        if isinstance(raw, str) and "EventCode=" in raw:
            header, message = _classic_raw(raw)
            return {**record, "__classic": header, "__message": message}
        return record

    @staticmethod
    def head(record: dict[str, Any], clocks: HostClocks) -> Head:
        element = record.get("__xml")
        if element is not None:
            event = normalise.from_element(element, "")
            if event is None:
                raise NotAnEvent("_raw XML has no <System> block")
            record["__event"] = event
            return Head(
                event.channel,
                event.provider,
                event.event_id,
                utc_text(record.get("_time")) if not event.time else event.time,
                event.computer or text(_first(record.get("host"))),
                event.record_id,
                event.level,
            )
        classic = record.get("__classic") or {}

        def value(name: str) -> Any:
            return classic.get(name) or _first(record.get(name))

        channel = text(value("LogName"))
        if not channel:
            source = text(_first(record.get("source")))
            channel = source.partition(":")[2] if ":" in source else ""
        number_ = event_id(value("EventCode") or value("EventID"))
        provider = text(value("SourceName")) or provider_from_channel(channel, number_)
        return Head(
            channel,
            provider,
            number_,
            utc_text(_first(record.get("_time"))),
            text(value("ComputerName") or _first(record.get("host"))),
            number(value("RecordNumber")),
            level_of(value("Type")),
        )

    @staticmethod
    def fields(record: dict[str, Any], head: Head) -> dict[str, str]:
        event = record.get("__event")
        if event is not None:
            decoded: dict[str, str] = event.fields
            return decoded
        return _with_message_fields(head, {}, record.get("__message") or _first(record.get("Message")))


# --- sentinel / log analytics ----------------------------------------------------------------------

SENTINEL_META = frozenset(
    {
        "TenantId",
        "TimeGenerated",
        "SourceSystem",
        "Computer",
        "EventID",
        "Activity",
        "Channel",
        "EventSourceName",
        "Level",
        "EventData",
        "Type",
        "_ResourceId",
        "_SubscriptionId",
        "_BilledSize",
        "_IsBillable",
        "ManagementGroupName",
        "MG",
        "AzureDeploymentID",
        "Role",
        "EventOriginId",
        "EventLevel",
        "EventLevelName",
        "EventLog",
        "Source",
        "UserName",
        "RenderedDescription",
        "ParameterXml",
        "EventCategory",
        "Task",
        "Keywords",
        "Opcode",
        "Version",
        "SourceComputerId",
        "AccountType",
        "Account",
    }
)


class Sentinel:
    """Both Log Analytics tables: `Event` (any channel) and `SecurityEvent` (the Security channel)."""

    @staticmethod
    def head(record: dict[str, Any], clocks: HostClocks) -> Head:
        channel = text(record.get("EventLog") or record.get("Channel"))
        number_ = event_id(record.get("EventID"))
        provider = text(record.get("Source") or record.get("EventSourceName")) or provider_from_channel(
            channel, number_
        )
        return Head(
            channel,
            provider,
            number_,
            utc_text(record.get("TimeGenerated")),
            text(record.get("Computer")),
            number(record.get("EventRecordId") or record.get("EventRecordID")),
            level_of(record.get("EventLevel", record.get("Level"))),
        )

    @staticmethod
    def fields(record: dict[str, Any], head: Head) -> dict[str, str]:
        data = record.get("EventData")
        fields = data_xml_fields(data) if isinstance(data, str) and data.strip().startswith("<") else {}
        if not fields and record.get("Type") == "SecurityEvent":  # columns hold the data when the XML is absent
            fields = {k: text(v) for k, v in record.items() if k not in SENTINEL_META and v not in (None, "")}
        return _with_message_fields(head, fields, record.get("RenderedDescription"))


class SentinelWindowsEvent:
    """The `WindowsEvent` table (Azure Monitor Agent, Windows Event Forwarding): EventData already parsed
    into an object (a JSON string in some exports); the raw XML in RawEventData when parsing failed."""

    name = "sentinel-windowsevent"

    @staticmethod
    def matches(record: dict[str, Any]) -> bool:
        return record.get("Type") == "WindowsEvent" or (
            "Provider" in record and "EventRecordId" in record and "TimeGenerated" in record
        )

    @staticmethod
    def head(record: dict[str, Any], clocks: HostClocks) -> Head:
        channel = text(record.get("Channel"))
        number_ = event_id(record.get("EventID"))
        return Head(
            channel,
            text(record.get("Provider")) or provider_from_channel(channel, number_),
            number_,
            utc_text(record.get("TimeGenerated")),
            text(record.get("Computer")),
            number(record.get("EventRecordId")),
            level_of(record.get("EventLevel")),
        )

    @staticmethod
    def fields(record: dict[str, Any], head: Head) -> dict[str, str]:
        data = record.get("EventData")
        if isinstance(data, str) and data.strip().startswith("{"):
            try:
                data = json.loads(data)
            except ValueError:
                data = None
        if isinstance(data, dict):
            return {name: text(value) for name, value in data.items()}
        raw = record.get("RawEventData") or data
        return data_xml_fields(raw) if isinstance(raw, str) and raw.strip().startswith("<") else {}


class SentinelEvent(Sentinel):
    name = "sentinel-event"

    @staticmethod
    def matches(record: dict[str, Any]) -> bool:
        return record.get("Type") == "Event" or ("EventLog" in record and "TimeGenerated" in record)


class SentinelSecurityEvent(Sentinel):
    name = "sentinel-securityevent"

    @staticmethod
    def matches(record: dict[str, Any]) -> bool:
        return record.get("Type") == "SecurityEvent" or ("EventSourceName" in record and "TimeGenerated" in record)


# --- evtx-json -------------------------------------------------------------------------------------


class EvtxJson:
    name = "evtx-json"

    @staticmethod
    def matches(record: dict[str, Any]) -> bool:
        event = record.get("Event")
        return isinstance(event, dict) and isinstance(event.get("System"), dict)

    @staticmethod
    def head(record: dict[str, Any], clocks: HostClocks) -> Head:
        event = normalise.from_json(record, "")
        if event is None or event.event_id < 0:
            raise NotAnEvent("Event.System has no event id")
        record["__event"] = event
        return Head(
            event.channel, event.provider, event.event_id, event.time, event.computer, event.record_id, event.level
        )

    @staticmethod
    def fields(record: dict[str, Any], head: Head) -> dict[str, str]:
        decoded: dict[str, str] = record["__event"].fields
        return decoded


class Shape:
    """One shape's reading functions, as the reader calls them."""

    def __init__(
        self,
        name: str,
        matches: Callable[[dict[str, Any]], bool],
        head: Callable[[dict[str, Any], HostClocks], Head],
        fields: Callable[[dict[str, Any], Head], dict[str, str]],
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.name, self.matches, self.head, self.fields = name, matches, head, fields
        self.prepare = prepare or (lambda record: record)


def _shape(kind: Any) -> Shape:
    return Shape(kind.name, kind.matches, kind.head, kind.fields, getattr(kind, "prepare", None))


# Most specific markers first: a Splunk result or an ECS document may also carry an EventID field.
ORDER = tuple(
    _shape(k) for k in (Winlogbeat, EvtxJson, Splunk, SentinelWindowsEvent, SentinelSecurityEvent, SentinelEvent, NxLog)
)
_WRAPPERS = ("result", "_source")  # Splunk export lines, Elasticsearch hits


def unwrap(record: dict[str, Any]) -> dict[str, Any]:
    for key in _WRAPPERS:
        inner = record.get(key)
        if isinstance(inner, dict):
            return inner
    return record


# Keys that mark a record as some other shape than NXLog's (which has no marker of its own).
_OTHER_SHAPES = frozenset(
    {"winlog", "winlog.event_id", "winlog.channel", "log_name", "Event", "_raw", "_time", "TimeGenerated"}
)
_NXLOG = ORDER[-1]


def detect(record: dict[str, Any]) -> Shape | None:
    """The shape of one (unwrapped) record; None when no known shape fits."""
    if "EventID" in record and _OTHER_SHAPES.isdisjoint(record) and ("Channel" in record or "SourceName" in record):
        return _NXLOG  # the common case first, decided at once
    for shape in ORDER:
        if shape.matches(record):
            return shape
    return None
