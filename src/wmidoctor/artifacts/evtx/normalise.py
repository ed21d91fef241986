"""Turn one decoded record (the `evtx` package's JSON, or an XML element) into an `Event`.

Both forms land on the same strings: numbers and booleans as XML writes them, CR LF as LF (an XML
parser normalises line ends, so the JSON form does the same), unnamed insertion strings as
`param1..paramN`, and UserData wrapper children by their element names.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element

from wmidoctor.artifacts.evtx.event import Event

SYSMON = "Microsoft-Windows-Sysmon"
# Sysmon 19/20/21 (WMI filter, consumer, binding) copy WMI's own MOF rendering of each value: a leading
# space, surrounding double quotes and MOF escapes (`\\` for a backslash, `\"` for a quote).
SYSMON_WMI_EVENTS = frozenset({19, 20, 21})
SYSMON_WMI_FIELDS = ("Name", "EventNamespace", "Query", "Type", "Destination", "Consumer", "Filter")
_MOF_ESCAPE = re.compile(r"\\(.)", re.S)
_MOF_CHARS = {"n": "\n", "t": "\t", "r": "\r"}


def mof_unquote(value: str) -> str:
    """` "root\\\\cimv2"` -> `root\\cimv2`: a MOF string literal as its plain text (other text only trimmed)."""
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return _MOF_ESCAPE.sub(lambda m: _MOF_CHARS.get(m.group(1), m.group(1)), text[1:-1])
    return text


def clean_sysmon_wmi(provider: str, event_id: int, fields: dict[str, str]) -> dict[str, str]:
    """Sysmon's WMI events with plain values (no stray spaces, quotes or doubled backslashes); others unchanged.
    Applying it twice changes nothing (a cleaned value no longer carries the surrounding quotes)."""
    if provider != SYSMON or event_id not in SYSMON_WMI_EVENTS:
        return fields
    for name in SYSMON_WMI_FIELDS:
        if name in fields:
            fields[name] = mof_unquote(fields[name])
    return fields


def iso_utc(text: str) -> str:
    """'2022-06-08T23:46:23.8945818Z' (or '... UTC', or no fraction) -> '2022-06-08T23:46:23.894581Z'."""
    if len(text) == 27 and text[19] == "." and text[26] == "Z":  # already so (the evtx package's SystemTime)
        return text
    text = text.strip().removesuffix(" UTC").rstrip("Z")
    base, _, fraction = text.partition(".")
    return f"{base[:19]}.{(fraction + '000000')[:6]}Z" if base else ""


def _text(value: Any) -> str:
    if type(value) is str:  # nearly every value: the exact type test first
        return value.replace("\r\n", "\n") if "\r" in value else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    if isinstance(value, dict):
        return _text(value.get("#text"))
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    return str(value)


def _int(value: Any, default: int = 0) -> int:
    if type(value) is int:
        return value
    if isinstance(value, dict):
        value = value.get("#text")
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _attrs(value: Any) -> dict[str, Any]:
    return value.get("#attributes") or {} if isinstance(value, dict) else {}


def field_texts(values: dict[str, Any]) -> dict[str, str]:
    """Named values as strings, without the element's own attributes (`values` is the caller's to change). Most
    values already are strings without a CR: only the others are converted, and one join (in C) looks for a CR
    in all of them."""
    values.pop("#attributes", None)
    try:
        joined = "".join(values.values())
    except TypeError:  # numbers, nulls, nested text
        for name, value in values.items():
            if type(value) is not str:
                values[name] = _text(value)
        joined = "".join(values.values())
    if "\r" in joined:
        return {name: value.replace("\r\n", "\n") for name, value in values.items()}
    return values


def _json_fields(event: dict[str, Any]) -> dict[str, str]:
    data = event.get("EventData")
    if isinstance(data, dict):
        if not isinstance(data.get("Data"), dict):
            return field_texts(data)
        fields: dict[str, str] = {}
        for name, value in data.items():
            if name == "#attributes":
                continue
            if name == "Data" and isinstance(value, dict):  # unnamed inserts: a string or a list under #text
                texts = value.get("#text")
                texts = texts if isinstance(texts, list) else [texts]
                if texts != [""] and texts != [None]:
                    fields.update((f"param{i}", _text(t)) for i, t in enumerate(texts, 1))
            else:
                fields[name] = _text(value)
        return fields
    user_data = event.get("UserData")
    if isinstance(user_data, dict):
        for wrapper in user_data.values():
            if isinstance(wrapper, dict):
                return field_texts(wrapper)
    return {}


def from_json(record: dict[str, Any], locator: str) -> Event | None:
    """Normalise the `evtx` package's JSON form; None when the record has no System block. The record's data
    dict becomes the event's fields: pass a record you do not keep."""
    event = record.get("Event")
    if not isinstance(event, dict) or not isinstance(system := event.get("System"), dict):
        return None
    return _usual(event, system, locator) or _any(event, system, locator)


