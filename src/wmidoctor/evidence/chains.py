"""Subscription chains and WMI-started processes, assembled from every kind of evidence that describes them.

A permanent event subscription is a chain: an `__EventFilter` (the trigger, maybe fed by a timer), a
`__FilterToConsumerBinding`, and a consumer (what runs). The repository shows the chain as it is now;
WMI-Activity 5861 shows a binding being registered (with the MOF of both ends), 5859 a filter becoming
active; Sysmon 19/20/21 show each part created, modified or deleted and by whom; Sysmon 1 and Security 4688
show a consumer running (a process started by WmiPrvSE.exe or scrcons.exe). This module holds the facts
the log sources record (sightings, process starts, network logons, provider loads) and joins them with the
repository's subscriptions into one `Chain` per binding, so that every verb judges the same picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wmidoctor.evidence.model import Evidence

# operations a source can report about a part
PRESENT = "present"  # the repository holds it now
CREATED = "created"
MODIFIED = "modified"
DELETED = "deleted"
BOUND = "bound"  # WMI-Activity 5861: a binding registered (both ends described)
ACTIVATED = "activated"  # WMI-Activity 5859: the filter's query activated for a permanent consumer

# Sysmon 20 `Type` -> consumer class
SYSMON_CONSUMER_TYPES = {
    "command line": "CommandLineEventConsumer",
    "script": "ActiveScriptEventConsumer",
    "log file": "LogFileEventConsumer",
    "event log": "NTEventLogEventConsumer",
    "smtp": "SMTPEventConsumer",
}
# processes that run consumers (scrcons.exe: ActiveScript; WmiPrvSE.exe: CommandLine on current Windows)
CONSUMER_HOSTS = ("scrcons.exe", "wmiprvse.exe")


@dataclass
class SubscriptionSighting:
    """One source's statement about one part of a subscription (filter, consumer, binding or timer)."""

    kind: str  # filter | consumer | binding | timer
    operation: str  # present | created | modified | deleted | bound | activated
    name: str = ""  # filter / consumer / timer name; for a binding, the consumer's name
    namespace: str = ""  # where the part lives ("" when the source does not say)
    consumer_class: str = ""  # consumer (and binding): CommandLineEventConsumer, ...
    filter_name: str = ""  # binding: the filter's name
    query: str = ""  # filter
    event_namespace: str = ""  # filter: the namespace its query runs in
    properties: dict[str, str] = field(default_factory=dict)  # consumer: payload and target properties
    user: str = ""  # account or SID that made the change (Sysmon User, 5859 owner, CreatorSID)
    time: str = ""  # ISO 8601 UTC
    host: str = ""
    source: str = ""  # locator of the record or repository object
    what: str = ""  # the source in words: "Sysmon 20", "WMI-Activity 5861", "repository"


@dataclass
class ProcessStart:
    """A process start (Sysmon 1 or Security 4688) that involves WMI: started by WmiPrvSE.exe, scrcons.exe or
    WMIC.exe, or WMIC.exe itself."""

    image: str
    command_line: str = ""
    pid: str = ""  # decimal
    parent_image: str = ""
    parent_pid: str = ""  # decimal
    parent_command_line: str = ""
    user: str = ""
    logon_id: str = ""  # hexadecimal, lower case: "0xc93745"
    integrity: str = ""
    time: str = ""
    host: str = ""
    source: str = ""
    what: str = ""  # "Sysmon 1" | "Security 4688"


@dataclass
class NetworkLogon:
    """Security 4624 with logon type 3: who logged on over the network, from where, in which session."""

    user: str
    logon_id: str  # hexadecimal, lower case
    address: str = ""
    package: str = ""  # Kerberos | NTLM | Negotiate
    time: str = ""
    host: str = ""
    source: str = ""


@dataclass
class ProviderLoad:
    """WMI-Activity 5857: a provider loaded into a host process (CIMWin32 serves Win32_Process.Create)."""

    provider: str
    host_pid: str
    path: str = ""
    time: str = ""
    host: str = ""
    source: str = ""


