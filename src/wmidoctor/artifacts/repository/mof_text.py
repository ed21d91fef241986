"""A decoded class written back as MOF text, and values written as MOF literals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wmidoctor.artifacts.repository.decode import FLAVOR_PROPAGATED
from wmidoctor.artifacts.repository.model import NOT_SET, ClassDef, EmbeddedObject, Property, Qualifier

IMPLICIT_QUALIFIERS = {"cimtype"}  # implied by the declared type
INDENT = "  "


def literal(value: Any, indent: str | None = None) -> str:
    """`value` as a MOF literal. Embedded objects are written as `instance of Class {...}`: on one line
    when `indent` is None, else laid out over lines, nested under `indent`."""
    if value is NOT_SET or value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, EmbeddedObject):
        return _embedded(value, indent)
    if isinstance(value, list):
        if indent is not None and any(isinstance(v, EmbeddedObject) for v in value):
            inner = indent + INDENT
            return "{\n" + ",\n".join(inner + literal(v, inner) for v in value) + f"\n{indent}}}"
        return "{" + ", ".join(literal(v, indent) for v in value) + "}"
    return str(value)


def assignments(values: dict[str, Any], indent: str | None = None) -> list[str]:
    """`Name = literal;` for every value that is set (NOT_SET ones are left out, as MOF does)."""
    return [f"{name} = {literal(value, indent)};" for name, value in values.items() if value is not NOT_SET]


def _embedded(value: EmbeddedObject, indent: str | None) -> str:
    if value.is_class:
        return f"class {value.class_name}"
    if indent is None:
        return f"instance of {value.class_name} {{{' '.join(assignments(value.values))}}}"
    inner = indent + INDENT
    body = "".join(f"{inner}{line}\n" for line in assignments(value.values, inner))
    return f"instance of {value.class_name}\n{indent}{{\n{body}{indent}}}"


def _qualifiers(qualifiers: Sequence[Qualifier]) -> str:
    shown = []
    for q in qualifiers:
        if q.name.lower() in IMPLICIT_QUALIFIERS or q.flavor & FLAVOR_PROPAGATED:
            continue
        shown.append(q.name if q.value is True else f"{q.name}({literal(q.value)})")
    return f"[{', '.join(shown)}] " if shown else ""


def _declaration(prop: Property) -> str:
    base = prop.type.removesuffix("[]")
    if base == "reference":
        reference_type = prop.qualifier("CIMTYPE")
        base = (
            reference_type.split(":", 1)[1] + " ref"
            if isinstance(reference_type, str) and ":" in reference_type
            else "object ref"
        )
    suffix = "[]" if prop.type.endswith("[]") else ""
    default = "" if prop.default is NOT_SET else f" = {literal(prop.default)}"
    return f"{_qualifiers(prop.qualifiers)}{base} {prop.name}{suffix}{default};"


def class_mof(class_def: ClassDef, inherited: bool = False) -> str:
    """MOF for the class; its own properties only unless `inherited`."""
    header = f"{_qualifiers(class_def.qualifiers)}class {class_def.name}"
    if class_def.superclass:
        header += f" : {class_def.superclass}"
    lines = [header.strip(), "{"]
    own_level = len(class_def.derivation)
    for prop in sorted(class_def.properties.values(), key=lambda p: p.index):
        if inherited or prop.level >= own_level:
            lines.append(f"  {_declaration(prop)}")
    for method in class_def.methods:
        returns = next((p for p in method.parameters_out if p.name == "ReturnValue"), None)
        params = [
            f"[in] {p.type.removesuffix('[]')} {p.name}{'[]' if p.type.endswith('[]') else ''}"
            for p in method.parameters_in
        ]
        params += [
            f"[out] {p.type.removesuffix('[]')} {p.name}{'[]' if p.type.endswith('[]') else ''}"
            for p in method.parameters_out
            if p.name != "ReturnValue"
        ]
        lines.append(
            f"  {_qualifiers(method.qualifiers)}{returns.type if returns else 'void'} "
            f"{method.name}({', '.join(params)});"
        )
    lines.append("};")
    return "\n".join(lines)
