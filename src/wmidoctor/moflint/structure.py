"""Rules about the shape of the MOF: pragmas, namespaces, duplicates, keys, references, flavours."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from wmidoctor.artifacts.mof import AliasRef, ClassDecl, Instance, MofDocument, Position, Pragma, Qualifier
from wmidoctor.moflint.fileset import FileSet, ns_key, with_embedded
from wmidoctor.moflint.finding import finding
from wmidoctor.moflint.known import is_external_class
from wmidoctor.moflint.rules import LintFinding

NAMESPACE_ELEMENT = re.compile(r"^[A-Za-z0-9_]+$")
# Type names people write that MOF spells differently.
TYPE_HINTS = {
    "int8": "sint8",
    "int16": "sint16",
    "int32": "sint32",
    "int64": "sint64",
    "int": "sint32",
    "uint": "uint32",
    "integer": "sint32",
    "bool": "boolean",
    "float": "real32",
    "double": "real64",
    "char": "char16",
    "wchar": "char16",
    "byte": "uint8",
    "void": "",
}
FLAVOR_CONFLICTS = (
    ("tosubclass", "restricted"),
    ("tosubclass", "nottosubclass"),
    ("toinstance", "nottoinstance"),
    ("enableoverride", "disableoverride"),
)


def is_wdm_schema(document: MofDocument) -> bool:
    """A WDM driver MOF ([WMI] or guid(...) classes, no provider registration): the build compiles it into
    a binary resource of the driver and WMI loads it into root\\wmi itself, so neither #pragma namespace
    nor #pragma autorecover applies."""
    return (
        bool(document.classes)
        and not document.providers
        and any(c.qualifier("WMI") or c.qualifier("guid") for c in document.classes)
    )


def check_namespace_pragmas(files: FileSet) -> Iterator[LintFinding]:
    for document in files.documents:
        declarations = [s for s in document.statements if isinstance(s, (ClassDecl, Instance))]
        for pragma in document.pragmas:
            if pragma.name == "namespace":
                problem = namespace_problem(pragma)
                if problem:
                    yield finding("MOF-NAMESPACE-MALFORMED", document, pragma.position, problem)
        if declarations and declarations[0].namespace is None and not is_wdm_schema(document):
            yield finding(
                "MOF-NAMESPACE-MISSING",
                document,
                declarations[0].position,
                "no #pragma namespace before the first declaration: it lands in mofcomp's -N: "
                "namespace or root\\default, and autorecovery uses root\\default",
            )


def namespace_problem(pragma: Pragma) -> str | None:
    """Why a `#pragma namespace` path is malformed, or None when it is well formed."""
    if len(pragma.arguments) != 1 or not isinstance(pragma.arguments[0], str):
        return "#pragma namespace takes one string argument, the namespace path"
    raw = pragma.raw_arguments[0] if pragma.raw_arguments else ""
    single = [m.group(0) for m in re.finditer(r"\\(.)", raw) if m.group(1) != "\\"]
    if single:
        return (
            f'namespace path "{raw}" has a single backslash ({single[0]}); inside MOF strings write each '
            'backslash twice, e.g. "\\\\\\\\.\\\\root\\\\cimv2"'
        )
    path = pragma.arguments[0].strip().replace("/", "\\")
    if not path:
        return "empty namespace path"
    absolute = path.startswith("\\\\")
    if absolute:
        server, _, path = path[2:].partition("\\")
        if not server or not path:
            return f'namespace path "{pragma.arguments[0]}" must be \\\\server\\root\\... (\\\\.\\ for this computer)'
    elif path.startswith("\\"):
        return (
            f'namespace path "{pragma.arguments[0]}" starts with a single backslash; write '
            '"\\\\\\\\.\\\\root\\\\..." for an absolute path'
        )
    elements = path.split("\\")
    bad = next((e for e in elements if not NAMESPACE_ELEMENT.match(e)), None)
    if bad is not None:
        return (
            f'namespace path "{pragma.arguments[0]}" has an '
            + (f'invalid element "{bad}"' if bad else "empty element")
            + " (namespace names are letters, digits and underscores)"
        )
    if absolute and elements[0].lower() != "root":
        return f'absolute namespace path "{pragma.arguments[0]}" must start at root'
    return None


def check_autorecover(files: FileSet) -> Iterator[LintFinding]:
    for document in files.documents:
        if document.autorecover or not document.statements or is_wdm_schema(document):
            continue
        what = []
        if document.classes:
            what.append(f"declares {len(document.classes)} class(es)")
        if document.providers or document.registrations:
            what.append("registers providers")
        if what:
            yield finding(
                "MOF-AUTORECOVER-MISSING",
                document,
                Position(1, 1),
                f"no #pragma autorecover, yet the file {' and '.join(what)}: a repository rebuild "
                "recompiles only autorecover MOFs, so its contents would be lost",
            )


def check_duplicates(files: FileSet) -> Iterator[LintFinding]:
    for located in files.classes.values():
        first = located[0]
        for again in located[1:]:
            yield finding(
                "MOF-DUPLICATE-CLASS",
                again.document,
                again.item.position,
                f"class {again.item.name} is already declared at {first.document.path}:"
                f"{first.item.position.line} in the same namespace",
            )
    for document in files.documents:
        for instances in files.aliases.get(id(document), {}).values():
            for repeated in instances[1:]:
                yield finding(
                    "MOF-DUPLICATE-ALIAS",
                    document,
                    repeated.position,
                    f"alias {repeated.alias} is already declared at line {instances[0].position.line}",
                )


