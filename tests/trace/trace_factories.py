"""WMI-Activity Trace events made in tests, from the provider's published event templates.

No public capture of the WMI-Activity Trace channel exists, so these helpers build events from the
template table (knowledge/wmi_activity_trace.json, field names and input types as the provider's manifest
publishes them) and write them in the three forms the reader takes: an XML export as `wevtutil qe /f:xml`
writes it (fields as UserData children), a real .evtx (evtx_writer) and an ETL file (buffers of
EVENT_HEADER records). The writers follow the documented layouts independently of the readers' code.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from wmidoctor.knowledge import trace as facts

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)


@dataclass
class TraceEvent:
    event_id: int
    at: float  # seconds after T0
    fields: dict[str, str] = field(default_factory=dict)


class Scenario:
    """Builds start/provider/stop events of operations with chosen clients and timings."""

    def __init__(self) -> None:
        self.events: list[TraceEvent] = []
        self.next_id = 1000

    def operation(
        self,
        at: float,
        duration: float | None,
        *,
        pid: int = 4242,
        query: str = "select * from Win32_Service",
        method: str = "ExecQuery",
        namespace: str = "root\\cimv2",
        machine: str = "HOST1",
        user: str = "CONTOSO\\svc-monitor",
        result: str = "0x0",
        provider: str = "",
        host_id: int = 0,
    ) -> int:
        self.next_id += 2
        group, op = self.next_id, self.next_id + 1
        self.events.append(
            TraceEvent(
                11,
                at,
                {
                    "CorrelationId": "{00000000-0000-0000-0000-000000000000}",
                    "GroupOperationId": str(group),
                    "OperationId": str(op),
                    "Operation": f"Start IWbemServices::{method} - {namespace} : {query}",
                    "ClientMachine": machine,
                    "ClientMachineFQDN": machine.lower() + ".contoso.test",
                    "User": user,
                    "ClientProcessId": str(pid),
                    "ClientProcessCreationTime": "133000000000000000",
                    "NamespaceName": f"\\\\.\\{namespace}",
                    "IsLocal": "true",
                },
            )
        )
        if provider:
            self.events.append(
                TraceEvent(
                    12,
                    at + 0.0001,
                    {
                        "GroupOperationId": str(group),
                        "Operation": f"Provider::CreateInstanceEnum - {provider}",
                        "HostId": str(host_id),
                        "ProviderName": provider,
                        "ProviderGuid": "{D63A5850-8F16-11CF-9F47-00AA00BF345C}",
                        "Path": "%systemroot%\\system32\\wbem\\x.dll",
                    },
                )
            )
        if duration is not None:
            self.events.append(TraceEvent(13, at + duration, {"OperationId": str(op), "ResultCode": result}))
        return op

    def ordered(self) -> list[TraceEvent]:
        return sorted(self.events, key=lambda e: e.at)


def iso(at: float) -> str:
    return (T0 + timedelta(seconds=at)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_xml(events: list[TraceEvent], wrapper: bool = True) -> str:
    """An XML export of the Trace channel; fields as UserData children, as the provider's events render."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<Events>" if wrapper else ""]
    for number, event in enumerate(events, 1):
        children = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in event.fields.items())
        out.append(
            '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
            '<Provider Name="Microsoft-Windows-WMI-Activity" Guid="{1418EF04-B0B4-4623-BF7E-D74AB47BBDAA}"/>'
            f"<EventID>{event.event_id}</EventID><Version>0</Version><Level>4</Level><Task>0</Task>"
            f'<Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="{iso(event.at)}"/>'
            f'<EventRecordID>{number}</EventRecordID><Correlation/><Execution ProcessID="1234" ThreadID="42"/>'
            "<Channel>Microsoft-Windows-WMI-Activity/Trace</Channel><Computer>HOST1.contoso.test</Computer>"
            '<Security UserID="S-1-5-18"/></System>'
            f'<UserData><Operation xmlns="http://manifests.microsoft.com/win/2006/windows/WMI">{children}'
            "</Operation></UserData></Event>"
        )
    if wrapper:
        out.append("</Events>")
    return "\n".join(out)


