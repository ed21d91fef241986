"""DCOM events about WMI's own COM servers: permission refusals (10016) and activation timeouts (10010, 10005)."""

from __future__ import annotations

from collections import Counter

from wmidoctor.checks.events import dcom_events, field
from wmidoctor.checks.fixes import add_to_distributed_com_users, advice, backup_key
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import EventGroup, Evidence
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import WMI_APPID_KEY, WMI_COM_IDS
from wmidoctor.knowledge.sids import is_appcontainer


def _wmi_id(*values: str) -> str:
    """The WMI COM identity among `values` (CLSIDs, AppIDs, server names), or ''."""
    for value in values:
        guid = value.strip().upper()
        if guid in WMI_COM_IDS:
            return guid
    return ""


def wmi_permission_events(ev: Evidence, v: Verdict) -> Finding:
    refused: list[tuple[EventGroup, str]] = []
    sandboxed: list[EventGroup] = []
    others = 0
    for group in dcom_events(ev, 10016):
        wmi = _wmi_id(field(group, "AppID"), field(group, "CLSID"))
        if wmi and is_appcontainer(field(group, "PackageSid")):
            sandboxed.append(group)
        elif wmi:
            refused.append((group, wmi))
        else:
            others += group.count
    noise = (
        f" ({others} refusals for other applications ignored: those are usually harmless Windows noise)"
        if others
        else ""
    )
    if not refused and sandboxed:
        packages = sorted({field(g, "PackageName") or field(g, "PackageSid") for g in sandboxed})
        return v.info(
            f"DCOM refused WMI to sandboxed apps (AppContainers) {sum(g.count for g in sandboxed)} times: "
            "by design, an AppContainer may not start WMI; desktop programs and administrators are not "
            "affected" + noise + ".",
            [
                ref(
                    g.source,
                    f"{field(g, 'Locality')} {field(g, 'Permission')} refused to "
                    f"{field(g, 'PackageName') or field(g, 'PackageSid')} for {field(g, 'UserName')}, "
                    f"x{g.count}",
                )
                for g in sandboxed[:10]
            ],
            causes=[f"AppContainer callers: {', '.join(packages[:3])}"],
        )
    if not refused:
        return v.ok("No DCOM permission refusal names WMI's COM servers" + noise + ".")
    accounts: Counter[tuple[str, str]] = Counter()
    evidence = []
    for group, wmi in refused:
        who = "\\".join(p for p in (field(group, "UserDomain"), field(group, "UserName")) if p) or "?"
        locality = field(group, "Locality") or "?"
        accounts[(who, locality)] += group.count
        evidence.append(
            ref(
                group.source,
                f"{field(group, 'Locality')} {field(group, 'Permission')} of "
                f"{WMI_COM_IDS[wmi]} refused to {who} ({field(group, 'UserSid') or '?'}), "
                f"{field(group, 'Scope') or '?'} permission, x{group.count}, last "
                f"{group.last_seen}",
            )
        )
    (top_who, top_locality), _ = accounts.most_common(1)[0]
    remote = any(locality.lower() == "remote" for _, locality in accounts)
    fixes = [backup_key(WMI_APPID_KEY, "wmi-appid")]
    if remote:
        fixes.append(add_to_distributed_com_users())
    fixes.append(
        Fix(
            step="If the account should use WMI: Component Services > DCOM Config > Windows Management "
            "Instrumentation > Properties > Security > Launch and Activation > Customize > Edit: give "
            f"that account (or a group it is in) {top_locality} Launch and {top_locality} Activation",
            command="dcomcnfg",
            risk="low",
            undo="reg import the saved AppID key",
        )
    )
    return v.warn(
        f"DCOM refused {sum(accounts.values())} launch/activation requests for WMI; most for {top_who} "
        f"({top_locality}): that account's WMI calls failed with access denied (0x80070005).",
        evidence,
        causes=[
            "the account is not an administrator and the WMI DCOM application (or the machine-wide "
            "limits) grant it no launch/activation right",
            "a non-elevated or low-integrity process (filtered administrator token) tried to start WMI",
            "remote callers not in Distributed COM Users or Administrators (Locality: Remote)",
        ],
        fixes=fixes,
        codes=["0x80070005"],
    )


register_check(
    wmi_permission_events,
    "dcom.wmi-permission-events",
    "DCOM does not refuse launch or activation of WMI (event 10016)",
    severity="warning",
    needs=("events",),
)


def activation_timeouts(ev: Evidence, v: Verdict) -> Finding:
    late = [(g, wmi) for g in dcom_events(ev, 10010) if (wmi := _wmi_id(field(g, "Server")))]
    start_failed = [
        g for g in dcom_events(ev, 10005) if field(g, "Service").lower() == "winmgmt" or _wmi_id(field(g, "CLSID"))
    ]
    if not late and not start_failed:
        return v.ok("No DCOM activation timeout or start failure names WMI or its provider hosts.")
    evidence = [
        ref(
            g.source,
            f"event 10010 x{g.count} (last {g.last_seen}): {WMI_COM_IDS[wmi]} did not register "
            "with DCOM within the timeout",
        )
        for g, wmi in late
    ]
    evidence += [
        ref(
            g.source,
            f"event 10005 x{g.count} (last {g.last_seen}): DCOM could not start "
            f"{field(g, 'Service') or '?'} (error {field(g, 'Error') or '?'})",
        )
        for g in start_failed
    ]
    disabled = any(field(g, "Error") == "1058" for g in start_failed)
    causes = [
        "the Winmgmt service is disabled or cannot start (error 1058 = disabled)"
        if disabled
        else "the host was starved (CPU, memory, or the 32 provider host process limit reached) when WMI had to "
        "start a provider host",
        "security software delaying the start of WmiPrvSE.exe or svchost.exe",
        "a provider that hangs in its initialisation, holding its host before it can register",
    ]
    fixes = [
        advice(
            "Match the times with the WMI-Activity log (5857 names the providers loaded in each host) and "
            "the System log (service crashes) to find what held the host",
            command="wmidoctor logs <bundle or log folder>",
        )
    ]
    if disabled:
        fixes.insert(
            0,
            Fix(
                step="Set Winmgmt back to automatic start and start it",
                command="sc config winmgmt start= auto && net start winmgmt",
                risk="low",
                undo="sc config winmgmt start= disabled",
            ),
        )
    total = sum(g.count for g, _ in late) + sum(g.count for g in start_failed)
    return v.fail(
        f"WMI's COM servers failed to start in time {total} times: clients got 'server execution "
        "failed' (0x80080005) or timeouts.",
        evidence,
        causes=causes,
        fixes=fixes,
        codes=["0x80080005", "0x80070422"],
    )


register_check(
    activation_timeouts,
    "dcom.activation-timeouts",
    "WMI's COM servers start in time (DCOM events 10010, 10005)",
    severity="error",
    needs=("events",),
)
