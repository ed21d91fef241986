"""Dataclasses to and from plain JSON data, driven by their type hints.

Evidence and findings are trees of dataclasses; saving them, diffing them and loading them back must
give equal objects, so the decoder rebuilds each field from its declared type (nested dataclasses,
lists, dicts, optionals, unions). Saved evidence comes from files a user hands us, so the decoder also
checks every value against its declared type and names the first one that does not fit by its path
(`events.groups[3].count: expected int, got str`) instead of building a tree that breaks a check later.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, Literal, TypeVar, Union

T = TypeVar("T")


class DecodeError(ValueError):
    """A value in the data does not fit the type its field declares."""


def to_data(obj: Any) -> Any:
    """Plain JSON-able data: dataclasses become dicts in field order."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_data(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_data(v) for k, v in obj.items()}
    return obj


def change_strings(obj: Any, change: Callable[[str], str]) -> Any:
    """`obj` with `change` applied to every string in it, dict keys included: dataclasses, lists and dicts are
    changed in place (so a caller's tree needs no copy), tuples rebuilt; the changed object is returned."""
    if isinstance(obj, str):
        return change(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for name in _field_names(type(obj)):
            value = getattr(obj, name)
            if value is not None and not isinstance(value, (int, float)):
                object.__setattr__(obj, name, change_strings(value, change))  # frozen dataclasses too
    elif isinstance(obj, list):
        obj[:] = [change_strings(item, change) for item in obj]
    elif isinstance(obj, tuple):
        return tuple(change_strings(item, change) for item in obj)
    elif isinstance(obj, dict):
        items = [(change_strings(k, change), change_strings(v, change)) for k, v in obj.items()]
        obj.clear()
        obj.update(items)
    return obj


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_data(cls: type[T], data: Any) -> T:
    """Rebuild an instance of `cls` from `to_data` output; unknown keys are ignored (newer writers).
    Raises DecodeError naming the first value whose type does not fit."""
    decoded: T = _decode(cls, data, "")
    return decoded


_JSON_NAMES = {dict: "object", list: "array", str: "str", int: "int", float: "float", bool: "bool", type(None): "null"}


def _name(tp: Any) -> str:
    if dataclasses.is_dataclass(tp):
        return "object"
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_name(option) for option in typing.get_args(tp))
    if origin is Literal:
        return " or ".join(repr(v) for v in typing.get_args(tp))
    return _JSON_NAMES.get(origin or tp, getattr(tp, "__name__", str(tp)))


def _mismatch(tp: Any, data: Any, path: str) -> DecodeError:
    got = _JSON_NAMES.get(type(data), type(data).__name__)
    return DecodeError(f"{path or '(top)'}: expected {_name(tp)}, got {got}")


def _fits(tp: Any, data: Any) -> bool:
    """Whether `data` is of the JSON shape `tp` asks for (one level deep: enough to choose a union option)."""
    if tp is Any:
        return True
    if tp is type(None):
        return data is None
    origin = typing.get_origin(tp)
    if origin is Literal:
        return data in typing.get_args(tp)
    if dataclasses.is_dataclass(tp) or origin is dict:
        return isinstance(data, dict)
    if origin in (list, tuple):
        return isinstance(data, list)
    if tp is bool:
        return isinstance(data, bool)
    if tp is int:
        return isinstance(data, int) and not isinstance(data, bool)
    if tp is float:
        return isinstance(data, (int, float)) and not isinstance(data, bool)
    if isinstance(tp, type) and issubclass(tp, str):
        return isinstance(data, str)
    return isinstance(tp, type) and isinstance(data, tp)


def _decode(tp: Any, data: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        for option in typing.get_args(tp):
            if _fits(option, data):
                return _decode(option, data, path)
        raise _mismatch(tp, data, path)
    if not _fits(tp, data):
        raise _mismatch(tp, data, path)
    if origin in (list, tuple):
        (item,) = typing.get_args(tp)[:1] or (Any,)
        return [_decode(item, v, f"{path}[{i}]") for i, v in enumerate(data)]
    if origin is dict:
        _, value_tp = typing.get_args(tp) or (str, Any)
        return {k: _decode(value_tp, v, f"{path}.{k}" if path else k) for k, v in data.items()}
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, data, path)
    if tp is float:
        return float(data)
    if isinstance(tp, type) and issubclass(tp, str) and tp is not str:
        return tp(data)  # a str enum
    return data


def _decode_dataclass(tp: Any, data: dict[str, Any], path: str) -> Any:
    hints = _hints(tp)
    fields = [f for f in dataclasses.fields(tp) if f.init]
    values = {}
    for f in fields:
        where = f"{path}.{f.name}" if path else f.name
        if f.name in data:
            values[f.name] = _decode(hints[f.name], data[f.name], where)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise DecodeError(f"{where}: missing")
    return tp(**values)
