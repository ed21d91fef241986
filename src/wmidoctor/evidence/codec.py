"""Dataclasses to and from plain JSON data, driven by their type hints.

Evidence and findings are trees of dataclasses; saving them, diffing them and loading them back must
give equal objects, so the decoder rebuilds each field from its declared type (nested dataclasses,
lists, dicts, optionals, unions of a dataclass with None).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any, TypeVar, Union

T = TypeVar("T")


def to_data(obj: Any) -> Any:
    """Plain JSON-able data: dataclasses become dicts in field order."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_data(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_data(v) for k, v in obj.items()}
    return obj


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_data(cls: type[T], data: Any) -> T:
    """Rebuild an instance of `cls` from `to_data` output; unknown keys are ignored (newer writers)."""
    return _decode(cls, data)


def _decode(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        for option in typing.get_args(tp):
            if dataclasses.is_dataclass(option) and isinstance(data, dict):
                return _decode(option, data)
            if typing.get_origin(option) in (list, dict) and isinstance(data, typing.get_origin(option)):
                return _decode(option, data)
        return data
    if origin in (list, tuple):
        (item,) = typing.get_args(tp)[:1] or (Any,)
        return [_decode(item, v) for v in data]
    if origin is dict:
        _, value_tp = typing.get_args(tp) or (str, Any)
        return {k: _decode(value_tp, v) for k, v in data.items()}
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        names = {f.name for f in dataclasses.fields(tp) if f.init}
        return tp(**{k: _decode(hints[k], v) for k, v in data.items() if k in names})
    return data