@dataclass
class Chain:
    """One subscription: filter -> binding -> consumer, with every sighting of its parts and its runs."""

    consumer_name: str
    consumer_class: str = ""
    filter_name: str = ""  # "" when no binding names a filter
    namespace: str = ""
    query: str = ""
    event_namespace: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    creator: str = ""  # SID or account
    timers: list[str] = field(default_factory=list)  # "TimerId every N ms"
    sightings: list[SubscriptionSighting] = field(default_factory=list)
    runs: list[ProcessStart] = field(default_factory=list)
    bound: bool = False

    @property
    def state(self) -> str:
        """present (the repository holds it, or the last word of the logs is not a deletion), removed (the
        logs saw it deleted and no repository shows it)."""
        if any(s.operation == PRESENT for s in self.sightings):
            return PRESENT
        ordered = sorted(self.sightings, key=lambda s: s.time)
        last = {s.kind: s.operation for s in ordered}
        return "removed" if DELETED in last.values() else "seen"

    @property
    def sources(self) -> list[str]:
        """The kinds of evidence that saw it: "repository", "WMI-Activity 5861", "Sysmon 20", ..."""
        return list(dict.fromkeys(s.what for s in self.sightings))

    @property
    def first_seen(self) -> str:
        return min((s.time for s in self.sightings if s.time), default="")

    @property
    def label(self) -> str:
        return f'{self.filter_name or "(no filter)"} -> {self.consumer_class or "consumer"} "{self.consumer_name}"'


def _key(text: str) -> str:
    return text.strip().lower()


def _query_key(query: str) -> str:
    return " ".join(query.lower().split())


def _merge(chain: Chain, part: SubscriptionSighting) -> None:
    """Fill what the chain does not know yet from a sighting (the repository's objects come first)."""
    chain.sightings.append(part)
    chain.namespace = chain.namespace or part.namespace
    chain.creator = chain.creator or part.user
    if part.kind == "consumer" or part.kind == "binding":
        chain.consumer_class = chain.consumer_class or part.consumer_class
    if part.kind == "consumer":
        for name, value in part.properties.items():
            chain.properties.setdefault(name, value)
    if part.kind == "filter":
        chain.query = chain.query or part.query
        chain.event_namespace = chain.event_namespace or part.event_namespace


def repository_sightings(ev: Evidence) -> list[SubscriptionSighting]:
    """The subscriptions section (repository or live query) as `present` sightings."""
    from wmidoctor.knowledge.subscriptions import path_class, path_keys

    subs = ev.subscriptions
    what = "repository" if any(s.startswith("repository") for s in subs.sources) else "WMI query"
    found = [
        SubscriptionSighting(
            "filter",
            PRESENT,
            f.name,
            f.namespace,
            query=f.query,
            event_namespace=f.event_namespace,
            user=f.creator_sid,
            source=f.source,
            what=what,
        )
        for f in subs.filters
    ]
    found += [
        SubscriptionSighting(
            "consumer",
            PRESENT,
            c.name,
            c.namespace,
            c.class_name,
            properties=dict(c.properties),
            user=c.creator_sid,
            source=c.source,
            what=what,
        )
        for c in subs.consumers
    ]
    found += [
        SubscriptionSighting(
            "binding",
            PRESENT,
            path_keys(b.consumer).get("name", ""),
            b.namespace,
            path_class(b.consumer),
            filter_name=path_keys(b.filter).get("name", ""),
            source=b.source,
            what=what,
        )
        for b in subs.bindings
    ]
    return found