def _usual(event: dict[str, Any], system: dict[str, Any], locator: str) -> Event | None:
    """The System block as the `evtx` package nearly always writes it, read by direct lookups; None when any
    part is laid out otherwise (`_any` reads every layout)."""
    try:
        provider = system["Provider"]["#attributes"]["Name"]
        stamp = system["TimeCreated"]["#attributes"]["SystemTime"]
        channel, computer = system["Channel"], system["Computer"]
        record_id, event_id, level = system["EventRecordID"], system["EventID"], system.get("Level")
    except (KeyError, TypeError):
        return None
    if type(event_id) is dict:  # classic events: {"#attributes": {"Qualifiers": ...}, "#text": id}
        event_id = event_id.get("#text")
    plain = type(provider) is type(stamp) is type(channel) is type(computer) is str
    if not plain or "\r" in computer or type(record_id) is not int or type(event_id) is not int:
        return None
    if level is not None and type(level) is not int:
        return None
    fields = clean_sysmon_wmi(provider, event_id, _json_fields(event))
    return Event(
        channel, provider, event_id, record_id, iso_utc(stamp), computer, level, fields, f"{locator}#record {record_id}"
    )


def _any(event: dict[str, Any], system: dict[str, Any], locator: str) -> Event:
    get = system.get
    record_id = _int(get("EventRecordID"))
    provider = _text(_attrs(get("Provider")).get("Name"))
    event_id = _int(get("EventID"), -1)
    level = get("Level")
    return Event(
        _text(get("Channel")),
        provider,
        event_id,
        record_id,
        iso_utc(_text(_attrs(get("TimeCreated")).get("SystemTime"))),
        _text(get("Computer")),
        None if level is None else _int(level, -1),
        clean_sysmon_wmi(provider, event_id, _json_fields(event)),
        f"{locator}#record {record_id}",
    )


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(parent: Element | None, name: str) -> Element | None:
    if parent is None:
        return None
    for child in parent:
        if _local(child.tag) == name:
            return child
    return None


def _element_text(element: Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _data_text(element: Element, unnamed: bool = False) -> str:
    """Text of a Data element exactly as written; an unnamed one holding only line-break-and-indent
    reads as '' (the `evtx` package's XML writes empty unnamed inserts that way)."""
    text = element.text or ""
    return "" if unnamed and "\n" in text and not text.strip() else text


def _xml_fields(root: Element) -> dict[str, str]:
    event_data = _child(root, "EventData")
    if event_data is not None:
        fields: dict[str, str] = {}
        unnamed = 0
        for item in event_data:
            name = item.get("Name")
            if name:
                fields[name] = _data_text(item)
            elif _local(item.tag) == "Data":
                unnamed += 1
                fields[f"param{unnamed}"] = _data_text(item, unnamed=True)
            else:  # Binary and friends
                fields[_local(item.tag)] = _data_text(item)
        if unnamed == 1 and fields.get("param1") == "" and len(fields) <= 2:
            del fields["param1"]  # one empty <Data/> is how classic events say "no inserts"
        return fields
    user_data = _child(root, "UserData")
    if user_data is not None:
        for wrapper in user_data:
            return {_local(child.tag): _data_text(child) for child in wrapper}
    return {}


def from_element(root: Element, locator: str) -> Event | None:
    """Normalise an <Event> element of an XML export; None when it has no System block."""
    system = _child(root, "System")
    if system is None:
        return None
    provider = _child(system, "Provider")
    created = _child(system, "TimeCreated")
    level_text = _element_text(_child(system, "Level"))
    record_id = _int(_element_text(_child(system, "EventRecordID")))
    provider_name = provider.get("Name", "") if provider is not None else ""
    event_id = _int(_element_text(_child(system, "EventID")), -1)
    return Event(
        channel=_element_text(_child(system, "Channel")),
        provider=provider_name,
        event_id=event_id,
        record_id=record_id,
        time=iso_utc(created.get("SystemTime", "") if created is not None else ""),
        computer=_element_text(_child(system, "Computer")),
        level=_int(level_text, -1) if level_text else None,
        fields=clean_sysmon_wmi(provider_name, event_id, _xml_fields(root)),
        source=f"{locator}#record {record_id}",
    )