def check_keys(files: FileSet) -> Iterator[LintFinding]:
    reported: set[tuple[str, str]] = set()
    for document in files.documents:
        for instance in document.instances:
            cls = files.find_class(instance.namespace, instance.class_name)
            if cls is None or (ns_key(cls.namespace), cls.name.lower()) in reported:
                continue
            chain, complete = files.superclass_chain(cls)
            if not complete or any(c.qualifier("singleton") for c in chain):
                continue
            if not any(p.is_key for c in chain for p in c.properties):
                reported.add((ns_key(cls.namespace), cls.name.lower()))
                yield finding(
                    "MOF-KEY-MISSING",
                    document,
                    instance.position,
                    f"instance of {cls.name}, a class with no [key] property (declared at line "
                    f"{cls.position.line} of {_where(files, cls)}); mark its key or make it [singleton]",
                )


def _where(files: FileSet, cls: ClassDecl) -> str:
    located = files.classes[(ns_key(cls.namespace), cls.name.lower())]
    return located[0].document.path


def check_references(files: FileSet) -> Iterator[LintFinding]:
    for document in files.documents:
        aliases = files.aliases.get(id(document), {})
        for statement in document.statements:
            if isinstance(statement, ClassDecl):
                yield from _class_references(files, document, statement)
            elif isinstance(statement, Instance):
                for instance in with_embedded(statement):
                    yield from _undeclared(
                        files,
                        document,
                        statement.namespace,
                        instance.class_name,
                        instance.position,
                        f"instance of {instance.class_name}",
                    )
            for ref in _alias_refs(statement):
                if ref.name.lower() not in aliases and not _registration_provider(statement, ref):
                    yield finding(
                        "MOF-UNDECLARED-ALIAS",
                        document,
                        ref.position,
                        f"alias {ref.name} is not declared in this file (instance of ... as {ref.name})",
                    )


def _registration_provider(statement: Any, ref: AliasRef) -> bool:
    """The alias is a registration's Provider value, which MOF-REGISTRATION-DANGLING already reports."""
    return isinstance(statement, Instance) and statement.is_registration and statement.get("Provider") is ref


def _class_references(files: FileSet, document: MofDocument, cls: ClassDecl) -> Iterator[LintFinding]:
    if cls.superclass:
        yield from _undeclared(
            files, document, cls.namespace, cls.superclass, cls.position, f"superclass {cls.superclass} of {cls.name}"
        )
    members = [*cls.properties, *(p for m in cls.methods for p in m.parameters)]
    for member in members:
        if not member.type.is_datatype:
            yield from _undeclared(
                files,
                document,
                cls.namespace,
                member.type.name,
                member.position,
                f"type {member.type} of {member.name}",
            )
    for method in cls.methods:
        if not method.return_type.is_datatype and method.return_type.name.lower() != "void":
            yield from _undeclared(
                files,
                document,
                cls.namespace,
                method.return_type.name,
                method.position,
                f"return type {method.return_type} of {method.name}",
            )


def _undeclared(
    files: FileSet, document: MofDocument, namespace: str | None, name: str, position: Position, what: str
) -> Iterator[LintFinding]:
    if is_external_class(name) or files.find_class(namespace, name) is not None:
        return
    if namespace is None and name.lower() in files.class_names:
        return  # a file without #pragma namespace lands wherever mofcomp is pointed: any namespace may be meant
    hint = TYPE_HINTS.get(name.lower())
    if hint is not None:
        message = f"{what}: {name} is not a MOF data type" + (f" (did you mean {hint}?)" if hint else "")
    elif name.lower() in files.class_names:
        message = f"{what}: class {name} is declared in the linted files, but in another namespace"
    else:
        message = f"{what}: class {name} is not declared in the linted files nor a standard class"
    yield finding("MOF-UNDECLARED-CLASS", document, position, message)


def _alias_refs(statement: Any) -> Iterator[AliasRef]:
    """Every `$alias` used as a value anywhere in the statement."""
    stack: list[Any] = [statement]
    while stack:
        item = stack.pop()
        if isinstance(item, AliasRef):
            yield item
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, Instance):
            stack.extend(a.value for a in item.assignments)
        elif isinstance(item, ClassDecl):
            stack.extend(p.default for p in item.properties)


def check_flavors(files: FileSet) -> Iterator[LintFinding]:
    for document in files.documents:
        for qualifier in _all_qualifiers(document):
            flavors = {f.lower() for f in qualifier.flavors}
            for a, b in FLAVOR_CONFLICTS:
                if a in flavors and b in flavors:
                    yield finding(
                        "MOF-FLAVOR-CONFLICT",
                        document,
                        qualifier.position,
                        f"qualifier {qualifier.name} has contradicting flavours "
                        f"{_spelled(qualifier, a)} and {_spelled(qualifier, b)}",
                    )


def _spelled(qualifier: Qualifier, lower: str) -> str:
    return next(f for f in qualifier.flavors if f.lower() == lower)


def _all_qualifiers(document: MofDocument) -> Iterable[Qualifier]:
    for statement in document.statements:
        if isinstance(statement, ClassDecl):
            yield from statement.qualifiers
            for prop in statement.properties:
                yield from prop.qualifiers
            for method in statement.methods:
                yield from method.qualifiers
                for param in method.parameters:
                    yield from param.qualifiers
        elif isinstance(statement, Instance):
            yield from statement.qualifiers
            for assignment in statement.assignments:
                yield from assignment.qualifiers


def check_methods(files: FileSet) -> Iterator[LintFinding]:
    for document in files.documents:
        for cls in document.classes:
            if not cls.is_dynamic:
                continue
            for method in cls.methods:
                if not method.flag("implemented"):
                    yield finding(
                        "MOF-METHOD-NOT-IMPLEMENTED",
                        document,
                        method.position,
                        f"method {cls.name}.{method.name} is not marked [implemented]; WMI will not "
                        "call the provider for it",
                    )
