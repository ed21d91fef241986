"""Fill Evidence from the collector's WMI query results (wmi/*.json, written when WMI answered).

Each file is one JSON object; an `errors` list in it names what the collector could not read (a
namespace that refused, a class that timed out), which makes the section partial. The formats are
those `collect/Collect-WmiDoctor.ps1` writes; the sample bundles in examples/bundles show each one.
"""

from __future__ import annotations

from typing import Any

from wmidoctor.artifacts.registry import security
from wmidoctor.evidence import Evidence, Section, Setting
from wmidoctor.evidence.model import Binding, EventConsumer, EventFilter, Namespace, Provider, ProviderHost, Timer
from wmidoctor.knowledge.rights import NAMESPACE
from wmidoctor.sources.registry import normalise_clsid

DOMAIN_ROLES = {
    0: "standalone-workstation",
    1: "member-workstation",
    2: "standalone-server",
    3: "member-server",
    4: "domain-controller",
    5: "domain-controller",
}
QUOTA_PROPERTIES = {
    "memory_per_host": "MemoryPerHost",
    "memory_all_hosts": "MemoryAllHosts",
    "threads_per_host": "ThreadsPerHost",
    "handles_per_host": "HandlesPerHost",
    "process_limit_all_hosts": "ProcessLimitAllHosts",
}


class QueryFormatError(ValueError):
    """The file is JSON but not in the shape the collector writes."""


