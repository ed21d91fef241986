"""Fill Evidence from an offline WMI repository: repository (files, verify verdict), providers,
namespaces (with their security descriptors), subscriptions and provider-host quotas.

The same functions feed `wmidoctor repo providers/persistence`, so the verbs and `diagnose` see one
picture. Locators: `repository:<namespace>:<object path>`.
"""

from __future__ import annotations

from typing import Any

from wmidoctor.artifacts.registry import security
from wmidoctor.artifacts.registry.security import SecurityDescriptorError, sid_from_bytes
from wmidoctor.artifacts.repository import Instance, Repository, VerifyReport, verify
from wmidoctor.artifacts.repository.model import NOT_SET, EmbeddedObject
from wmidoctor.artifacts.repository.mof_text import literal
from wmidoctor.evidence import Evidence, Setting
from wmidoctor.evidence.model import (
    Binding,
    EventConsumer,
    EventFilter,
    Namespace,
    Namespaces,
    Provider,
    Quotas,
    RepositoryFile,
    RepositoryVerification,
    Subscriptions,
    Timer,
)
from wmidoctor.knowledge.rights import NAMESPACE

SOURCE = "repository"
OFFLINE_METHOD = "offline reader"
CONSUMER_BASE = "__EventConsumer"
REGISTRATION_BASE = "__ProviderRegistration"
TIMER_CLASSES = ("__IntervalTimerInstruction", "__AbsoluteTimerInstruction")
QUOTA_PROPERTIES = {
    "memory_per_host": "MemoryPerHost",
    "memory_all_hosts": "MemoryAllHosts",
    "threads_per_host": "ThreadsPerHost",
    "handles_per_host": "HandlesPerHost",
    "process_limit_all_hosts": "ProcessLimitAllHosts",
}
# Consumer properties every consumer class inherits; the rest (payloads, targets) go into `properties`.
CONSUMER_COMMON = {"Name", "CreatorSID", "MachineName", "MaximumQueueSize"}


def locator(instance: Instance) -> str:
    return f"{SOURCE}:{instance.namespace}:{instance.path()}"


def text(value: Any) -> str:
    """A property value as display text ("" when not set)."""
    if value is NOT_SET or value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(text(v) for v in value)
    if isinstance(value, EmbeddedObject):
        return literal(value)
    return str(value)


def creator_sid(value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(b, int) for b in value):
        try:
            return sid_from_bytes(bytes(value))[0]
        except (SecurityDescriptorError, ValueError):
            return ""
    return ""


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _provider_name_of(reference: Any) -> str:
    """`__Win32Provider.Name="CIMWin32"` -> CIMWin32."""
    if not isinstance(reference, str) or "=" not in reference:
        return ""
    return reference.split("=", 1)[1].strip().strip('"').replace('\\"', '"').replace("\\\\", "\\")


def providers(repository: Repository) -> list[Provider]:
    """Every __Win32Provider of every namespace, with the classes of its registrations."""
    found = []
    for namespace in repository.namespaces():
        instances = repository.instances(namespace, "__Win32Provider")
        if not instances:
            continue
        registrations: dict[str, list[str]] = {}
        for registration in repository.instances_deep(namespace, REGISTRATION_BASE):
            name = _provider_name_of(registration.values.get("provider"))
            registrations.setdefault(name.lower(), []).append(registration.class_name)
        for instance in instances:
            name = text(instance.values.get("Name"))
            found.append(
                Provider(
                    namespace,
                    name,
                    _optional_str(instance.values.get("CLSID")),
                    _optional_str(instance.values.get("HostingModel")),
                    sorted(registrations.get(name.lower(), [])),
                    locator(instance),
                )
            )
    return found


# The system classes a subscription read decodes: the subscription classes, their ancestors and __NAMESPACE
# (to name the namespaces). Their definitions live in __SystemClass.
SUBSCRIPTION_CLASSES = (
    "__EventFilter",
    "__FilterToConsumerBinding",
    CONSUMER_BASE,
    *TIMER_CLASSES,
    "__TimerInstruction",
    "__EventGenerator",
    "__IndicationRelated",
    "__NAMESPACE",
    "__SystemClass",
)
MAX_CONSUMER_DEPTH = 4  # consumer classes deriving from consumer classes ...


def restrict_to_subscriptions(repository: Repository) -> None:
    """Make the repository answer from the index keys of the subscription classes only (found by a targeted
    search, not a walk of the whole index): `subscriptions` then reads in a fraction of the time. The
    repository is good for nothing else afterwards."""
    from wmidoctor.artifacts.repository.targeted import keys_holding

    table = repository.mappings.index
    if table is None:
        return
    data, digest = repository.index_data, repository.hash
    done: set[int] = set()
    fragments = [f"{kind}_{digest(name)}" for name in SUBSCRIPTION_CLASSES for kind in ("CI", "CD", "CR")]
    keys = keys_holding(data, table, fragments, done)
    known: set[str] = set()
    parents = {digest(CONSUMER_BASE)}
    for _ in range(MAX_CONSUMER_DEPTH):
        children = {
            parts[2][2:]
            for parts in (key.split("/") for key in keys)
            if len(parts) == 3 and parts[1][3:] in parents and parts[1].startswith("CR_") and parts[2].startswith("C_")
        } - known
        if not children:
            break
        known |= children
        keys += keys_holding(data, table, [f"{kind}_{h}" for h in children for kind in ("CI", "CD", "CR")], done)
        parents = children
    repository.restrict_index(keys)


