"""The parsed shape of a MOF file: statements with their positions, and the reader's diagnostics.

Plain data only: what the file says, where, and what could not be read. Whether a registration
is right is the linter's business (wmidoctor.moflint), not this model's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = [
    "REGISTRATION_CLASSES",
    "AliasRef",
    "Assignment",
    "ClassDecl",
    "Diagnostic",
    "Instance",
    "Method",
    "MofDocument",
    "Position",
    "Pragma",
    "Property",
    "Qualifier",
    "QualifierDecl",
    "TypeRef",
]

# Registration classes whose `Provider` property names the provider they register.
REGISTRATION_CLASSES = (
    "__InstanceProviderRegistration",
    "__MethodProviderRegistration",
    "__EventProviderRegistration",
    "__EventConsumerProviderRegistration",
    "__PropertyProviderRegistration",
    "__ClassProviderRegistration",
)
_REGISTRATION_LOWER = {name.lower() for name in REGISTRATION_CLASSES}


@dataclass(frozen=True, slots=True)
class Position:
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


EXCERPT_WIDTH = 160  # characters of a long source line shown around an error


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """Something the reader could not take as MOF: a syntax error, a preprocessor line, an encoding."""

    code: str  # MOF-SYNTAX, MOF-PREPROCESSOR, MOF-ENCODING, MOF-BINARY
    severity: str  # error | warning | info
    message: str
    position: Position
    source_line: str = ""

    def snippet(self) -> tuple[str, int]:
        """The offending line, cut to EXCERPT_WIDTH characters around the column on very long lines (a
        generated or minified MOF can hold megabytes on one line), and the column within that text."""
        line, column = self.source_line, self.position.column
        if len(line) <= EXCERPT_WIDTH:
            return line, column
        start = max(0, min(column - 1 - EXCERPT_WIDTH // 2, len(line) - EXCERPT_WIDTH))
        text = line[start : start + EXCERPT_WIDTH]
        column -= start
        if start > 0:
            text, column = "..." + text, column + 3
        if start + EXCERPT_WIDTH < len(line):
            text += "..."
        return text, column

    def excerpt(self) -> str:
        """The offending line and a caret under the column (empty when the line is unknown)."""
        if not self.source_line:
            return ""
        line, column = self.snippet()
        pad = "".join(ch if ch == "\t" else " " for ch in line[: max(column - 1, 0)])
        return f"{line}\n{pad}^"


@dataclass(frozen=True, slots=True)
class AliasRef:
    """`$Name` used as a value: a reference to the instance declared `as $Name`."""

    name: str
    position: Position


@dataclass(frozen=True, slots=True)
class Qualifier:
    name: str
    value: Any  # None for a bare qualifier such as [key]; True/False/str/int/float/list/AliasRef
    flavors: tuple[str, ...]
    position: Position
    has_value: bool = False

    @property
    def enabled(self) -> bool:
        """A bare qualifier, or one set to TRUE, is on (mofcomp's rule for [Key] and [Static])."""
        return not self.has_value or self.value is True


@dataclass(frozen=True, slots=True)
class TypeRef:
    name: str  # a data type (uint32, string, object...) or, for embedded objects and refs, a class name
    is_ref: bool = False
    is_datatype: bool = True

    def __str__(self) -> str:
        return f"{self.name} ref" if self.is_ref else self.name


class _Qualified:
    """Qualifier lookup by name (case-insensitive) for anything that carries `qualifiers`."""

    __slots__ = ()
    qualifiers: tuple[Qualifier, ...]

    def qualifier(self, name: str) -> Qualifier | None:
        lower = name.lower()
        return next((q for q in self.qualifiers if q.name.lower() == lower), None)

    def flag(self, name: str) -> bool:
        """The qualifier is present and on ([key], [key(true)]; not [key(false)])."""
        q = self.qualifier(name)
        return q is not None and q.enabled


@dataclass(frozen=True, slots=True)
class Property(_Qualified):
    name: str
    type: TypeRef
    qualifiers: tuple[Qualifier, ...]
    position: Position
    array: int | None = None  # None: scalar; 0: variable-length array; N: fixed size N
    default: Any = None
    has_default: bool = False

    @property
    def is_key(self) -> bool:
        return self.flag("key")


@dataclass(frozen=True, slots=True)
class Method(_Qualified):
    name: str
    return_type: TypeRef
    parameters: tuple[Property, ...]
    qualifiers: tuple[Qualifier, ...]
    position: Position


@dataclass(slots=True)
class ClassDecl(_Qualified):
    name: str
    superclass: str | None
    qualifiers: tuple[Qualifier, ...]
    properties: tuple[Property, ...]
    methods: tuple[Method, ...]
    position: Position
    namespace: str | None = None  # as set by the #pragma namespace in force; None: mofcomp's -N or default

    def find_property(self, name: str) -> Property | None:
        lower = name.lower()
        return next((p for p in self.properties if p.name.lower() == lower), None)

    @property
    def provider(self) -> str | None:
        q = self.qualifier("provider")
        return q.value if q is not None and isinstance(q.value, str) else None

    @property
    def is_dynamic(self) -> bool:
        return self.flag("dynamic")


@dataclass(frozen=True, slots=True)
class Assignment:
    name: str
    value: Any
    qualifiers: tuple[Qualifier, ...]
    position: Position


@dataclass(slots=True)
class Instance:
    class_name: str
    alias: str | None
    assignments: tuple[Assignment, ...]
    qualifiers: tuple[Qualifier, ...]
    position: Position
    namespace: str | None = None

    def get(self, name: str, default: Any = None) -> Any:
        """The value assigned to property `name` (case-insensitive), or `default`."""
        found = self.assignment(name)
        return found.value if found is not None else default

    def assignment(self, name: str) -> Assignment | None:
        lower = name.lower()
        return next((a for a in self.assignments if a.name.lower() == lower), None)

    @property
    def is_provider(self) -> bool:
        return self.class_name.lower() == "__win32provider"

    @property
    def is_registration(self) -> bool:
        return self.class_name.lower() in _REGISTRATION_LOWER


@dataclass(frozen=True, slots=True)
class QualifierDecl:
    name: str
    type: TypeRef
    position: Position
    array: int | None = None
    default: Any = None
    scopes: tuple[str, ...] = ()
    flavors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Pragma:
    name: str  # lower-cased: namespace, autorecover, classflags, deleteclass, include, locale, ...
    arguments: tuple[Any, ...]
    position: Position
    raw_arguments: tuple[str, ...] = ()  # string arguments as written, escapes not yet applied


Statement = Pragma | ClassDecl | Instance | QualifierDecl
_Kind = TypeVar("_Kind", Pragma, ClassDecl, Instance, QualifierDecl)


class _StatementsOf(Generic[_Kind]):
    """A read-only document attribute: its statements of one kind, in file order."""

    def __init__(self, kind: type[_Kind]) -> None:
        self.kind: type[_Kind] = kind

    def __get__(self, document: MofDocument, owner: type | None = None) -> list[_Kind]:
        return [s for s in document.statements if isinstance(s, self.kind)]


@dataclass(slots=True)
class MofDocument:
    """One MOF file as read: its statements in order, and what could not be read."""

    path: str
    encoding: str = "utf-8"
    statements: list[Statement] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the whole file was read as MOF (no error-level diagnostic)."""
        return not any(d.severity == "error" for d in self.diagnostics)

    pragmas = _StatementsOf(Pragma)
    classes = _StatementsOf(ClassDecl)
    instances = _StatementsOf(Instance)
    qualifier_decls = _StatementsOf(QualifierDecl)

    @property
    def autorecover(self) -> bool:
        return any(p.name == "autorecover" for p in self.pragmas)

    @property
    def namespaces(self) -> list[str]:
        """Every namespace the file switches to, in order (duplicates removed)."""
        seen: dict[str, None] = {}
        for p in self.pragmas:
            if p.name == "namespace" and p.arguments and isinstance(p.arguments[0], str):
                seen.setdefault(p.arguments[0], None)
        return list(seen)

    @property
    def providers(self) -> list[Instance]:
        """The `__Win32Provider` instances the file registers."""
        return [i for i in self.instances if i.is_provider]

    @property
    def registrations(self) -> list[Instance]:
        return [i for i in self.instances if i.is_registration]

    def summary(self) -> dict[str, Any]:
        """What `diagnose` wants from an autorecover MOF: what it registers, and whether it read."""
        return {
            "path": self.path,
            "encoding": self.encoding,
            "parsed": self.ok,
            "autorecover": self.autorecover,
            "namespaces": self.namespaces,
            "classes": [c.name for c in self.classes],
            "providers": [p.get("Name") for p in self.providers],
            "diagnostics": [f"{d.position}: {d.code} {d.message}" for d in self.diagnostics],
        }
