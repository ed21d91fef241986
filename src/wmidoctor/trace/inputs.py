"""Find and read WMI-Activity trace files: .evtx and XML exports of the Trace channel, and .etl sessions."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from pathlib import Path

from wmidoctor.artifacts.etl import EtlReading, EtlStats, ManifestProvider, compile_template, guid_bytes, read_etl
from wmidoctor.artifacts.evtx import Event, LogStats, read_log
from wmidoctor.artifacts.evtx.binary import EVTX_MAGIC
from wmidoctor.artifacts.evtx.rows import Row, read_rows
from wmidoctor.errors import InputError
from wmidoctor.knowledge import trace as facts
from wmidoctor.logs.inputs import LogInput

TRACE_SUFFIXES = (".evtx", ".xml", ".etl")


@dataclass
class TraceFile:
    """What reading one file gave, whatever its format."""

    path: str
    kind: str  # evtx | xml | etl
    records_read: int = 0
    trace_events: int = 0
    problems: list[str] = field(default_factory=list)
    unreadable: bool = False
    first_seen: str = ""
    last_seen: str = ""
    detail: dict[str, object] = field(default_factory=dict)  # etl: buffers, records per header kind


@cache
def wmi_providers() -> dict[bytes, ManifestProvider]:
    """The WMI-Activity provider with its templates compiled, keyed by its GUID as stored in records."""
    table = facts.templates()
    provider = ManifestProvider(table["provider"], table["channel"])
    for event_id, entry in table["events"].items():
        provider.templates[int(event_id)] = compile_template([tuple(f) for f in entry["fields"]])
    return {guid_bytes(table["guid"]): provider}


def _select(provider: str, event_id: int) -> bool:
    return provider == facts.templates()["provider"] and event_id in facts.roles()


def _rows(events: Iterable[Event], size: int = 256) -> Iterator[list[Row]]:
    """Events as batches of rows, the form the .evtx reader gives."""
    rows = ((e.event_id, e.time, e.fields, e.source) for e in events)
    while batch := list(islice(rows, size)):
        yield batch


def find_traces(paths: list[str]) -> list[LogInput]:
    found: list[LogInput] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found += [
                LogInput(p) for p in sorted(path.rglob("*")) if p.is_file() and p.name.lower().endswith(TRACE_SUFFIXES)
            ]
        elif path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                found += [
                    LogInput(path, info.filename)
                    for info in archive.infolist()
                    if not info.is_dir() and info.filename.lower().endswith(TRACE_SUFFIXES)
                ]
        elif path.is_file():
            found.append(LogInput(path))
        else:
            raise InputError(f"no such file or folder: {text}")
    return found


def _read_etl(log: LogInput, stream, report: TraceFile) -> Iterator[Event]:
    reading = EtlReading(EtlStats(log.label))
    handle = stream if stream is not None else open(log.path, "rb")  # noqa: SIM115 (closed below)
    try:
        for event in read_etl(handle, log.name, reading, wmi_providers()):
            report.trace_events += 1
            yield event
    finally:
        if stream is None:
            handle.close()
        stats = reading.container
        report.records_read = stats.record_count
        report.problems = list(stats.problems)
        report.unreadable = stats.unreadable
        report.detail = {
            "buffers": stats.buffers,
            "buffers_skipped": stats.buffers_skipped,
            "records": dict(stats.records),
            "events_lost": stats.events_lost,
            "short_payloads": reading.short_payloads,
        }
        if reading.short_payloads:
            report.problems.append(f"{reading.short_payloads} event(s) held fewer fields than their template")


def read_trace(log: LogInput, report: TraceFile) -> Iterator[list[Row]]:
    """Yield the WMI-Activity trace events of one file in batches of rows; fill `report`. Never raises on bad
    content."""
    with log.open() as stream:
        head = stream.read(8) if stream is not None else _head(log.path)
        if stream is not None:
            stream.seek(0)
        if log.name.lower().endswith(".etl") and not head.startswith(b"ElfFile"):
            report.kind = "etl"
            yield from _rows(_read_etl(log, stream, report))
            return
        stats = LogStats(log.label)
        if head.startswith(EVTX_MAGIC):
            stats.kind = "evtx"
            source = stream if stream is not None else str(log.path)
            rows = read_rows(source, log.name, stats, facts.templates()["provider"], frozenset(facts.roles()))
        else:
            rows = _rows(read_log(log.path if stream is None else log.name, stats, _select, stream=stream))
        for batch in rows:
            report.trace_events += len(batch)
            yield batch
        report.kind, report.records_read = stats.kind, stats.records_read
        report.problems, report.unreadable = list(stats.problems), stats.unreadable
        report.first_seen, report.last_seen = stats.first_seen, stats.last_seen


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(8)
    except OSError:
        return b""
