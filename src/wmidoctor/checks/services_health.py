"""Service health beyond state and start type: crashes and hangs in the System log, the Winmgmt service's own
security descriptor, and the account and binary each WMI service is configured with."""

from __future__ import annotations

import re
from collections import defaultdict

from wmidoctor.checks.events import field
from wmidoctor.checks.fixes import advice
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import EventGroup, Evidence, Service
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import (
    CORE_WMI_SERVICES,
    SERVICE_CHANGE_EVENTS,
    SERVICE_FAILURE_EVENTS,
    SERVICES,
    WINMGMT_SERVICE_NEEDS,
    WINMGMT_SERVICE_SDDL,
)
from wmidoctor.knowledge.events import SCM

_ACE = re.compile(r"\((?P<type>[AD]);[^;]*;(?P<rights>[^;]*);[^;]*;[^;]*;(?P<sid>[^)]*)\)")
_SID_NAMES = {
    "SY": "SYSTEM",
    "BA": "Administrators",
    "IU": "INTERACTIVE",
    "SU": "SERVICE",
    "AU": "Authenticated Users",
    "WD": "Everyone",
}
_RIGHT_NAMES = {"RP": "start", "WP": "stop", "LC": "query status", "WD": "change permissions"}


def _scm_groups(ev: Evidence, event_ids: dict[int, str]) -> dict[str, list[EventGroup]]:
    """SCM events of the given ids, by the WMI-related service they name."""
    found: dict[str, list[EventGroup]] = defaultdict(list)
    for group in ev.events.of(*event_ids, provider=SCM):
        service = field(group, "Service")
        if service:
            found[service].append(group)
    return found


def _describe(service: str, groups: list[EventGroup], meanings: dict[int, str]) -> list:
    return [
        ref(
            g.source,
            f"{service} {meanings[g.event_id]} (event {g.event_id}) x{g.count}, "
            f"{g.first_seen} .. {g.last_seen}"
            + (f"; error {err}" if (err := field(g, "param2")) and g.event_id in (7000, 7023, 7024) else ""),
        )
        for g in groups
    ]


def crashes(ev: Evidence, v: Verdict) -> Finding:
    failures = _scm_groups(ev, SERVICE_FAILURE_EVENTS)
    changes = _scm_groups(ev, SERVICE_CHANGE_EVENTS)
    evidence = [
        line
        for service, groups in sorted(failures.items())
        for line in _describe(service, groups, SERVICE_FAILURE_EVENTS)
    ]
    evidence += [
        ref(
            g.source,
            f"{service}: start type changed from {field(g, 'param2') or '?'} to "
            f"{field(g, 'param3') or '?'} x{g.count} ({g.last_seen})",
        )
        for service, groups in sorted(changes.items())
        for g in groups
    ]
    if not failures:
        if changes:
            return v.info(
                f"No crash or failed start, but the start type of {', '.join(sorted(changes))} was "
                "changed (event 7040): check that the change was intended.",
                evidence,
            )
        return v.ok(
            "No Service Control Manager event reports a crash, hang or failed start of Winmgmt, RpcSs, "
            "DcomLaunch, RpcEptMapper, wmiApSrv or WinRM."
        )
    core = sorted(s for s in failures if s in CORE_WMI_SERVICES)
    fixes = [
        advice(
            "Look at what the crashing process was doing: the Application log holds an Application Error "
            "(1000) or Windows Error Reporting (1001) entry naming the faulting module at the same time",
            command='Get-WinEvent -FilterHashtable @{LogName="Application"; Id=1000,1001} -MaxEvents 50 | '
            'Where-Object Message -match "svchost|wmiprvse" | Format-List TimeCreated, Message',
        ),
        Fix(
            step="Move Winmgmt into its own service host so a crash of WMI and a crash of a neighbour service "
            "can be told apart (and WMI's memory and CPU seen on their own)",
            command="sc config Winmgmt type= own && net stop winmgmt /y && net start winmgmt",
            risk="low",
            undo="sc config Winmgmt type= share && net stop winmgmt /y && net start winmgmt",
        ),
        Fix(
            step="Repair the system files the services load",
            command="DISM /Online /Cleanup-Image /RestoreHealth && sfc /scannow",
            risk="low",
            undo="nothing to undo (repairs restore Windows files)",
        ),
    ]
    causes = [
        "a provider or a module injected into the service host crashed it (security software hooks are a "
        "frequent culprit; the faulting module in Application event 1000 names it)",
        "the host is starved of memory or handles, so the service cannot start in time",
        "damaged system files after a failed update",
    ]
    if not core:
        return v.warn(
            f"{', '.join(sorted(failures))} crashed, hung or failed to start: performance classes "
            "(wmiApSrv) or WS-Management access (WinRM) fail while it is down.",
            evidence,
            causes=causes,
            fixes=fixes,
        )
    return v.fail(
        f"{', '.join(core)} crashed, hung or failed to start: every WMI client failed while it was down "
        "(0x80070422, 0x800706BA or 0x80080005 depending on the moment).",
        evidence,
        causes=causes,
        fixes=fixes,
        codes=["0x80070422", "0x800706BA", "0x80080005"],
    )