def assemble(ev: Evidence) -> list[Chain]:
    """Every subscription chain the evidence describes, one per (filter, consumer) binding plus one per
    consumer no binding names. Parts are matched by name (Sysmon does not name the namespace of a part)."""
    sightings = (repository_sightings(ev) if ev.subscriptions.collected else []) + list(ev.wmi_traces.sightings)
    filters: dict[str, list[SubscriptionSighting]] = {}
    consumers: dict[str, list[SubscriptionSighting]] = {}
    bindings: dict[tuple[str, str], list[SubscriptionSighting]] = {}
    activations: list[SubscriptionSighting] = []  # 5859 names no filter, only its query
    for s in sightings:
        if s.kind == "filter" and not s.name:
            activations.append(s)
        elif s.kind == "filter":
            filters.setdefault(_key(s.name), []).append(s)
        elif s.kind == "consumer":
            consumers.setdefault(_key(s.name), []).append(s)
        elif s.kind == "binding":
            bindings.setdefault((_key(s.filter_name), _key(s.name)), []).append(s)
    chains: list[Chain] = []
    for (filter_key, consumer_key), seen in bindings.items():
        parts = consumers.get(consumer_key, []) + filters.get(filter_key, [])
        chain = Chain(consumer_name=seen[0].name, filter_name=seen[0].filter_name, bound=True)
        for part in sorted(parts + seen, key=lambda p: p.operation != PRESENT):
            _merge(chain, part)
        chains.append(chain)
    bound_consumers = {consumer for _, consumer in bindings}
    for consumer_key, seen in consumers.items():
        if consumer_key in bound_consumers:
            continue
        chain = Chain(consumer_name=seen[0].name)
        for part in sorted(seen, key=lambda p: p.operation != PRESENT):
            _merge(chain, part)
        chains.append(chain)
    for activation in activations:
        for chain in chains:
            if chain.query and _query_key(chain.query) == _query_key(activation.query):
                chain.sightings.append(activation)
    _timers(ev, chains)
    _runs(ev.wmi_traces.processes, chains)
    return sorted(chains, key=lambda c: (c.namespace.lower(), c.consumer_name.lower(), c.filter_name.lower()))


def _timers(ev: Evidence, chains: list[Chain]) -> None:
    """A filter on __TimerEvent names its timer in the query (TimerID = 'x'); attach that timer."""
    for timer in ev.subscriptions.timers if ev.subscriptions.collected else []:
        every = f" every {timer.interval_ms} ms" if timer.interval_ms is not None else ""
        for chain in chains:
            if timer.timer_id and timer.timer_id.lower() in chain.query.lower():
                chain.timers.append(f"{timer.class_name} {timer.timer_id}{every}")


def image_name(path: str) -> str:
    return path.replace("/", "\\").rpartition("\\")[2].strip('"').lower()


def _payload_images(chain: Chain) -> set[str]:
    """Executable names a command-line consumer would start (ExecutablePath, first word of the template)."""
    names = set()
    for prop in ("ExecutablePath", "CommandLineTemplate"):
        value = chain.properties.get(prop, "").strip()
        if value:
            name = image_name(value[1:].partition('"')[0] if value.startswith('"') else value.split()[0])
            names |= {name, name if name.endswith(".exe") else name + ".exe"}
    return names


def _short_host(name: str) -> str:
    return name.split(".")[0].lower()


def _on_host(chain: Chain, process: ProcessStart) -> bool:
    """The process ran where the chain was seen (true when either side names no host)."""
    hosts = {_short_host(s.host) for s in chain.sightings if s.host}
    return not hosts or not process.host or _short_host(process.host) in hosts


def _runs(processes: list[ProcessStart], chains: list[Chain]) -> None:
    """Tie processes started by a consumer host to the chain whose payload they are: a command-line consumer
    by the executable it names, a script consumer by scrcons.exe when only one script chain exists."""
    scripts = [c for c in chains if c.consumer_class.lower() == "activescripteventconsumer"]
    for process in processes:
        if image_name(process.parent_image) not in CONSUMER_HOSTS:
            continue
        for chain in chains:
            if chain.consumer_class.lower() != "commandlineeventconsumer":
                continue
            if (
                image_name(process.image) in _payload_images(chain)
                and process.time >= chain.first_seen[:10]
                and _on_host(chain, process)
            ):
                chain.runs.append(process)
                break
        else:
            if (
                image_name(process.parent_image) == "scrcons.exe"
                and len(scripts) == 1
                and _on_host(scripts[0], process)
            ):
                scripts[0].runs.append(process)
