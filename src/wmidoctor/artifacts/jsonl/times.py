"""Event times as log pipelines write them, turned into the UTC form every reader produces.

Pipelines disagree: ECS `@timestamp` and Sentinel `TimeGenerated` are UTC ISO 8601 (the portal's CSV
export writes '5/1/2024, 1:14:15.123 PM' under a 'TimeGenerated [UTC]' header), Splunk `_time` carries
an offset or is epoch seconds, but NXLog's `EventTime` (and `TimeCreated` in some data-lake exports) is
the collecting host's local time without any zone. Such a naive time is placed by an offset learned per
host from a line that also carries a UTC anchor - the Sysmon `UtcTime` field of the same record, or the
`@timestamp` the shipper stamped on receipt (seconds later, hence the rounding to a quarter hour, the
granularity of real time zones). A host never seen with an anchor keeps its naive times, read as UTC.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_STAMP = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(Z|UTC|[+-]\d{2}:?\d{2})?\s*$", re.I
)
_PORTAL = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4}),?\s+(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*([AP]M)\s*$", re.I)
_QUARTER = 900  # seconds
_MAX_OFFSET = 14 * 3600  # the widest UTC offset in use
_MAX_LAG = 450  # an anchor stamped on receipt may trail the event by this much and still round right
_EPOCH = datetime(1970, 1, 1)
_CACHE = 4096  # placed stamps remembered (NXLog's EventTime has whole seconds: many records share one)


def parse_stamp(value: object) -> tuple[datetime, int | None] | None:
    """(naive wall-clock time, its UTC offset in seconds or None when the text has no zone); epoch numbers
    (Splunk `_time`) are UTC. None when the value is not a time."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value  # epoch milliseconds or seconds
        try:
            return _EPOCH + timedelta(seconds=seconds), 0
        except OverflowError:
            return None
    if not isinstance(value, str):
        return None
    try:  # the common forms, in C; the pattern below takes the rest (7-digit fractions, 'UTC', ...)
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        pass
    else:
        offset = moment.utcoffset()
        return moment.replace(tzinfo=None), None if offset is None else int(offset.total_seconds())
    match = _STAMP.match(value)
    if match is None:
        return _portal_stamp(value)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None
    if zone is None:
        return moment, None
    if zone.upper() in ("Z", "UTC"):
        return moment, 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return moment, sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)


def _portal_stamp(value: str) -> tuple[datetime, int | None] | None:
    """'5/1/2024, 1:14:15.123 PM', the Azure portal's rendering of a time in CSV exports (zone in the header)."""
    match = _PORTAL.match(value)
    if match is None:
        return None
    month, day, year, hour, minute, second, fraction, half = match.groups()
    hour_24 = int(hour) % 12 + (12 if half.upper() == "PM" else 0)
    try:
        return datetime(
            int(year), int(month), int(day), hour_24, int(minute), int(second), int((fraction or "0")[:6].ljust(6, "0"))
        ), None
    except ValueError:
        return None


def iso(moment: datetime) -> str:
    """'2022-06-08T23:46:23.894581Z', the form of `Event.time`."""
    return moment.isoformat(timespec="microseconds") + "Z"


def utc_text(value: object) -> str:
    """A time that carries its zone (or epoch seconds) as `Event.time`; a naive one as if UTC; '' if none."""
    if isinstance(value, str) and len(value) > 20 and value[-1] == "Z" and value[19] == "." and value[10] == "T":
        return f"{value[:19]}.{(value[20:-1] + '000000')[:6]}Z"  # ECS and Log Analytics stamps, as they are
    parsed = parse_stamp(value)
    if parsed is None:
        return ""
    moment, offset = parsed
    return iso(moment - timedelta(seconds=offset or 0))


class HostClocks:
    """UTC offsets of the hosts whose exports write local times, learned from anchored records."""

    def __init__(self) -> None:
        self.offsets: dict[str, int] = {}
        self.unplaced: set[str] = set()  # hosts whose naive times were read as UTC for want of an anchor
        self._placed: dict[tuple[str, str], str] = {}  # (host, local text) -> Event.time; stamps repeat

    def learn(self, host: str, local: object, anchor: object) -> None:
        """Note the offset between a record's naive local time and a UTC anchor of the same record (once per
        host: a host's zone does not change within an export)."""
        if host in self.offsets or anchor is None:
            return
        naive, anchored = parse_stamp(local), parse_stamp(anchor)
        if naive is None or anchored is None or naive[1] is not None or anchored[1] is None:
            return
        utc = anchored[0] - timedelta(seconds=anchored[1])
        difference = (utc - naive[0]).total_seconds()
        quarters = round(difference / _QUARTER)
        if abs(difference) <= _MAX_OFFSET + _MAX_LAG and abs(difference - quarters * _QUARTER) <= _MAX_LAG:
            self.offsets[host] = quarters * _QUARTER

    def utc(self, host: str, local: object) -> str:
        """`local` as `Event.time`: its own zone if it has one, else the host's learned offset."""
        key = (host, local) if isinstance(local, str) else None
        placed = self._placed.get(key) if key else None
        if placed is None:
            placed = self._place(host, local)
            if key and host in self.offsets:
                if len(self._placed) >= _CACHE:
                    self._placed.clear()
                self._placed[key] = placed
        return placed

    def _place(self, host: str, local: object) -> str:
        parsed = parse_stamp(local)
        if parsed is None:
            return ""
        moment, offset = parsed
        if offset is not None:
            return iso(moment - timedelta(seconds=offset))
        learned = self.offsets.get(host)
        if learned is None:
            self.unplaced.add(host)
            return iso(moment)
        return iso(moment + timedelta(seconds=learned))
