"""DCOM authentication hardening (KB5004442, CVE-2021-26414): who was rejected, and what the AppCompat values say.

The server logs 10036 naming the rejected user and the client's address; a client logs 10037 (level set
explicitly by the application) or 10038 (default level) naming the application, the class and the target.
The way out is always a client that authenticates at Packet Integrity: the server side cannot be relaxed
any more (the opt-out value is ignored since the March 2023 updates).
"""

from __future__ import annotations

from collections import Counter

from wmidoctor.checks.events import dcom_events, field
from wmidoctor.checks.fixes import advice
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import EventGroup, Evidence, Setting
from wmidoctor.findings import EvidenceRef, Finding, Fix
from wmidoctor.knowledge.defaults import (
    AUTHENTICATION_LEVELS,
    HARDENING_DISABLE_LOG,
    HARDENING_RAISE_ALL,
    HARDENING_RAISE_LEVEL,
    HARDENING_REQUIRE_INTEGRITY,
    OLE_KEY,
)

_APPCOMPAT = f"{OLE_KEY}\\AppCompat"
_SERVER_EVENT = 10036
_CLIENT_EVENTS = {10037: "explicitly set", 10038: "default"}
_SHOWN = 5


def _value(keys: dict[str, Setting], name: str) -> int | None:
    setting = keys.get(name)
    return setting.value if setting is not None and isinstance(setting.value, int) else None


def _level(text: str) -> str:
    try:
        return f"{text} ({AUTHENTICATION_LEVELS[int(text)]})"
    except (KeyError, ValueError):
        return text or "?"


def rejected_client(group: EventGroup) -> str:
    """'CONTOSO\\monitor from 192.0.2.7' for a 10036 group."""
    who = "\\".join(p for p in (field(group, "UserDomain"), field(group, "UserName")) if p) or "?"
    address = field(group, "Address")
    return f"{who} from {address}" if address else who


def failing_application(group: EventGroup) -> str:
    """'C:\\Tools\\poller.exe -> SRV01' for a 10037/10038 group."""
    return f"{field(group, 'Application') or '?'} -> {field(group, 'Computer') or '?'}"


def _top(counter: Counter) -> str:
    shown = [f"{name} (x{count})" for name, count in counter.most_common(_SHOWN)]
    more = len(counter) - _SHOWN
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _server_side(groups: list[EventGroup], evidence: list[EvidenceRef]) -> Counter:
    clients: Counter = Counter()
    for group in groups:
        client = rejected_client(group)
        clients[client] += group.count
        evidence.append(
            ref(
                group.source,
                f"event 10036 x{group.count} (last {group.last_seen}): activation by "
                f"{client} ({field(group, 'UserSid') or '?'}) rejected below Packet "
                "Integrity",
            )
        )
    return clients


def _client_side(groups: list[EventGroup], evidence: list[EvidenceRef]) -> tuple[Counter, set[int]]:
    applications: Counter = Counter()
    kinds: set[int] = set()
    for group in groups:
        applications[failing_application(group)] += group.count
        kinds.add(group.event_id)
        evidence.append(
            ref(
                group.source,
                f"event {group.event_id} x{group.count} (last {group.last_seen}): "
                f"{field(group, 'Application') or '?'} activating "
                f"{field(group, 'CLSID') or '?'} on {field(group, 'Computer') or '?'} at "
                f"{_CLIENT_EVENTS[group.event_id]} level "
                f"{_level(field(group, 'AuthenticationLevel'))}",
            )
        )
    return applications, kinds


_UPGRADE_CLIENT = advice(
    "Raise the failing client's authentication level to Packet Integrity (5) or Packet Privacy (6): for "
    "Windows clients install the current cumulative update (it raises activation levels itself); for "
    "impacket-based or other Linux pollers use a release that signs DCOM activation (impacket: "
    "-rpc-auth-level integrity or privacy) and retire Samba wmic; for agents with a hard-coded level, the "
    "vendor's update. Do not try to lower the server's hardening: Microsoft removed that opt-out with the "
    "March 2023 updates"
)


