"""Event-log exports from SIEMs and collection tools (JSON lines, JSON documents, Log Analytics CSV) read
into the same `Event` as .evtx.

The reader (`reader.read_jsonl`, told apart from other input by `lines.looks_like_json` and
`csvrows.looks_like_csv_export`) recognises each line's shape (`shapes`); it knows export formats, not what an
event means for WMI. This package itself stays light: `logs --help` lists the shapes below without loading
the reader.
"""

from wmidoctor.artifacts.jsonl.lines import MAX_LINE_BYTES

# What `logs --help` and the README list: shape -> the export it comes from.
SHAPES = {
    "nxlog": "NXLog JSON (OTRF/Mordor, data lakes): flat EventID, SourceName, Channel, EventTime + data",
    "winlogbeat": "Elastic Winlogbeat/ECS: winlog.event_id, winlog.event_data.*, winlog.user_data.* (or _source)",
    "splunk": "Splunk JSON export: result._raw as event XML (XmlWinEventLog) or WinEventLog text",
    "sentinel-event": "Sentinel/Log Analytics Event table: EventLog, Source, EventID, EventData XML",
    "sentinel-securityevent": "Sentinel/Log Analytics SecurityEvent table: Channel, EventID, EventData XML",
    "sentinel-windowsevent": "Sentinel/Log Analytics WindowsEvent table: Channel, Provider, EventData object",
    "evtx-json": "evtx_dump / evtx package JSON of .evtx records: Event.System, Event.EventData",
}

__all__ = ["MAX_LINE_BYTES", "SHAPES"]