def subscriptions(repository: Repository) -> Subscriptions:
    section = Subscriptions()
    for namespace in repository.namespaces():
        for instance in repository.instances_deep(namespace, "__EventFilter"):
            values = instance.values
            section.filters.append(
                EventFilter(
                    namespace,
                    text(values.get("Name")),
                    text(values.get("Query")),
                    text(values.get("QueryLanguage")) or "WQL",
                    text(values.get("EventNamespace")),
                    creator_sid(values.get("CreatorSID")),
                    locator(instance),
                )
            )
        for instance in repository.instances_deep(namespace, CONSUMER_BASE):
            values = instance.values
            payload = {
                name: text(value)
                for name, value in values.items()
                if name not in CONSUMER_COMMON and value is not NOT_SET and text(value)
            }
            section.consumers.append(
                EventConsumer(
                    namespace,
                    instance.class_name,
                    text(values.get("Name")),
                    payload,
                    creator_sid(values.get("CreatorSID")),
                    locator(instance),
                )
            )
        for instance in repository.instances_deep(namespace, "__FilterToConsumerBinding"):
            section.bindings.append(
                Binding(
                    namespace,
                    text(instance.values.get("Filter")),
                    text(instance.values.get("Consumer")),
                    locator(instance),
                )
            )
        for class_name in TIMER_CLASSES:
            for instance in repository.instances(namespace, class_name):
                interval = instance.values.get("IntervalBetweenEvents")
                section.timers.append(
                    Timer(
                        namespace,
                        class_name,
                        text(instance.values.get("TimerId")),
                        interval if isinstance(interval, int) else None,
                        locator(instance),
                    )
                )
    return section


def namespaces(repository: Repository) -> Namespaces:
    """Every namespace, with its security descriptor from __thisNAMESPACE=@ when that decodes."""
    section = Namespaces()
    for name in repository.namespaces():
        entry = Namespace(name, source=f"{SOURCE}:{name}")
        for instance in repository.instances(name, "__thisNAMESPACE"):
            blob = instance.values.get("SECURITY_DESCRIPTOR")
            if isinstance(blob, list) and blob:
                try:
                    entry.security = security.parse_binary(bytes(blob), NAMESPACE)
                    entry.security.source = locator(instance)
                except (SecurityDescriptorError, ValueError) as exc:
                    section.problems.append(f"{name}: namespace security descriptor does not decode: {exc}")
        section.namespaces.append(entry)
    return section


def quotas(repository: Repository) -> Quotas:
    section = Quotas()
    for instance in repository.instances("ROOT", "__ProviderHostQuotaConfiguration"):
        for field_name, property_name in QUOTA_PROPERTIES.items():
            value = instance.values.get(property_name)
            if isinstance(value, int):
                setattr(section, field_name, Setting(value, f"{locator(instance)}!{property_name}"))
    return section


def repository_files(repository: Repository) -> list[RepositoryFile]:
    return [RepositoryFile(path.name, path.stat().st_size) for _, path in sorted(repository.files.items())]


def verification(report: VerifyReport) -> RepositoryVerification:
    counts = ", ".join(f"{n} {k}" for k, n in report.counts.items() if k in ("namespaces", "classes", "instances"))
    return RepositoryVerification(
        report.verdict.lower(),
        OFFLINE_METHOD,
        counts,
        [str(p) for p in report.problems[:50]],
        f"{SOURCE}:{report.path}",
    )


def fill_evidence(evidence: Evidence, repository: Repository, report: VerifyReport | None = None) -> None:
    """Fill the repository, providers, namespaces, subscriptions and quotas sections."""
    source = f"{SOURCE}:{repository.path}"
    report = report or verify(repository)
    section = evidence.repository
    section.files = repository_files(repository)
    section.corrupted_rec = "CORRUPTED.REC" in repository.files
    section.verifications.append(verification(report))
    partial = None if report.consistent else f"repository {report.verdict.lower()}: some objects may be unread"
    section.mark_collected(source)
    section.problems.extend(str(p) for p in report.problems[:50])
    filled: list[tuple[Any, Any]] = [
        (evidence.providers, lambda: setattr(evidence.providers, "providers", providers(repository))),
        (evidence.namespaces, lambda: _copy(namespaces(repository), evidence.namespaces)),
        (evidence.subscriptions, lambda: _copy(subscriptions(repository), evidence.subscriptions)),
        (evidence.quotas, lambda: _copy(quotas(repository), evidence.quotas)),
    ]
    for target, fill in filled:
        fill()
        target.mark_collected(source, partial)


def _copy(source: Any, target: Any) -> None:
    """Copy the data fields of a freshly built section into the evidence's section."""
    for name, value in vars(source).items():
        if name in ("status", "reason", "sources"):
            continue
        if name == "problems":
            target.problems.extend(value)
        else:
            setattr(target, name, value)
