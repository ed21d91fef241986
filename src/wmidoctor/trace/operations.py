"""Pair WMI-Activity start and stop events into operations and aggregate them as they stream past.

Start events (1, 11) open an operation under its OperationId; stop events (3, 13) close it, which gives
its duration and (13) its result code; provider events (2, 12) name the provider and its host process for
the operation's GroupOperationId; method events (22) name the class and method of an ExecMethod.
Nothing is kept per operation once it is closed: durations go into per-key tallies whose percentile
samples are bounded, so memory grows with the variety of clients, namespaces and queries (each capped),
not with the number of events.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter
from typing import NamedTuple

from wmidoctor.artifacts.evtx.event import Event
from wmidoctor.artifacts.evtx.rows import Row
from wmidoctor.knowledge import trace as facts

SAMPLE_SIZE = 2048  # durations kept per key for percentiles (a deterministic reservoir beyond that)
PENDING = 64  # durations a tally holds before it counts them in (one call for many operations)
MERGE_SLACK = 8  # how far a merged sample may grow past SAMPLE_SIZE before it is thinned
MAX_KEYS = 2000  # distinct clients / namespaces / queries kept per table; the rest go to "(other)"
MAX_COMBOS = 50_000  # distinct (client, user, namespace, request, query, provider) tallied while reading
MAX_OPEN = 200_000  # operations waiting for their stop event
MAX_GROUPS = 200_000  # group ids remembered for provider attribution
MAX_SECONDS = 7 * 86_400  # seconds of per-second concurrency and per-client load kept
KEEP_SLOWEST = 25
OTHER = "(other)"

_OPERATION = re.compile(
    r"^\s*(?:Start\s+)?(?:(?P<iface>[A-Za-z_]\w*)::)?(?P<method>[A-Za-z_]\w*)"
    r"(?:\s+-\s+(?P<namespace>[^:]*?)\s*:\s*(?P<target>.*))?\s*$",
    re.S,
)
_FROM = re.compile(r"\bfrom\s+([A-Za-z_]\w*)", re.I)
_CLASS = re.compile(r"^\s*([A-Za-z_]\w*)")


def parse_operation(text: str) -> tuple[str, str, str, str]:
    """'Start IWbemServices::ExecQuery - root\\cimv2 : select * from Win32_Product' ->
    ('IWbemServices::ExecQuery', 'root\\cimv2', 'Win32_Product', 'select * from Win32_Product')."""
    match = _OPERATION.match(text)
    if not match:
        return text.strip()[:80], "", "", ""
    method = f"{match['iface']}::{match['method']}" if match["iface"] else match["method"]
    target = (match["target"] or "").strip()
    found = _FROM.search(target) or _CLASS.match(target)
    return method, (match["namespace"] or "").strip(), found.group(1) if found else "", target


_EPOCH_CACHE: dict[str, int] = {}


def micros(iso: str) -> int:
    """'2024-05-01T13:00:00.123456Z' -> microseconds since 1970 (the second part cached); 0 when unreadable."""
    base = _second_micros(iso[:19])
    fraction = iso[20:26]
    return base + int(fraction) if base and fraction.isdigit() else base


def _second_micros(second: str) -> int:
    """'2024-05-01T13:00:00' -> microseconds since 1970 (cached); 0 when unreadable."""
    base = _EPOCH_CACHE.get(second)
    if base is None:
        try:
            base = int(datetime.fromisoformat(second).replace(tzinfo=timezone.utc).timestamp()) * 1_000_000
        except ValueError:
            return 0
        if len(_EPOCH_CACHE) > 100_000:
            _EPOCH_CACHE.clear()
        _EPOCH_CACHE[second] = base
    return base


@dataclass(slots=True)
class Tally:
    """Count, total time, percentile sample and failures of one key (a client, a namespace, a query)."""

    count: int = 0
    total_us: int = 0
    max_us: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    sample: list[int] = field(default_factory=list)
    example: str = ""
    # durations not counted in yet: an operation's stop appends its duration (and counts a failure) itself, and
    # `settle` counts them in at PENDING, which costs one call for many operations instead of one for each
    pending: list[int] = field(default_factory=list)
    _seed: int = 12345

    def settle(self) -> None:
        """Count the pending durations in, in their order: the sample is the one adding them one by one gives."""
        durations, self.pending = self.pending, []
        if not durations:
            return
        self.total_us += sum(durations)
        self.max_us = max(self.max_us, *durations)
        sample = self.sample
        room = max(0, SAMPLE_SIZE - len(sample))
        sample += durations[:room]
        self.count += min(room, len(durations))
        for duration in durations[room:]:
            # reservoir sampling with a fixed linear congruential generator: the same input, the same result
            self.count += 1
            self._seed = (self._seed * 1103515245 + 12345) & 0x7FFFFFFF
            slot = self._seed % self.count
            if slot < SAMPLE_SIZE:
                sample[slot] = duration

    def merge(self, other: Tally) -> None:
        """Fold another (settled) tally in. The joint sample may grow to MERGE_SLACK times SAMPLE_SIZE before it is
        thinned, so a table's tally is sorted a few times while its keys are merged in, not once per merge; `thin`
        ends it."""
        self.count += other.count
        self.total_us += other.total_us
        self.max_us = max(self.max_us, other.max_us)
        self.failures.update(other.failures)
        self.sample.extend(other.sample)
        if len(self.sample) > MERGE_SLACK * SAMPLE_SIZE:
            self.thin()

    def thin(self) -> None:
        """At most SAMPLE_SIZE durations, spread evenly across the sorted sample (percentiles stay exact while
        the sample is small, and close when it is not)."""
        if len(self.sample) > SAMPLE_SIZE:
            ordered = sorted(self.sample)
            step = len(ordered) / SAMPLE_SIZE
            self.sample = [ordered[int(i * step)] for i in range(SAMPLE_SIZE)]

    def percentile(self, fraction: float) -> int:
        """Nearest-rank percentile of the durations (exact up to SAMPLE_SIZE operations)."""
        if not self.sample:
            return 0
        ordered = sorted(self.sample)
        rank = max(1, -(-int(fraction * 1000) * len(ordered) // 1000))
        return ordered[min(rank, len(ordered)) - 1]


class Table:
    """Tallies by key, at most MAX_KEYS of them (OTHER included); later new keys are counted under OTHER."""

    def __init__(self) -> None:
        self.tallies: dict[str, Tally] = {}

    def merge(self, key: str, other: Tally, example: str = "") -> None:
        tally = self.tallies.get(key)
        if tally is None:
            if len(self.tallies) >= MAX_KEYS - 1:  # one place stays for OTHER
                key = OTHER
                tally = self.tallies.get(key)
            if tally is None:
                tally = self.tallies[key] = Tally(example=example)
        tally.merge(other)

    def thin(self) -> None:
        for tally in self.tallies.values():
            tally.thin()

    def top(self, limit: int = 0) -> list[tuple[str, Tally]]:
        ranked = sorted(self.tallies.items(), key=lambda item: (-item[1].total_us, -item[1].count, item[0]))
        return ranked[:limit] if limit else ranked


class Request(NamedTuple):
    """What a start event asks, shared by every operation that asks the same; the per-key tallies are keyed by
    it and the operation's provider."""

    client: str
    user: str
    namespace: str
    method: str
    class_name: str
    target: str