def _raise_all_fix(raise_level: Setting) -> Fix:
    return Fix(
        step=f"Let Windows raise every non-anonymous activation from this host to Packet Integrity: delete "
        f"{HARDENING_RAISE_LEVEL} (its default is {HARDENING_RAISE_ALL}) so that levels set explicitly "
        "by applications are raised too",
        command=f'reg delete "{_APPCOMPAT}" /v {HARDENING_RAISE_LEVEL} /f',
        risk="low",
        undo=f'reg add "{_APPCOMPAT}" /v {HARDENING_RAISE_LEVEL} /t REG_DWORD /d {raise_level.value} /f',
    )


def hardening(ev: Evidence, v: Verdict) -> Finding:
    keys = ev.dcom.hardening
    evidence = [ref(s.source, f"{name}={s.value}") for name, s in keys.items()]
    server_groups = dcom_events(ev, _SERVER_EVENT) if ev.events.collected else []
    client_groups = dcom_events(ev, *_CLIENT_EVENTS) if ev.events.collected else []
    clients = _server_side(server_groups, evidence)
    applications, kinds = _client_side(client_groups, evidence)
    require = _value(keys, HARDENING_REQUIRE_INTEGRITY)
    raise_level = keys.get(HARDENING_RAISE_LEVEL)
    ignored_opt_out = (
        f" {HARDENING_REQUIRE_INTEGRITY}=0 is set but has no effect since the March 2023 updates."
        if require == 0
        else ""
    )
    if clients:
        return v.fail(
            f"This host rejected {sum(clients.values())} DCOM activations below Packet Integrity (event "
            f"10036) from: {_top(clients)}. Those clients cannot use WMI here until they authenticate at "
            "Packet Integrity." + ignored_opt_out,
            evidence,
            causes=[
                "DCOM hardening (KB5004442, CVE-2021-26414), enforced since the March 2023 updates; "
                "the named clients still activate at Connect level or lower",
                "typical clients: Samba wmic, old impacket or other Linux pollers, monitoring agents "
                "with a hard-coded authentication level, unpatched Windows clients",
            ],
            fixes=[_UPGRADE_CLIENT],
            codes=["0x80070005"],
        )
    if applications:
        causes = [
            "an application on this host asks for an authentication level below Packet Integrity and the "
            "target servers are hardened"
        ]
        fixes = [_UPGRADE_CLIENT]
        raise_value = _value(keys, HARDENING_RAISE_LEVEL)
        if 10037 in kinds and raise_level is not None and raise_value is not None and raise_value < HARDENING_RAISE_ALL:
            causes.insert(
                0,
                f"{HARDENING_RAISE_LEVEL}={raise_value} on this host: Windows raises only default "
                "levels, not the level an application sets explicitly (event 10037)",
            )
            fixes.insert(0, _raise_all_fix(raise_level))
        return v.warn(
            f"Applications on this host failed {sum(applications.values())} DCOM activations because "
            f"their authentication level is too low (events 10037/10038): {_top(applications)}.",
            evidence,
            causes=causes,
            fixes=fixes,
            codes=["0x80070005"],
        )
    if _value(keys, HARDENING_DISABLE_LOG) == 1:
        return v.warn(
            f"{HARDENING_DISABLE_LOG}=1: rejected activations are no longer logged, so this failure "
            "cannot be seen in the System log.",
            evidence,
            fixes=[
                Fix(
                    step="Turn hardening logging back on",
                    command=f'reg delete "{_APPCOMPAT}" /v {HARDENING_DISABLE_LOG} /f',
                    risk="none",
                    undo=f'reg add "{_APPCOMPAT}" /v {HARDENING_DISABLE_LOG} /t REG_DWORD /d 1 /f',
                )
            ],
        )
    if require == 0:
        return v.info(
            f"{HARDENING_REQUIRE_INTEGRITY}=0 asks to turn hardening off; updates since March 2023 "
            "ignore it, so do not count on it for old clients.",
            evidence,
        )
    scope = "" if ev.events.collected else " (the System log was not read, so rejections could not be counted)"
    return v.ok("No DCOM hardening rejections seen" + scope + ".", evidence)


register_check(
    hardening,
    "dcom.hardening",
    "DCOM authentication hardening does not reject WMI clients",
    severity="error",
    needs=("dcom",),
)
