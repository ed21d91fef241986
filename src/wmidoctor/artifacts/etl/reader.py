"""Read an ETL file into the same normalised `Event` objects the event-log readers produce.

Only manifest-based events of the providers the caller describes (provider GUID -> name, channel and
per-id templates) are decoded; every other record is counted by its header kind (and manifest events of
other providers by provider GUID and id), which is what an independent reading can check.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from wmidoctor.artifacts.etl.container import EVENT_TYPES, FILETIME_UNIX_EPOCH, Clock, EtlStats, walk
from wmidoctor.artifacts.etl.manifest import Template, decode_fields, event_header
from wmidoctor.artifacts.evtx.event import Event

MAX_OTHER_KINDS = 1000


@dataclass
class ManifestProvider:
    """A provider whose events the reader decodes: its name, its channel names by channel byte (or one
    default) and a compiled template per event id."""

    name: str
    channel: str
    templates: dict[int, Template] = field(default_factory=dict)


@dataclass
class EtlReading:
    """`EtlStats` of the container plus what the manifest layer saw."""

    container: EtlStats
    decoded: Counter[tuple[str, int]] = field(default_factory=Counter)  # (provider, id) -> events decoded
    short_payloads: int = 0  # events whose payload held fewer fields than their template
    other_events: Counter[tuple[str, int]] = field(default_factory=Counter)  # (provider GUID, id) -> events


def _iso(filetime: int, cache: dict[int, str]) -> str:
    """FILETIME -> '2024-05-01T13:00:00.123456Z' (seconds formatted once, micro-seconds appended)."""
    micro = (filetime - FILETIME_UNIX_EPOCH) // 10
    second, fraction = divmod(micro, 1_000_000)
    text = cache.get(second)
    if text is None:
        try:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        except (OverflowError, OSError, ValueError):
            text = "1601-01-01T00:00:00"
        if len(cache) > 100_000:
            cache.clear()
        cache[second] = text
    return f"{text}.{fraction:06d}Z"


def _guid_text(raw: bytes) -> str:
    import uuid

    return str(uuid.UUID(bytes_le=bytes(raw))).upper()


def read_etl(
    stream: BinaryIO, name: str, reading: EtlReading, providers: dict[bytes, ManifestProvider]
) -> Iterator[Event]:
    """Yield the decoded events of the described providers, in file order; fill `reading` as it goes."""
    clock = Clock()
    stats = reading.container
    cache: dict[int, str] = {}
    locator = f"etl:{name}#record "
    number = 0
    for record in walk(stream, stats, clock):
        number += 1
        if record.header_type not in EVENT_TYPES:
            continue
        header = event_header(record.buffer, record.offset, record.size)
        if header is None:
            stats.add_problem(f"buffer {record.buffer_index}: an event record too short for its header")
            continue
        provider = providers.get(header.provider)
        if provider is None:
            other = reading.other_events
            key = (_guid_text(header.provider), header.event_id)
            if key in other or len(other) < MAX_OTHER_KINDS:
                other[key] += 1
            continue
        template = provider.templates.get(header.event_id)
        if template is None:
            reading.other_events[(provider.name, header.event_id)] += 1
            continue
        fields, whole = decode_fields(record.buffer, header, template)
        if not whole:
            reading.short_payloads += 1
        reading.decoded[(provider.name, header.event_id)] += 1
        yield Event(
            channel=provider.channel,
            provider=provider.name,
            event_id=header.event_id,
            record_id=number,
            time=_iso(clock.filetime(header.timestamp), cache),
            computer="",
            level=header.level,
            fields=fields,
            source=f"{locator}{number}",
        )
