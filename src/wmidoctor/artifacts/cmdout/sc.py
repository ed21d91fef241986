"""`sc qc`, `sc queryex` and `sc sdshow` outputs.

sc prints its field names (SERVICE_NAME, START_TYPE, ...) and the symbolic values beside the numbers
(AUTO_START, RUNNING) in English on every Windows language; only its error messages are translated, so
the numbers are what these parsers keep.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wmidoctor.artifacts.cmdout.text import FIELD, lines

FAILURE = re.compile(r"\[SC\]\s+(\w+)\s+FAILED\s+(\d+)\s*:?\s*(.*)", re.S)
LEADING_NUMBER = re.compile(r"^\s*([0-9A-Fa-f]+)\s*(.*)$")


class ScError(ValueError):
    """sc reported a failure (`[SC] OpenService FAILED 1060: ...`), or the output is not sc's."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ServiceConfig:
    name: str
    type_code: int | None = None
    start_code: int | None = None
    delayed: bool = False
    error_control: int | None = None
    binary_path: str = ""
    load_order_group: str = ""
    display_name: str = ""
    dependencies: list[str] = field(default_factory=list)
    account: str = ""


@dataclass
class ServiceStatus:
    name: str
    type_code: int | None = None
    state_code: int | None = None
    state_name: str = ""
    win32_exit_code: int | None = None
    service_exit_code: int | None = None
    pid: int | None = None
    flags: str = ""


def _check_failure(text: str) -> None:
    found = FAILURE.search(text)
    if found:
        message = " ".join(found.group(3).split())
        raise ScError(f"{found.group(1)} failed with {found.group(2)}: {message}".rstrip(": "), int(found.group(2)))


def _fields(text: str) -> dict[str, list[str]]:
    """`NAME : value` lines into NAME -> values; continuation lines (` : value`) extend the last name."""
    _check_failure(text)
    found: dict[str, list[str]] = {}
    last = ""
    for line in lines(text):
        match = FIELD.match(line)
        if match and match.group(1).isupper():
            last = match.group(1).strip()
            found.setdefault(last, []).append(match.group(2).strip())
        elif last and line.strip().startswith(":"):
            found[last].append(line.strip()[1:].strip())
        elif last and line.strip().startswith("(") and last == "STATE":
            found[last][-1] += " " + line.strip()
    if "SERVICE_NAME" not in found:
        raise ScError("not sc output (no SERVICE_NAME line)")
    return found


def _number(values: list[str] | None, base: int = 10) -> tuple[int | None, str]:
    """`2   AUTO_START  (DELAYED)` -> (2, "AUTO_START  (DELAYED)")."""
    if not values:
        return None, ""
    match = LEADING_NUMBER.match(values[0])
    if not match:
        return None, values[0]
    try:
        return int(match.group(1), base), match.group(2).strip()
    except ValueError:
        return None, values[0]


def _text(values: list[str] | None) -> str:
    return values[0] if values else ""


def parse_qc(text: str) -> ServiceConfig:
    found = _fields(text)
    start, start_rest = _number(found.get("START_TYPE"))
    error_control, _ = _number(found.get("ERROR_CONTROL"))
    return ServiceConfig(
        name=_text(found.get("SERVICE_NAME")),
        type_code=_number(found.get("TYPE"), 16)[0],
        start_code=start,
        delayed="DELAYED" in start_rest.upper(),
        error_control=error_control,
        binary_path=_text(found.get("BINARY_PATH_NAME")),
        load_order_group=_text(found.get("LOAD_ORDER_GROUP")),
        display_name=_text(found.get("DISPLAY_NAME")),
        dependencies=[d for d in found.get("DEPENDENCIES", []) if d],
        account=_text(found.get("SERVICE_START_NAME")),
    )


def parse_queryex(text: str) -> ServiceStatus:
    found = _fields(text)
    state, state_rest = _number(found.get("STATE"))
    pid, _ = _number(found.get("PID"))
    return ServiceStatus(
        name=_text(found.get("SERVICE_NAME")),
        type_code=_number(found.get("TYPE"), 16)[0],
        state_code=state,
        state_name=state_rest.split()[0] if state_rest else "",
        win32_exit_code=_number(found.get("WIN32_EXIT_CODE"))[0],
        service_exit_code=_number(found.get("SERVICE_EXIT_CODE"))[0],
        pid=pid,
        flags=_text(found.get("FLAGS")),
    )


def parse_sdshow(text: str) -> str:
    """The SDDL line (`D:(A;;CC...)S:(...)`)."""
    _check_failure(text)
    for line in lines(text):
        stripped = line.strip()
        if re.match(r"^(O:|G:|D:|S:)", stripped):
            return stripped
    raise ScError("not sc sdshow output (no SDDL line)")