def as_list(value: Any) -> list[Any]:
    """A JSON array as Windows PowerShell 5.1's ConvertTo-Json may write it: a one-item array piped in comes
    out as the item itself, and an array wrapped in a PSObject as `{"value": [...], "Count": n}`."""
    if value is None:
        return []
    if isinstance(value, dict) and set(value) == {"value", "Count"} and isinstance(value["value"], list):
        return value["value"]
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _object(data: Any, name: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise QueryFormatError(f"{name}: expected a JSON object, found {type(data).__name__}")
    return data


def _finish(section: Section, source: str, data: dict[str, Any]) -> None:
    errors = [_text(e.get("error", e)) if isinstance(e, dict) else _text(e) for e in as_list(data.get("errors"))]
    for error in errors:
        section.problems.append(f"{source}: {error}")
    section.mark_collected(
        source, f"the collector could not read everything ({len(errors)} errors)" if errors else None
    )


def fill_identity(evidence: Evidence, data: Any, source: str) -> None:
    data = _object(data, source)
    section = evidence.identity
    system = data.get("ComputerSystem") or {}
    os_info = data.get("OperatingSystem") or {}
    section.host = _text(system.get("Name")) or section.host
    section.domain = _text(system.get("Domain")) or section.domain
    role = _int(system.get("DomainRole"))
    if role is not None:
        section.domain_role = DOMAIN_ROLES.get(role, str(role))
    section.os_caption = _text(os_info.get("Caption")).strip() or section.os_caption
    section.os_version = _text(os_info.get("Version")) or section.os_version
    section.os_build = _text(os_info.get("BuildNumber")) or section.os_build
    section.time_zone = _text(data.get("TimeZone")) or section.time_zone
    section.language = _text(data.get("UICulture")) or section.language
    _finish(section, source, data)


def fill_namespaces(evidence: Evidence, data: Any, source: str) -> None:
    data = _object(data, source)
    section = evidence.namespaces
    known = {n.name.lower(): n for n in section.namespaces}
    for item in as_list(data.get("namespaces")):
        name = _text(item.get("name")) if isinstance(item, dict) else _text(item)
        if not name:
            continue
        entry = known.get(name.lower())
        if entry is None:
            entry = known[name.lower()] = Namespace(name, source=f"{source}#{name}")
            section.namespaces.append(entry)
        sddl = _text(item.get("sddl")) if isinstance(item, dict) else ""
        if sddl:
            entry.security = security.decode(sddl, NAMESPACE, f"{source}#{name}", section.problems)
        if isinstance(item, dict) and item.get("error"):
            section.problems.append(f"{source}: {name}: {item['error']}")
        if isinstance(item, dict) and isinstance(item.get("requires_encryption"), bool):
            entry.requires_encryption = item["requires_encryption"]
    _finish(section, source, data)


def fill_providers(evidence: Evidence, data: Any, source: str) -> None:
    data = _object(data, source)
    section = evidence.providers
    for item in as_list(data.get("providers")):
        if not isinstance(item, dict) or not item.get("name"):
            continue
        namespace, name = _text(item.get("namespace")), _text(item["name"])
        clsid = normalise_clsid(_text(item.get("clsid"))) or None
        section.providers.append(
            Provider(
                namespace=namespace,
                name=name,
                clsid=clsid,
                hosting_model=_text(item.get("hosting_model")) or None,
                registrations=sorted(_text(r) for r in as_list(item.get("registrations"))),
                source=f"{source}#{namespace}:{name}",
            )
        )
    _finish(section, source, data)


def fill_quotas(evidence: Evidence, data: Any, source: str) -> None:
    data = _object(data, source)
    section = evidence.quotas
    for attribute, name in QUOTA_PROPERTIES.items():
        value = _int(data.get(name))
        if value is not None:
            setattr(section, attribute, Setting(value, f"{source}#{name}"))
    _finish(section, source, data)


def fill_provider_hosts(evidence: Evidence, data: Any, source: str) -> None:
    data = _object(data, source)
    section = evidence.provider_hosts
    for item in as_list(data.get("hosts")):
        host = provider_host(item, source, "WmiPrvSE.exe")
        if host is not None:
            section.hosts.append(host)
    _finish(section, source, data)


def provider_host(item: Any, source: str, default_name: str) -> ProviderHost | None:
    """A process with its figures, as the collector writes it; None without a process id."""
    pid = _int(item.get("pid")) if isinstance(item, dict) else None
    if pid is None:
        return None
    return ProviderHost(
        pid=pid,
        process_name=_text(item.get("process_name")) or default_name,
        hosting_model=_text(item.get("hosting_model")),
        user=_text(item.get("user")),
        providers=[_text(p) for p in as_list(item.get("providers"))],
        working_set=_int(item.get("working_set")),
        private_bytes=_int(item.get("private_bytes")),
        handles=_int(item.get("handles")),
        threads=_int(item.get("threads")),
        source=f"{source}#pid {pid}",
    )


def fill_subscriptions(evidence: Evidence, data: Any, source: str) -> None:
    data = _object(data, source)
    section = evidence.subscriptions
    for item in filter(lambda i: isinstance(i, dict), as_list(data.get("filters"))):
        namespace, name = _text(item.get("namespace")), _text(item.get("name"))
        section.filters.append(
            EventFilter(
                namespace,
                name,
                _text(item.get("query")),
                _text(item.get("query_language")) or "WQL",
                _text(item.get("event_namespace")),
                _text(item.get("creator_sid")),
                f"{source}#{namespace}:__EventFilter.Name={name!r}",
            )
        )
    for item in filter(lambda i: isinstance(i, dict), as_list(data.get("consumers"))):
        namespace, class_name, name = _text(item.get("namespace")), _text(item.get("class")), _text(item.get("name"))
        properties = item.get("properties") if isinstance(item.get("properties"), dict) else {}
        section.consumers.append(
            EventConsumer(
                namespace,
                class_name,
                name,
                {k: _text(v) for k, v in properties.items() if v not in (None, "")},
                _text(item.get("creator_sid")),
                f"{source}#{namespace}:{class_name}.Name={name!r}",
            )
        )
    for item in filter(lambda i: isinstance(i, dict), as_list(data.get("bindings"))):
        namespace = _text(item.get("namespace"))
        section.bindings.append(
            Binding(
                namespace,
                _text(item.get("filter")),
                _text(item.get("consumer")),
                f"{source}#{namespace}:__FilterToConsumerBinding",
            )
        )
    for item in filter(lambda i: isinstance(i, dict), as_list(data.get("timers"))):
        namespace, class_name = _text(item.get("namespace")), _text(item.get("class"))
        section.timers.append(
            Timer(
                namespace,
                class_name,
                _text(item.get("timer_id")),
                _int(item.get("interval_ms")),
                f"{source}#{namespace}:{class_name}",
            )
        )
    _finish(section, source, data)


FILLERS = {
    "WmiIdentity": fill_identity,
    "WmiNamespaces": fill_namespaces,
    "WmiProviders": fill_providers,
    "WmiQuotas": fill_quotas,
    "WmiProviderHosts": fill_provider_hosts,
    "WmiSubscriptions": fill_subscriptions,
}
