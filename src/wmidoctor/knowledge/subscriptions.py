"""Permanent WMI event subscriptions: which consumers run code, and the one Windows installs itself.

`repo persistence`, `logs` and the diagnose checks all judge subscriptions with these facts.
"""

from __future__ import annotations

import re

# Consumer classes whose instances run code when their filter fires: class (lower case) -> payload properties.
CODE_RUNNING_CONSUMERS: dict[str, tuple[str, ...]] = {
    "commandlineeventconsumer": ("CommandLineTemplate", "ExecutablePath"),
    "activescripteventconsumer": ("ScriptText", "ScriptFileName"),
}

# The subscription every Windows has in root\subscription: Service Control Manager events to the event log.
DEFAULT_FILTER = "SCM Event Log Filter"
DEFAULT_CONSUMER = "SCM Event Log Consumer"
DEFAULT_CONSUMER_CLASS = "NTEventLogEventConsumer"

_CLASS_PREFIX = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\.(?=\s*[A-Za-z_])")
_KEY_VALUE = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,]*)\s*,?')


def payload_properties(class_name: str) -> tuple[str, ...]:
    """The properties that hold the command or script of a code-running consumer class; () for others."""
    return CODE_RUNNING_CONSUMERS.get(class_name.lower(), ())


def payload(class_name: str, properties: dict[str, str]) -> str:
    """The command line or script a consumer runs ("" for a consumer that runs none)."""
    return next((str(properties[p]) for p in payload_properties(class_name) if properties.get(p)), "")


def is_windows_default(consumer_name: str, filter_names: list[str]) -> bool:
    """The SCM Event Log consumer, bound to nothing or only to its own filter."""
    return consumer_name == DEFAULT_CONSUMER and filter_names in ([], [DEFAULT_FILTER])


def relative_path(object_path: str) -> str:
    """The class-and-keys part of a WMI object path: a full path (`\\\\.\\root\\subscription:Class.Name="x"`, as
    XP and some exports store bindings) loses its server and namespace; a relative path is returned as is."""
    text = object_path.strip()
    if text.startswith(("\\\\", "//")) and ":" in text:
        return text.split(":", 1)[1]
    return text


def path_keys(object_path: str) -> dict[str, str]:
    """Key values of a WMI object path, with or without its class: `Class.Name="x",Id=3` and `Name="x",Id=3`
    -> {"name": "x", "id": "3"} (keys lower-cased)."""
    keys: dict[str, str] = {}
    for match in _KEY_VALUE.finditer(_CLASS_PREFIX.sub("", relative_path(object_path), count=1)):
        raw = match.group(2)
        if raw.startswith('"'):
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        keys[match.group(1).lower()] = raw
    return keys


def path_class(object_path: str) -> str:
    """The class of a WMI object path: `CommandLineEventConsumer.Name="x"` -> `CommandLineEventConsumer`."""
    return re.split(r"[.=]", relative_path(object_path), maxsplit=1)[0].strip()
