"""An index over the linted files: classes per namespace, providers, aliases, so that rules resolve
names across files the way one mofcomp run over all of them would."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from wmidoctor.artifacts.mof import AliasRef, ClassDecl, Instance, MofDocument, Position
from wmidoctor.artifacts.mof.namespace import resolve_namespace

# `__Win32Provider.Name="X"` or the key-only shorthand `__Win32Provider="X"`, optionally after `ns:`.
PROVIDER_PATH = re.compile(
    r'^\s*(?:(?P<ns>[^:]*):)?\s*__Win32Provider\s*(?:\.\s*Name\s*)?=\s*(?P<q>["\'])'
    r"(?P<name>.*)(?P=q)\s*$",
    re.I,
)


def ns_key(namespace: str | None) -> str:
    """Namespaces compare case-insensitively; None (no pragma yet) is its own bucket."""
    return (namespace or "").lower()


@dataclass(frozen=True)
class Located:
    """A statement and the document it came from."""

    document: MofDocument
    item: Any


@dataclass
class FileSet:
    documents: list[MofDocument]
    classes: dict[tuple[str, str], list[Located]] = field(default_factory=lambda: defaultdict(list))
    class_names: set[str] = field(default_factory=set)
    providers: dict[tuple[str, str], list[Located]] = field(default_factory=lambda: defaultdict(list))
    aliases: dict[int, dict[str, list[Instance]]] = field(default_factory=dict)

    provider_instances: list[Located] = field(default_factory=list)

    @classmethod
    def build(cls, documents: list[MofDocument]) -> FileSet:
        index = cls(documents)
        for document in documents:
            for decl in document.classes:
                index.classes[(ns_key(decl.namespace), decl.name.lower())].append(Located(document, decl))
                index.class_names.add(decl.name.lower())
        for document in documents:
            aliases: dict[str, list[Instance]] = defaultdict(list)
            for instance in document.instances:
                for each in with_embedded(instance):
                    if each.alias:
                        aliases[each.alias.lower()].append(each)
                if index.is_provider(instance):
                    index.provider_instances.append(Located(document, instance))
                    name = index.value(instance, "Name")[0]
                    if isinstance(name, str):
                        index.providers[(ns_key(instance.namespace), name.lower())].append(Located(document, instance))
            index.aliases[id(document)] = aliases
        return index

    def is_provider(self, instance: Instance) -> bool:
        """An instance of __Win32Provider, or of a class the linted files derive from it."""
        if instance.is_provider:
            return True
        decl = self.find_class(instance.namespace, instance.class_name)
        if decl is None:
            return False
        chain, _ = self.superclass_chain(decl)
        return chain[-1].superclass is not None and chain[-1].superclass.lower() == "__win32provider"

    def value(self, instance: Instance, name: str) -> tuple[Any, Position | None]:
        """A property's value on an instance: assigned there, else the default its class chain declares."""
        assigned = instance.assignment(name)
        if assigned is not None:
            return assigned.value, assigned.position
        decl = self.find_class(instance.namespace, instance.class_name)
        if decl is not None:
            for ancestor in self.superclass_chain(decl)[0]:
                prop = ancestor.find_property(name)
                if prop is not None and prop.has_default:
                    return prop.default, prop.position
        return None, None

    def find_class(self, namespace: str | None, name: str) -> ClassDecl | None:
        found = self.classes.get((ns_key(namespace), name.lower()))
        return found[0].item if found else None

    def alias(self, document: MofDocument, name: str) -> Instance | None:
        found = self.aliases.get(id(document), {}).get(name.lower())
        return found[0] if found else None

    def superclass_chain(self, cls: ClassDecl) -> tuple[list[ClassDecl], bool]:
        """The class and its ancestors found in the file set; the flag says the chain is complete
        (it ends at a root class, not at a class declared elsewhere)."""
        chain = [cls]
        seen = {cls.name.lower()}
        current = cls
        while current.superclass:
            parent = self.find_class(current.namespace, current.superclass)
            if parent is None or parent.name.lower() in seen:
                return chain, False
            chain.append(parent)
            seen.add(parent.name.lower())
            current = parent
        return chain, True

    def referenced_provider(self, document: MofDocument, registration: Instance) -> tuple[str | None, str | None]:
        """(namespace, provider name) a registration's Provider property points at; name None if unreadable."""
        value = registration.get("Provider")
        if isinstance(value, AliasRef):
            target = self.alias(document, value.name)
            name = self.value(target, "Name")[0] if target is not None and self.is_provider(target) else None
            if target is not None and isinstance(name, str):
                return target.namespace, name
            return registration.namespace, None
        if isinstance(value, str):
            m = PROVIDER_PATH.match(value)
            if m:
                namespace = m.group("ns")
                if namespace:
                    namespace = resolve_namespace(None, namespace)
                return (namespace or registration.namespace), m.group("name")
        return registration.namespace, None


def with_embedded(instance: Instance) -> list[Instance]:
    """The instance and every instance embedded in its values (which may carry aliases too)."""
    found = [instance]
    for assignment in instance.assignments:
        stack = [assignment.value]
        while stack:
            value = stack.pop()
            if isinstance(value, Instance):
                found.extend(with_embedded(value))
            elif isinstance(value, list):
                stack.extend(value)
    return found