register_check(
    crashes,
    "services.crashes",
    "WMI's services do not crash, hang or fail to start (System log)",
    severity="error",
    needs=("events",),
)


def _dacl(sddl: str) -> str:
    """The access-list part of an SDDL string (owner, group and DACL; the audit SACL left out)."""
    return sddl.split("S:", 1)[0]


def _aces(sddl: str) -> list[tuple[str, str, set[str]]]:
    dacl = _dacl(sddl)
    return [
        (m["type"], m["sid"].upper(), {m["rights"][i : i + 2].upper() for i in range(0, len(m["rights"]), 2)})
        for m in _ACE.finditer(dacl)
    ]


def _sdshow_source(ev: Evidence, service: Service) -> str:
    return next((s for s in ev.services.sources if "sdshow" in s.lower() and "winmgmt" in s.lower()), service.source)


def winmgmt_sddl(ev: Evidence, v: Verdict) -> Finding:
    service = ev.services.get("Winmgmt")
    if service is None or not service.sddl:
        return v.skip("the Winmgmt service's security descriptor (sc sdshow Winmgmt) is not in the evidence")
    source = _sdshow_source(ev, service)
    evidence = [ref(source, service.sddl)]
    aces = _aces(service.sddl)
    denies = [(sid, rights) for kind, sid, rights in aces if kind == "D"]
    missing = []
    for sid, needed in WINMGMT_SERVICE_NEEDS.items():
        granted = set().union(*(rights for kind, s, rights in aces if kind == "A" and s == sid))
        denied = set().union(*(rights for s, rights in denies if s in (sid, "WD", "AU")))
        lacking = [r for r in needed if r not in granted or r in denied]
        if lacking:
            missing.append(f"{_SID_NAMES.get(sid, sid)} cannot " + ", ".join(_RIGHT_NAMES.get(r, r) for r in lacking))
    restore = Fix(
        step="Put the default access list back from an elevated prompt (the audit part is left as it is; if "
        "Administrators lost 'change permissions', run it as SYSTEM, e.g. from a scheduled task)",
        command=f'sc sdset Winmgmt "{_dacl(WINMGMT_SERVICE_SDDL)}"',
        risk="low",
        undo=f'sc sdset Winmgmt "{_dacl(service.sddl)}"',
    )
    if missing or denies:
        evidence += [ref(source, line) for line in missing]
        evidence += [
            ref(source, f"deny entry for {_SID_NAMES.get(sid, sid)}: {' '.join(sorted(rights))}")
            for sid, rights in denies
        ]
        return v.warn(
            "The Winmgmt service's own permissions were narrowed"
            + (f": {'; '.join(missing)}" if missing else " with deny entries")
            + ". Restarting or repairing WMI fails with access denied (5), and agents that query the "
            "service's status may report WMI as down.",
            evidence,
            causes=[
                "a hardening script or Group Policy (System Services > Windows Management "
                "Instrumentation > Edit Security) set a restrictive descriptor",
                "a deny entry meant for one account that also matches administrators",
            ],
            fixes=[restore],
            codes=["0x80070005"],
        )
    if _dacl(service.sddl).upper() != _dacl(WINMGMT_SERVICE_SDDL).upper():
        return v.info(
            "The Winmgmt service's permissions differ from the default but SYSTEM and administrators keep "
            "control of it.",
            evidence,
        )
    return v.ok("The Winmgmt service has its default permissions.", evidence)


