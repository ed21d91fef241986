"""Read chosen events of one provider from an .evtx file as plain rows, without building an `Event` each.

For a log that is nearly all one provider's events (a WMI-Activity trace holds tens of thousands a minute),
the generic reader's per-record work (the whole record's JSON decoded, an `Event` built) costs more than the
parser itself. Here each record's System block is judged by its head, the text before TimeCreated, which is
the same for every record of a kind and so is judged once per kind; the time is read at its fixed place after
it, and only the UserData object is decoded. A record laid out otherwise is decoded whole by the generic
normaliser, so the rows are exactly the fields the generic reader gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import orjson

from wmidoctor.artifacts.evtx.binary import (
    DATA,
    HEAD_END,
    TIMESTAMP,
    ChunkRange,
    TimeWindow,
    head_kind,
    record_batches,
    record_json,
)
from wmidoctor.artifacts.evtx.event import LogStats
from wmidoctor.artifacts.evtx.normalise import clean_sysmon_wmi, field_texts, from_json, iso_utc

# (event id, UTC ISO time, fields, where the record is: "evtx:Trace.evtx#record 812")
Row = tuple[int, str, dict[str, str], str]

_TIME = HEAD_END + '{"#attributes":{"SystemTime":"'
_ISO_LENGTH = 27  # 2026-03-02T09:00:00.000100Z, as the parser writes every SystemTime
# what follows the time: the record number as the record itself holds it (the parser's own record counter, in
# `event_record_id`, differs from it in logs that were cleared or copied)
_RECORD_ID = '"}},"EventRecordID":'
_USER_DATA = ',"UserData":'
_SKIP, _DECODE = -1, -2  # a head's verdict besides the event id it asks for


def read_rows(
    source: str | BinaryIO | ChunkRange, name: str, stats: LogStats, provider: str, event_ids: frozenset[int]
) -> Iterator[list[Row]]:
    """Batches of rows for the records of `provider` whose event id is in `event_ids`; every record counted in
    `stats` (`records_read`, damage, first and last seen), but not by kind: `counts` and `computers` stay empty."""
    locator = f"evtx:{name}"
    window = TimeWindow("", "")
    verdicts: dict[str, int] = {}  # a record's head -> the event id it asks for, _SKIP or _DECODE
    for records in record_batches(source, stats):
        window.admit(list(map(TIMESTAMP, records)))
        rows: list[Row] = []
        for data in map(DATA, records):
            end = data.find(_TIME)
            if end < 0:
                verdict = _DECODE
            else:
                head = data[:end]
                known = verdicts.get(head)
                verdict = known if known is not None else verdicts.setdefault(head, _judge(head, provider, event_ids))
            if verdict == _SKIP:
                continue
            row = _fast(data, end, provider, verdict, locator) if verdict >= 0 else None
            if row is None:
                row = _slow(data, locator, provider, event_ids)
            if row is not None:
                rows.append(row)
        if rows:
            yield rows
    window.report(stats)


def _judge(head: str, provider: str, event_ids: frozenset[int]) -> int:
    kind = head_kind(head)
    if kind is None:
        return _DECODE
    return kind[1] if kind[0] == provider and kind[1] in event_ids else _SKIP


def _fast(data: str, end: int, provider: str, event_id: int, locator: str) -> Row | None:
    """The row read at fixed places and from the UserData object alone; None when the record is laid out
    otherwise (a time of another length, no EventRecordID after it, no UserData last in the event, not one
    wrapper element)."""
    start = end + len(_TIME)
    time = iso_utc(data[start : start + _ISO_LENGTH])  # as the generic normaliser reads it
    number = start + _ISO_LENGTH + len(_RECORD_ID)
    comma = data.find(",", number)
    record_id = data[number:comma]
    at = data.find(_USER_DATA, comma)
    if at < 0 or not data.startswith(_RECORD_ID, start + _ISO_LENGTH) or not record_id.isdigit() or data[-2:] != "}}":
        return None
    try:
        wrappers = orjson.loads(data[at + len(_USER_DATA) : -2])
        (fields,) = wrappers.values()
    except (orjson.JSONDecodeError, ValueError, AttributeError):
        return None
    if type(fields) is not dict:
        return None
    return event_id, time, clean_sysmon_wmi(provider, event_id, field_texts(fields)), f"{locator}#record {record_id}"


def _slow(data: str, locator: str, provider: str, event_ids: frozenset[int]) -> Row | None:
    event = from_json(record_json(data), locator)
    if event is None or event.provider != provider or event.event_id not in event_ids:
        return None
    return event.event_id, event.time, event.fields, event.source
