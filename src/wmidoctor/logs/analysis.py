"""Streaming aggregation: events go in one by one, groups and tallies come out; no event list is kept.

Memory grows with the variety of what happened (distinct groups, distinct process ids), not with the
number of records; both are capped so that a pathological log (a unique query per record) cannot
exhaust memory - the overflow is counted in one catch-all group per event id.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

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
        self._span(event.time, event.time)

    def absorb(self, later: Group) -> None:
        """Count in the same group's events read from a later input (the example stays the earlier one)."""
        self.count += later.count
        self._span(later.first_seen, later.last_seen)

    def _span(self, first: str, last: str) -> None:
        if first and (not self.first_seen or first < self.first_seen):
            self.first_seen = first
        if last > self.last_seen:
            self.last_seen = last


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

    def merge(self, later: Analysis) -> None:
        """Fold in the analysis of inputs read after this one's: the same as adding their events here in order
        while no cap is reached (the first example of a group is kept). Past a cap every cap still holds and every
        event is still counted, but which groups are kept whole can differ, as each input was capped alone."""
        self.logs += later.logs
        for (channel, provider, event_id, key), group in later.groups.items():
            identity = (channel, provider, event_id, key)
            mine = self.groups.get(identity)
            if mine is None and self._groups_per_id[(provider, event_id)] >= MAX_GROUPS_PER_ID:
                identity = (channel, provider, event_id, OVERFLOW_KEY)
                mine = self.groups.get(identity)
            if mine is None:
                self._groups_per_id[(provider, event_id)] += 1
                self.groups[identity] = replace(group, key=dict(identity[3]))
            else:
                mine.absorb(group)
        self.hourly.update(later.hourly)
        room = MAX_PROCESS_RECORDS - len(self.process_records)
        self.process_records += later.process_records[: max(room, 0)]
        for pid, providers in later.host_providers.items():
            if pid in self.host_providers or len(self.host_providers) < MAX_PROCESS_IDS:
                self.host_providers.setdefault(pid, set()).update(providers)
        self.traces.merge(later.traces)

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
        if not (pid and named.get("ProviderName")):
            return
        if pid in self.host_providers or len(self.host_providers) < MAX_PROCESS_IDS:
            self.host_providers.setdefault(pid, set()).add(named["ProviderName"])

    def ordered_groups(self) -> list[Group]:
        """Every group in a stable order: channel, provider, event id, then most frequent first."""
        return sorted(self.groups.values(), key=lambda g: (g.channel, g.provider, g.event_id, -g.count, g.first_seen))

    def of_kind(self, *kinds: str) -> list[Group]:
        return [g for g in self.groups.values() if g.kind in kinds]

    def lives(self) -> list[ProcessLife]:
        return lifetimes(self.process_records)