register_check(
    winmgmt_sddl,
    "services.winmgmt-sddl",
    "The Winmgmt service's permissions let SYSTEM and administrators control it",
    severity="warning",
    needs=("services",),
)


def _binary(image_path: str) -> str:
    path = image_path.strip()
    if path.startswith('"'):
        return path[1:].split('"', 1)[0]
    return path.split(" -", 1)[0].split(" /", 1)[0].strip()


def _account(name: str) -> str:
    text = name.strip().lower()
    return {
        "localsystem": "localsystem",
        "nt authority\\system": "localsystem",
        "nt authority\\networkservice": "networkservice",
        "nt authority\\network service": "networkservice",
        "nt authority\\localservice": "localservice",
        "nt authority\\local service": "localservice",
    }.get(text, text)


def configuration(ev: Evidence, v: Verdict) -> Finding:
    evidence, problems, fixes, judged = [], [], [], 0
    for default in SERVICES:
        service = ev.services.get(default.name)
        if service is None or (service.image_path is None and service.object_name is None):
            continue
        judged += 1
        binary = _binary(service.image_path or "")
        account = service.object_name or ""
        evidence.append(ref(service.source, f"{default.name}: {service.image_path or '?'} as {account or '?'}"))
        # The SCM adds ".exe" to an image path without one (Server 2003 registers "...\\svchost -k DcomLaunch").
        if binary and not binary.lower().endswith(("\\svchost.exe", "\\svchost")):
            problems.append(f"{default.name} runs {binary} instead of svchost.exe")
            fixes.append(
                Fix(
                    step=f"Point {default.name} back to the service host (after finding out who changed "
                    "it: an unknown binary here is a persistence technique)",
                    command=f'sc config {default.name} binPath= "%SystemRoot%\\system32\\svchost.exe -k '
                    f'{default.svchost_group} -p"',
                    risk="low",
                    undo=f'sc config {default.name} binPath= "{service.image_path}"',
                )
            )
        if account and _account(account) != _account(default.account):
            problems.append(f"{default.name} runs as {account} instead of {default.account}")
            fixes.append(
                Fix(
                    step=f"Give {default.name} its default account back",
                    command=f'sc config {default.name} obj= "{default.account}"',
                    risk="low",
                    undo=f'sc config {default.name} obj= "{account}"',
                )
            )
    if not judged:
        return v.skip("neither the image path nor the account of the WMI services is in the evidence")
    if not problems:
        return v.ok(f"The {judged} WMI services run svchost.exe under their default accounts.", evidence)
    return v.fail(
        f"{'; '.join(problems)}: the service may not start, or WMI runs with the wrong rights or code.",
        evidence,
        causes=[
            "malware or an attacker replaced the service binary or account (check who changed it: "
            "System event 7040/7045, Security event 4697)",
            "a broken in-place upgrade or a tool that rewrote the service keys",
        ],
        fixes=fixes,
        codes=["0x80070422", "0x8007042C"],
    )


register_check(
    configuration,
    "services.configuration",
    "WMI's services run the Windows binary under their default account",
    severity="error",
    needs=("services",),
)
