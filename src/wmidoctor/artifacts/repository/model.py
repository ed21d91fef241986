"""What the reader produces: problems, object references, and decoded classes and instances."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One piece of damage or inconsistency, with where it was met (whatever of it is known)."""

    kind: str  # short stable tag: "index-page-signature", "record-missing", "mapping-disagreement", ...
    detail: str
    file: str = ""
    page: int | None = None  # logical page number unless the detail says physical
    record: int | None = None
    namespace: str = ""
    class_name: str = ""

    def where(self) -> str:
        parts = [self.file] if self.file else []
        if self.page is not None:
            parts.append(f"page {self.page}")
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.namespace or self.class_name:
            parts.append(":".join(p for p in (self.namespace, self.class_name) if p))
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{self.detail} ({where})" if where else self.detail

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "detail": self.detail}
        for name in ("file", "page", "record", "namespace", "class_name"):
            value = getattr(self, name)
            if value not in ("", None):
                data[name] = value
        return data


@dataclass(frozen=True)
class ObjectRef:
    """Where an index key says an object lives in OBJECTS.DATA: logical page, record id, size."""

    page: int
    record: int
    size: int


class _NotSet:
    """The value of a property an instance leaves unset (distinct from an empty string or zero)."""

    _instance: _NotSet | None = None

    def __new__(cls) -> _NotSet:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_SET"

    def __bool__(self) -> bool:
        return False


NOT_SET: Any = _NotSet()


@dataclass(slots=True)
class Qualifier:
    name: str
    type: str  # CIM type name: "string", "boolean", "uint32[]", ...
    value: Any
    flavor: int = 0


@dataclass(slots=True)  # tens of thousands per repository: no __dict__ each, less for the collector to walk
class Property:
    name: str
    type: str
    index: int  # position in the instance's state bitmap
    offset: int  # byte offset of the value slot in the instance's value area
    level: int  # depth in the class chain where it is declared
    qualifiers: Sequence[Qualifier] = field(default_factory=list)
    default: Any = NOT_SET
    type_code: int = 0

    def qualifier(self, name: str) -> Any:
        wanted = name.lower()
        return next((q.value for q in self.qualifiers if q.name.lower() == wanted), None)

    @property
    def is_key(self) -> bool:
        return bool(self.qualifier("key"))


@dataclass
class EmbeddedObject:
    """An object stored as a property value: an instance (its set values) or, rarely, a class."""

    class_name: str
    values: dict[str, Any] = field(default_factory=dict)  # NOT_SET for properties left unset
    is_class: bool = False


@dataclass
class Method:
    name: str
    qualifiers: Sequence[Qualifier] = field(default_factory=list)
    parameters_in: Sequence[Property] = field(default_factory=list)
    parameters_out: Sequence[Property] = field(default_factory=list)


@dataclass
class ClassDef:
    namespace: str
    name: str
    superclass: str
    timestamp: int = 0  # FILETIME as stored
    qualifiers: Sequence[Qualifier] = field(default_factory=list)
    properties: dict[str, Property] = field(default_factory=dict)  # every property, inherited ones too
    methods: list[Method] = field(default_factory=list)
    value_area_size: int = 0
    derivation: list[str] = field(default_factory=list)  # superclass chain, nearest first

    def qualifier(self, name: str) -> Any:
        wanted = name.lower()
        return next((q.value for q in self.qualifiers if q.name.lower() == wanted), None)


@dataclass
class Instance:
    namespace: str
    class_name: str
    values: dict[str, Any] = field(default_factory=dict)  # NOT_SET for properties the instance leaves unset
    keys: list[str] = field(default_factory=list)  # key property names, inherited keys included
    created: int = 0  # FILETIMEs as stored
    modified: int = 0

    def path(self) -> str:
        """The relative object path: Class.Key="v",... or Class=@ for a singleton."""
        if not self.keys:
            return f"{self.class_name}=@"
        parts = []
        for key in self.keys:
            value = self.values.get(key, NOT_SET)
            if isinstance(value, str):
                escaped = value.replace("\\", "\\\\").replace('"', '\\"')
                parts.append(f'{key}="{escaped}"')
            else:
                parts.append(f"{key}={'' if value is NOT_SET else value}")
        return f"{self.class_name}.{','.join(parts)}"
