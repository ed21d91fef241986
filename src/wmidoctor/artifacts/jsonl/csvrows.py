"""CSV exports of Log Analytics / Microsoft Sentinel query results (Event, SecurityEvent, WindowsEvent).

The header names the table's columns (the portal adds the zone to time columns: `TimeGenerated [UTC]`);
each row becomes a record keyed by column name, which the Sentinel shapes then read like a JSON row.
Quoted fields may span lines (EventData XML, rendered messages); lines still come through the capped
line splitter, so one over-long line is damage, never a whole-file load.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from wmidoctor.artifacts.jsonl.lines import MAX_LINE_BYTES, numbered_lines, unpacked_head

_ZONE_SUFFIX = re.compile(r"\s*\[[^\]]*\]\s*$")  # 'TimeGenerated [UTC]' -> 'TimeGenerated'
_REQUIRED = ("TimeGenerated", "EventID")


def column(name: str) -> str:
    return _ZONE_SUFFIX.sub("", name.strip().lstrip("\ufeff"))


def looks_like_csv_export(head: bytes) -> bool:
    """Does the first line name the columns of a Log Analytics event table (TimeGenerated, EventID)?"""
    first = unpacked_head(head).removeprefix(codecs.BOM_UTF8).split(b"\n", 1)[0].decode("utf-8", "replace")
    try:
        names = {column(name) for name in next(csv.reader([first]))}
    except (csv.Error, StopIteration):
        return False
    return all(required in names for required in _REQUIRED)


def csv_records(plain: BinaryIO, damage: Callable[[str, int], None]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(first line number of the row, {column: value}) for every row; bad rows are reported to `damage`."""
    lines = numbered_lines(plain)
    current = [0]

    def text_lines() -> Iterator[str]:
        for number, line in lines:
            current[0] = number
            if line is None:
                damage(f"longer than the {MAX_LINE_BYTES >> 20} MiB line cap", number)
                continue
            try:
                yield line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                damage("not UTF-8", number)

    reader = csv.reader(text_lines())
    try:
        header = [column(name) for name in next(reader)]
    except (StopIteration, csv.Error):
        return
    while True:
        start = current[0] + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over the csv module's limit, a stray quote, a NUL byte
            damage(f"not a CSV row ({exc})", start)
            continue
        if not row or row == [""]:
            continue
        if len(row) != len(header):
            damage("a CSV row with the wrong number of columns", start)
            continue
        yield start, {name: value for name, value in zip(header, row, strict=True) if value != ""}