@dataclass(slots=True)
class Operation:
    """An operation that is one of the slowest, or never finished inside the trace."""

    operation_id: str
    group_id: str
    start_us: int
    started: str  # ISO time of the start event
    request: Request
    source: str
    duration_us: int = -1  # -1: never finished inside the trace
    code: str = ""

    def __lt__(self, other: Operation) -> bool:  # for the heap of slowest operations
        return (self.duration_us, self.start_us) < (other.duration_us, other.start_us)


_SUCCESS = frozenset({"", "0x0", "0", "0x00000000"})  # result codes that say the operation succeeded


def client_key(fields: dict[str, str]) -> str:
    """'pid 4242 on HOST' (the client machine is dropped when it is empty)."""
    pid = fields.get("ClientProcessId", "") or "?"
    machine = fields.get("ClientMachine", "")
    return f"pid {pid} on {machine}" if machine else f"pid {pid}"


def _request(fields: dict[str, str]) -> Request:
    method, namespace, class_name, target = parse_operation(fields.get("Operation", ""))
    namespace = namespace or fields.get("NamespaceName", "")
    return Request(client_key(fields), fields.get("User", ""), namespace, method, class_name, target[:300])


# an open operation while it waits for its stop: (group id, start in µs, start time, request, where read)
_Open = tuple[str, int, str, Request, str]
_EVENT_ID, _TIME = itemgetter(0), itemgetter(1)


