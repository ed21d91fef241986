"""Streaming aggregation: events go in one by one, groups and tallies come out; no event list is kept.

Memory grows with the variety of what happened (distinct groups, distinct process ids), not with the
number of records; both are capped so that a pathological log (a unique query per record) cannot
exhaust memory - the overflow is counted in one catch-all group per event id.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from wmidoctor.artifacts.evtx import Event, LogStats
from wmidoctor.evidence.processes import ProcessLife, lifetimes
from wmidoctor.knowledge.events import PROCESS_NAMING, PROCESS_STARTS, SYSMON, TRACE_ONLY, WMI_ACTIVITY
from wmidoctor.logs.selection import scm_service
from wmidoctor.logs.shapes import SCM, group_key, named_fields, shape_of
from wmidoctor.logs.traces import TraceCollector

MAX_GROUPS_PER_ID = 2000
MAX_PROCESS_RECORDS = 200_000  # process starts and exits kept to name client ids (about 20 MB at most)
MAX_PROCESS_IDS = 50_000
OVERFLOW_KEY = (("overflow", "more distinct groups than kept; counted here"),)


@dataclass
class Group:
    channel: str
    provider: str
    event_id: int
    kind: str
    key: dict[str, str]
    count: int = 0
    first_seen: str = ""
    last_seen: str = ""
    example: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def see(self, event: Event) -> None:
        self.count += 1
        if event.time:
            if not self.first_seen or event.time < self.first_seen:
                self.first_seen = event.time
            if event.time > self.last_seen:
                self.last_seen = event.time


class Analysis:
    """Feed `add_log` with each file's stats and `add` with each selected event, then read the fields."""

    def __init__(self) -> None:
        self.logs: list[LogStats] = []
        self.groups: dict[tuple, Group] = {}
        self.hourly: Counter[str] = Counter()
        # (process id in decimal, time, is a start, image) of process creations and exits, to name client ids
        self.process_records: list[tuple[str, str, bool, str]] = []
        self.host_providers: dict[str, set[str]] = {}  # provider host process id -> providers loaded (5857)
        self._groups_per_id: Counter[tuple[str, int]] = Counter()
        self.traces = TraceCollector()  # subscription parts, WMI-started processes, network logons

    def add_log(self, stats: LogStats) -> None:
        self.logs.append(stats)

    def add(self, event: Event) -> None:
        provider, event_id = event.provider, event.event_id
        self.traces.add(event)
        if (provider, event_id) in TRACE_ONLY:
            return
        if (provider, event_id) in PROCESS_NAMING:
            self._name_process(event)
            return
        if provider == SCM and not scm_service(event.fields):
            return
        named = named_fields(provider, event_id, event.fields)
        if provider == WMI_ACTIVITY and event_id == 5857:
            self._note_host(named)
        shape = shape_of(provider, event_id)
        identity = (event.channel, provider, event_id, group_key(shape, named))
        group = self.groups.get(identity)
        if group is None:
            if self._groups_per_id[(provider, event_id)] >= MAX_GROUPS_PER_ID:
                identity = (event.channel, provider, event_id, OVERFLOW_KEY)
                group = self.groups.get(identity)
            if group is None:
                self._groups_per_id[(provider, event_id)] += 1
                group = self.groups[identity] = Group(
                    event.channel, provider, event_id, shape.kind, dict(identity[3]), example=named, source=event.source
                )
        group.see(event)
        if event.time >= "1980":
            self.hourly[event.time[:13]] += 1

    def _name_process(self, event: Event) -> None:
        """A process creation or exit. 5857's HostProcess names no process: WMI writes wmiprvse.exe there
        also for providers it hosts in its own svchost."""
        if len(self.process_records) >= MAX_PROCESS_RECORDS:
            return
        fields = event.fields
        start = (event.provider, event.event_id) in PROCESS_STARTS
        if event.provider == SYSMON:
            pid, image = fields.get("ProcessId", ""), fields.get("Image", "")
        else:  # Security 4688 (NewProcessId) and 4689 (ProcessId), both hexadecimal
            try:
                pid = str(int(fields.get("NewProcessId" if start else "ProcessId", ""), 16))
            except ValueError:
                return
            image = fields.get("NewProcessName" if start else "ProcessName", "")
        if pid:
            self.process_records.append((pid, event.time, start, image))

    def _note_host(self, named: dict[str, str]) -> None:
        pid = named.get("ProcessID", "")
        if pid and named.get("ProviderName") and len(self.host_providers) < MAX_PROCESS_IDS:
            self.host_providers.setdefault(pid, set()).add(named["ProviderName"])

    def ordered_groups(self) -> list[Group]:
        """Every group in a stable order: channel, provider, event id, then most frequent first."""
        return sorted(self.groups.values(), key=lambda g: (g.channel, g.provider, g.event_id, -g.count, g.first_seen))

    def of_kind(self, *kinds: str) -> list[Group]:
        return [g for g in self.groups.values() if g.kind in kinds]

    def lives(self) -> list[ProcessLife]:
        return lifetimes(self.process_records)
