"""The normalised event and the per-file reading statistics every reader produces."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class Event:
    """One event record, whatever format it came from.

    `fields` holds the event's data by name: EventData `<Data Name=...>` values, the children of the
    UserData wrapper element (WMI-Activity 5857-5861), or `param1..paramN` for unnamed insertion
    strings. Values are strings exactly as an XML rendering of the record shows them.
    """

    channel: str
    provider: str
    event_id: int
    record_id: int
    time: str  # UTC, ISO 8601 with microseconds: 2022-06-08T23:46:23.894581Z
    computer: str
    level: int | None
    fields: dict[str, str]
    source: str  # evtx:System.evtx#record 812


@dataclass
class LogStats:
    """What reading one file gave: volume, damage, time span and a count of records per event kind."""

    path: str
    kind: str = "evtx"  # evtx | xml | jsonl (a JSON-lines export) | json (JSON that is no event export)
    records_read: int = 0  # records the file yielded (before any time window)
    records_skipped: int = 0  # damaged records the parser stepped over
    chunks_skipped: int = 0  # damaged 64 KiB chunks the parser stepped over (each held many records)
    unreadable: bool = False  # nothing could be read (not an event log, destroyed header, I/O error)
    problems: list[str] = field(default_factory=list)
    first_seen: str = ""  # the first and last record inside the time window
    last_seen: str = ""
    records_first: str = ""  # the first and last record of the file, whatever the window
    records_last: str = ""
    # (channel, provider, event id) -> records inside the time window
    counts: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    # JSON-lines exports: records per detected shape (artifacts.jsonl.shapes), "unrecognised" included
    shapes: Counter[str] = field(default_factory=Counter)
    # Computer name -> records (the .evtx reader: every record inside the time window; for other formats,
    # artifacts.evtx.hostname reads the first records), and the name on the newest record with its time
    computers: Counter[str] = field(default_factory=Counter)
    newest_computer: str = ""
    newest_computer_time: str = ""

    MAX_PROBLEMS = 20

    def add_problem(self, message: str) -> None:
        """Keep the first distinct messages; a badly damaged file must not grow this list without bound."""
        if message not in self.problems and len(self.problems) < self.MAX_PROBLEMS:
            self.problems.append(message)

    def see_record(self, iso: str) -> None:
        """Any record's time, inside the time window or not: the span of the whole file."""
        if iso < "1980":
            return
        if not self.records_first or iso < self.records_first:
            self.records_first = iso
        if iso > self.records_last:
            self.records_last = iso

    def see_time(self, iso: str) -> None:
        if iso < "1980":  # a zero FILETIME (1601) says nothing about when the log was written
            return
        if not self.first_seen or iso < self.first_seen:
            self.first_seen = iso
        if iso > self.last_seen:
            self.last_seen = iso

    def absorb(self, later: LogStats) -> None:
        """Count in what reading a later range of the same file gave."""
        self.records_read += later.records_read
        self.records_skipped += later.records_skipped
        self.chunks_skipped += later.chunks_skipped
        self.unreadable = self.unreadable or later.unreadable
        for problem in later.problems:
            self.add_problem(problem)
        for iso in (later.first_seen, later.last_seen):
            if iso:
                self.see_time(iso)
        for iso in (later.records_first, later.records_last):
            if iso:
                self.see_record(iso)
        self.counts.update(later.counts)
        self.shapes.update(later.shapes)
        self.computers.update(later.computers)
        if later.newest_computer:
            self.see_computer(later.newest_computer_time, later.newest_computer)

    def see_computer(self, iso: str, name: str) -> None:
        """A record's time and Computer name: the newest one seen is kept (the name the host has now)."""
        if iso > self.newest_computer_time:
            self.newest_computer_time, self.newest_computer = iso, name

    @property
    def damaged(self) -> bool:
        return self.unreadable or self.records_skipped > 0 or self.chunks_skipped > 0
