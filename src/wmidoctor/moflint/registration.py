"""Rules about provider registration: dynamic classes, __Win32Provider instances, registration objects,
CLSIDs and hosting models."""

from __future__ import annotations

import re
from collections.abc import Iterator

from wmidoctor.artifacts.mof import AliasRef, ClassDecl, Instance, MofDocument, Position
from wmidoctor.knowledge.defaults import DEFAULT_HOSTING_MODEL, LOCAL_SYSTEM_HOSTING
from wmidoctor.moflint.fileset import FileSet, ns_key
from wmidoctor.moflint.finding import finding
from wmidoctor.moflint.known import is_inbox_provider
from wmidoctor.moflint.rules import LintFinding

GUID_IN_BRACES = re.compile(r"^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$")
HOSTING_SPECIFICATIONS = {
    name.lower(): name
    for name in (
        "NetworkServiceHost",
        "LocalServiceHost",
        "LocalSystemHost",
        "LocalSystemHostOrSelfHost",
        "NetworkServiceHostOrSelfHost",
        "SelfHost",
    )
}
RESERVED_HOSTING = {"wmicore", "wmicoreorselfhost", "decoupled:noncom"}
PRIVILEGED_HOSTING = frozenset(name.lower() for name in LOCAL_SYSTEM_HOSTING)
DECOUPLED = re.compile(r"^Decoupled:Com(?::FoldIdentity\((?P<fold>TRUE|FALSE)\))?$", re.I)
TRACE_EVENT_ROOTS = {"eventtrace", "msnt_systemtrace", "__extrinsicevent"}
GROUP_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def _namespace_label(namespace: str | None) -> str:
    """'namespace ROOT\\X', or what applies when no #pragma namespace set one."""
    return f"namespace {namespace}" if namespace else "the same namespace (none set by #pragma namespace)"


def check_dynamic_classes(files: FileSet) -> Iterator[LintFinding]:
    registered = _registered_providers(files)
    for (ns, _name), located in files.classes.items():
        for entry in located:
            cls, document = entry.item, entry.document
            if not cls.is_dynamic:
                continue
            chain, _ = files.superclass_chain(cls)
            provider = next((c.provider for c in chain if c.provider), None)
            if provider is None and _is_trace_event(chain):
                continue
            if provider is None:
                yield finding(
                    "MOF-DYNAMIC-NO-PROVIDER",
                    document,
                    cls.position,
                    f'class {cls.name} is [dynamic] but names no provider("...")',
                )
                continue
            if is_inbox_provider(provider):
                continue
            if (ns, provider.lower()) not in files.providers:
                yield finding(
                    "MOF-PROVIDER-MISSING",
                    document,
                    cls.position,
                    f'class {cls.name} is served by provider "{provider}", but no __Win32Provider '
                    f'named "{provider}" is declared in {_namespace_label(cls.namespace)}',
                )
            elif (ns, provider.lower()) not in registered:
                yield finding(
                    "MOF-REGISTRATION-MISSING",
                    document,
                    cls.position,
                    f'provider "{provider}" of class {cls.name} has no registration object '
                    f"(__InstanceProviderRegistration, __MethodProviderRegistration, ...) pointing at it",
                )


def _is_trace_event(chain: list[ClassDecl]) -> bool:
    """Event trace (ETW) classes are [dynamic] descriptions of events; no provider serves them."""
    names = {c.name.lower() for c in chain} | {(chain[-1].superclass or "").lower()}
    return bool(names & TRACE_EVENT_ROOTS)


def _registered_providers(files: FileSet) -> set[tuple[str, str]]:
    found = set()
    for document in files.documents:
        for registration in document.registrations:
            namespace, name = files.referenced_provider(document, registration)
            if name:
                found.add((ns_key(namespace), name.lower()))
    return found