def to_evtx(events: list[TraceEvent]) -> bytes:
    """A real .evtx of the Trace channel (plain Binary XML records, see evtx_writer)."""
    from evtx_writer import event_node, write_evtx

    return write_evtx(
        (
            event_node(
                "Microsoft-Windows-WMI-Activity",
                e.event_id,
                "Microsoft-Windows-WMI-Activity/Trace",
                number,
                iso(e.at),
                e.fields,
            ),
            int(((T0 - FILETIME_EPOCH).total_seconds() + e.at) * 10_000_000),
        )
        for number, e in enumerate(events, 1)
    )


# --- ETL ---------------------------------------------------------------------------------------------

QPC_FREQUENCY = 10_000_000
QPC_START = 5_000_000_000
WMI_GUID = uuid.UUID(facts.templates()["guid"]).bytes_le


def _payload(event_id: int, fields: dict[str, str]) -> bytes:
    out = bytearray()
    for name, kind in facts.templates()["events"][str(event_id)]["fields"]:
        value = fields.get(name, "")
        if kind == "UnicodeString":
            out += value.encode("utf-16-le") + b"\x00\x00"
        elif kind in ("UInt32", "Boolean", "HexInt32"):
            number = {"true": 1, "false": 0}.get(value) if kind == "Boolean" else int(value or "0", 0)
            out += struct.pack("<I", number)
        elif kind == "UInt64":
            out += struct.pack("<Q", int(value or "0"))
        else:
            raise AssertionError(kind)
    return bytes(out)


def _qpc(at: float) -> int:
    return QPC_START + round(at * QPC_FREQUENCY)


def event_record(
    event_id: int, at: float, payload: bytes, guid: bytes = WMI_GUID, pid: int = 1234, extended: bytes = b""
) -> bytes:
    flags = 0x0040 | (0x0001 if extended else 0)
    body = extended + payload
    size = 80 + len(body)
    head = struct.pack(
        "<HBBHHIIQ16sHBBBBHQQ16s",
        size,
        0x13,
        0xC0,
        flags,
        0,
        42,
        pid,
        _qpc(at),
        guid,
        event_id,
        0,
        0x10,
        4,
        0,
        0,
        0x8000000000000000,
        0,
        b"\x00" * 16,
    )
    record = head + body
    return record + b"\x00" * (-len(record) % 8)


def _buffer(records: list[bytes], size: int, first: bool = False) -> bytes:
    body = b"".join(records)
    saved = 0x48 + len(body)
    assert saved <= size
    header = struct.pack("<IIIiQQQHHI", size, saved, saved, 0, _qpc(0), 0, 0, 0, 1, 0)
    header += struct.pack("<IHH", 0, 0x21 if first else 0x20, 4 if first else 0) + b"\x00" * 16
    return header + body + b"\xff" * (size - saved)


def _logfile_header(pointer_size: int = 8) -> bytes:
    start = int((T0 - FILETIME_EPOCH).total_seconds()) * 10_000_000
    body = bytearray(280)
    struct.pack_into("<IIIIQ", body, 0, 65536, 0x0A00, 0, 2, 0)
    struct.pack_into("<IIII", body, 40, 1, pointer_size, 0, 3000)
    struct.pack_into("<QQQII", body, 248, start - 10**9, QPC_FREQUENCY, start, 1, 0)
    body += "WMI-Trace\x00".encode("utf-16-le")
    size = 32 + len(body)
    head = struct.pack("<HBBHHIIQII", 2, 0x02, 0xC0, size, 0x0000, 4, 4, QPC_START, 0, 0)
    record = head + bytes(body)
    return record + b"\x00" * (-len(record) % 8)


def to_etl(events: list[TraceEvent], buffer_size: int = 8192, extra: list[bytes] | None = None) -> bytes:
    """An ETL file: the logfile header buffer, then the events (and `extra` raw records) in buffers."""
    records = [event_record(e.event_id, e.at, _payload(e.event_id, e.fields)) for e in events] + (extra or [])
    out = [_buffer([_logfile_header()], buffer_size, first=True)]
    batch: list[bytes] = []
    used = 0x48
    for record in records:
        if used + len(record) > buffer_size:
            out.append(_buffer(batch, buffer_size))
            batch, used = [], 0x48
        batch.append(record)
        used += len(record)
    if batch:
        out.append(_buffer(batch, buffer_size))
    return b"".join(out)