class TraceAnalysis:
    """Feed events with `feed` (batches of rows) or `add` in time order (file by file), then `finish()`; read the
    tables."""

    def __init__(self) -> None:
        by_role = {
            "start": self._start,
            "stop": self._stop_event,
            "provider": self._provider,
            "method": self._method,
            "process": self._process,
        }
        self._handlers = {event_id: by_role.get(role, self._count_only) for event_id, role in facts.roles().items()}
        self.by_id: Counter[int] = Counter()
        self.first_seen = self.last_seen = ""
        self.open: dict[str, _Open] = {}
        self.open_overflow = 0
        self.orphan_stops = 0
        # stops read before their start: ETL buffers are per processor, so file order is not time order
        self.early_stops: dict[str, tuple[int, dict[str, str]]] = {}
        self.completed = 0
        self.clients, self.namespaces, self.queries, self.classes = Table(), Table(), Table(), Table()
        self.users = Table()
        self.client_classes = Table()  # "client\trequest" -> its operations (the requests of each client)
        self.combos: dict[tuple[Request, str], Tally] = {}  # (request, provider) -> its operations
        self.providers = Table()  # provider name -> time of the operations it served
        self.failures: Counter[str] = Counter()  # result code -> operations
        self.provider_loads: Counter[tuple[str, str, str]] = Counter()  # (provider, host pid, path) -> events
        self.groups: dict[str, str] = {}  # group operation id -> provider name
        self.concurrency: dict[int, int] = {}  # second -> most operations open at once
        self.client_seconds: Counter[tuple[str, int]] = Counter()  # (client, second) -> micro-seconds of work
        self.client_users: dict[str, str] = {}
        self._requests: dict[tuple[str | None, ...], Request] = {}  # a start's fields -> what it asks
        self.slowest: list[Operation] = []
        self.unfinished: list[Operation] = []
        self.methods: Counter[str] = Counter()
        self.processes_created: list[dict[str, str]] = []

    # --- feeding -------------------------------------------------------------------------------------
    def add(self, event: Event) -> None:
        self.feed(((event.event_id, event.time, event.fields, event.source),))

    def feed(self, rows: Sequence[Row]) -> None:
        """Events as rows: (event id, UTC ISO time, fields, where it was read)."""
        handlers = self._handlers
        unknown: list[int] = []
        # a trace holds many events a second: the second's start is looked up when the second changes
        second, base = "\0", 0
        for event_id, time, fields, source in rows:
            handle = handlers.get(event_id)
            if handle is None:
                unknown.append(event_id)
                continue
            if not time.startswith(second):
                second = time[:19]
                base = _second_micros(second) if second >= "1980" else 0
            fraction = time[20:26]  # `micros` inline: this loop runs for every event
            handle(fields, base + int(fraction) if base and fraction.isdigit() else base, time, source)
        self._count(rows, unknown)

    def _count(self, rows: Sequence[Row], unknown: list[int]) -> None:
        """Count a batch's events by id and widen the span seen (C-level passes over the batch)."""
        self.by_id.update(map(_EVENT_ID, rows))
        times = list(map(_TIME, rows))
        if unknown:
            self.by_id.subtract(unknown)
            for event_id in set(unknown):
                del self.by_id[event_id]
            times = [row[1] for row in rows if row[0] in self._handlers]
        if not times:
            return
        # the times are all written alike, so as strings they sort as times
        low, high = min(times), max(times)
        if low < "1980" or not micros(low) or not micros(high):  # a zero or unreadable time among them
            times = [time for time in times if time >= "1980" and micros(time)]
            if not times:
                return
            low, high = min(times), max(times)
        if not self.first_seen or low < self.first_seen:
            self.first_seen = low
        self.last_seen = max(self.last_seen, high)

    def _start(self, fields: dict[str, str], now: int, time: str, source: str) -> None:
        operation_id = fields.get("OperationId", "")
        if not operation_id:
            return
        if len(self.open) >= MAX_OPEN and operation_id not in self.open:
            self.open_overflow += 1
            return
        get = fields.get
        # a busy client asks the same thing over and over: each distinct ask is parsed once
        asked = (get("Operation"), get("NamespaceName"), get("ClientProcessId"), get("ClientMachine"), get("User"))
        request = self._requests.get(asked)
        if request is None:
            if len(self._requests) >= MAX_COMBOS:
                self._requests.clear()
            request = self._requests[asked] = _request(fields)
            self.client_users.setdefault(request.client, request.user)
        self.open[operation_id] = (get("GroupOperationId", ""), now, time, request, source)
        self._see_concurrency(now)
        if self.early_stops:
            early = self.early_stops.pop(operation_id, None)
            if early is not None:
                self._stop(early[1], early[0])

    def _see_concurrency(self, now: int) -> None:
        second = now // 1_000_000
        peak = self.concurrency.get(second)
        if peak is not None:
            if len(self.open) > peak:
                self.concurrency[second] = len(self.open)
        elif len(self.concurrency) < MAX_SECONDS:
            self.concurrency[second] = len(self.open)

    def _stop_event(self, fields: dict[str, str], now: int, time: str, source: str) -> None:
        self._stop(fields, now)

    def _stop(self, fields: dict[str, str], now: int) -> None:
        operation_id = fields.get("OperationId")
        if operation_id is None:
            operation_id = fields.get("OperationID", "")
        opened = self.open.pop(operation_id, None)
        if opened is None:
            if len(self.early_stops) < MAX_OPEN:
                self.early_stops[operation_id] = (now, fields)
            return
        self._see_concurrency(now)
        group_id, start, started, request, source = opened
        duration = now - start if now and start and now > start else 0
        code = fields.get("ResultCode", "")
        if code in _SUCCESS or code.lower() in _SUCCESS:
            code = ""
        self.completed += 1
        if code:
            self.failures[code] += 1
        # one tally per distinct (request, provider): the per-dimension tables are merged from these at the end,
        # one update per operation instead of seven
        combo = (request, self.groups.get(group_id, ""))
        tally = self.combos.get(combo)
        if tally is None:
            if len(self.combos) >= MAX_COMBOS:
                combo = (Request(*(OTHER,) * 6), OTHER)
                tally = self.combos.get(combo)
            if tally is None:
                tally = self.combos[combo] = Tally()
        pending = tally.pending
        pending.append(duration)
        if code:
            tally.failures[code] += 1
        if len(pending) >= PENDING:
            tally.settle()
        key = (request.client, start // 1_000_000)
        if key in self.client_seconds or len(self.client_seconds) < MAX_SECONDS:
            self.client_seconds[key] += duration
        slowest = self.slowest
        if len(slowest) < KEEP_SLOWEST or duration > slowest[0].duration_us:
            kept = Operation(operation_id, group_id, start, started, request, source, duration, code)
            (heapq.heappush if len(slowest) < KEEP_SLOWEST else heapq.heapreplace)(slowest, kept)

    def _provider(self, fields: dict[str, str], now: int, time: str, source: str) -> None:
        name = fields.get("ProviderName", "")
        group = fields.get("GroupOperationId", "")
        self.provider_loads[(name, fields.get("HostId", ""), fields.get("Path", ""))] += 1
        if group and name and (group in self.groups or len(self.groups) < MAX_GROUPS):
            self.groups[group] = name

    def _method(self, fields: dict[str, str], now: int, time: str, source: str) -> None:
        self.methods[f"{fields.get('ClassName', '')}::{fields.get('MethodName', '')}"] += 1
        operation_id = fields.get("OperationId", "")
        opened = self.open.get(operation_id)
        if opened is not None and not opened[3].class_name:
            group_id, start, started, request, source = opened
            request = request._replace(class_name=fields.get("ClassName", ""))
            self.open[operation_id] = (group_id, start, started, request, source)

    def _process(self, fields: dict[str, str], now: int, time: str, source: str) -> None:
        if len(self.processes_created) < 100:
            self.processes_created.append(
                {k: fields.get(k, "") for k in ("Commandline", "CreatedProcessId", "ClientProcessId", "User")}
            )

    def _count_only(self, fields: dict[str, str], now: int, time: str, source: str) -> None:
        """Errors, consumers and the like: counted by id, nothing to pair."""

    # --- results -------------------------------------------------------------------------------------
    def finish(self) -> None:
        """Close the trace: what is still open never finished inside it; a stop whose start never came
        belongs to an operation that began before the trace did."""
        self.orphan_stops += len(self.early_stops)
        self.early_stops.clear()
        for ((client, user, namespace, method, class_name, target), provider), tally in self.combos.items():
            tally.settle()
            request = f"{method} {class_name}".strip()
            self.clients.merge(client, tally)
            self.users.merge(user or "(none)", tally)
            self.namespaces.merge(namespace.lower() or "(none)", tally, namespace)
            self.classes.merge(request, tally, target)
            self.client_classes.merge(f"{client}\t{request}", tally)
            self.queries.merge(f"{method} {target}".strip(), tally)
            if provider:
                self.providers.merge(provider, tally)
        self.combos.clear()
        for table in (self.clients, self.users, self.namespaces, self.classes, self.client_classes, self.queries):
            table.thin()
        self.providers.thin()
        self.unfinished = sorted(
            (Operation(operation_id, *opened) for operation_id, opened in self.open.items()),
            key=lambda o: (o.start_us, o.operation_id),
        )

    @property
    def events(self) -> int:
        return self.by_id.total()

    @property
    def first_us(self) -> int:
        return micros(self.first_seen) if self.first_seen else 0

    @property
    def last_us(self) -> int:
        return micros(self.last_seen) if self.last_seen else 0

    @property
    def busy_us(self) -> int:
        return sum(t.total_us for t in self.clients.tallies.values())

    @property
    def span_us(self) -> int:
        return max(0, self.last_us - self.first_us)

    def slowest_first(self) -> list[Operation]:
        return sorted(self.slowest, key=lambda o: (-o.duration_us, o.start_us))