def check_registrations(files: FileSet) -> Iterator[LintFinding]:
    for document in files.documents:
        for registration in document.registrations:
            namespace, name = files.referenced_provider(document, registration)
            where = registration.assignment("Provider")
            position = where.position if where else registration.position
            value = registration.get("Provider")
            if name is None and isinstance(value, AliasRef) and files.alias(document, value.name) is None:
                yield finding(
                    "MOF-REGISTRATION-DANGLING",
                    document,
                    position,
                    f"{registration.class_name}.Provider is {value.name}, but no instance is declared "
                    f"as {value.name} in this file",
                )
            elif name is None:
                yield finding(
                    "MOF-REGISTRATION-DANGLING",
                    document,
                    position,
                    f"{registration.class_name}.Provider does not refer to a __Win32Provider instance "
                    '(use the provider\'s alias, e.g. Provider = $P;, or __Win32Provider.Name="X")',
                )
            elif (ns_key(namespace), name.lower()) not in files.providers and not is_inbox_provider(name):
                yield finding(
                    "MOF-REGISTRATION-DANGLING",
                    document,
                    position,
                    f'{registration.class_name} points at provider "{name}", but no __Win32Provider '
                    f"of that name is declared in {_namespace_label(namespace)}",
                )
    registered = _registered_providers(files)
    for (ns, name), located in files.providers.items():
        if (ns, name) not in registered:
            entry = located[0]
            yield finding(
                "MOF-PROVIDER-UNUSED",
                entry.document,
                entry.item.position,
                f'__Win32Provider "{entry.item.get("Name")}" has no registration object pointing at it; '
                "WMI never routes a request to it",
            )


def check_providers(files: FileSet) -> Iterator[LintFinding]:
    for located in files.provider_instances:
        yield from _check_provider(files, located.document, located.item)


def _check_provider(files: FileSet, document: MofDocument, provider: Instance) -> Iterator[LintFinding]:
    name = files.value(provider, "Name")[0]
    hosting, hosting_at = files.value(provider, "HostingModel")
    decoupled = isinstance(hosting, str) and hosting.strip().lower().startswith("decoupled:com")
    clsid, clsid_at = files.value(provider, "CLSID")
    if clsid is None and not decoupled:
        yield finding(
            "MOF-CLSID-MISSING",
            document,
            provider.position,
            f'__Win32Provider "{name}" has no CLSID (only decoupled providers may omit it)',
        )
    elif clsid is not None and (not isinstance(clsid, str) or not GUID_IN_BRACES.match(clsid.strip())):
        yield finding(
            "MOF-CLSID-MALFORMED",
            document,
            clsid_at or provider.position,
            f'CLSID {clsid!r} of provider "{name}" is not a GUID in braces ({{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}})',
        )
    if hosting is None:
        yield finding(
            "MOF-HOSTING-DEFAULT",
            document,
            provider.position,
            f'provider "{name}" states no HostingModel; it runs as {DEFAULT_HOSTING_MODEL}',
        )
        return
    yield from _check_hosting(document, hosting_at or provider.position, name, hosting)


def _check_hosting(document: MofDocument, position: Position, name: object, hosting: object) -> Iterator[LintFinding]:
    if not isinstance(hosting, str):
        yield finding("MOF-HOSTING-UNKNOWN", document, position, f'HostingModel of provider "{name}" is not a string')
        return
    text = hosting.strip()
    decoupled = DECOUPLED.match(text)
    if decoupled:
        if (decoupled.group("fold") or "").upper() == "FALSE":
            yield finding(
                "MOF-HOSTING-PRIVILEGED",
                document,
                position,
                f'provider "{name}" is Decoupled:Com:FoldIdentity(FALSE): it may impersonate its '
                "callers' identity (risky when clients allow delegation)",
            )
        return
    if text.lower() in RESERVED_HOSTING:
        yield finding(
            "MOF-HOSTING-RESERVED",
            document,
            position,
            f'HostingModel "{text}" is reserved for Windows components; registration is refused',
        )
        return
    specification, _, group = text.partition(":")
    if specification.lower() not in HOSTING_SPECIFICATIONS or (group and not GROUP_NAME.match(group)):
        yield finding(
            "MOF-HOSTING-UNKNOWN",
            document,
            position,
            f'HostingModel "{text}" of provider "{name}" is not a known hosting model'
            + (
                f' (hosting group "{group}" must be letters, digits or underscores)'
                if specification.lower() in HOSTING_SPECIFICATIONS
                else ""
            ),
        )
    elif specification.lower() in PRIVILEGED_HOSTING:
        yield finding(
            "MOF-HOSTING-PRIVILEGED",
            document,
            position,
            f'provider "{name}" is hosted as {HOSTING_SPECIFICATIONS[specification.lower()]}: it runs '
            "as LocalSystem (Windows logs event 63); use NetworkServiceHost or LocalServiceHost "
            "unless LocalSystem is required",
        )
