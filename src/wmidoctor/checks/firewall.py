"""Windows Firewall: is the WMI rule group (or the legacy Remote Administration rule) open, per profile.

A closed group is the default on client editions, so it is an error only when the evidence shows remote WMI
to this host failing; otherwise the finding is informational and says which edition it assumed and what it
could not see (Group Policy rules live in the SOFTWARE hive)."""

from __future__ import annotations

from wmidoctor.checks.host import edition as host_edition
from wmidoctor.checks.host import key_read, missing_artifacts
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence, FirewallRule
from wmidoctor.findings import EvidenceRef, Finding, Fix
from wmidoctor.knowledge.defaults import (
    CLIENT,
    EDITION_DEFAULTS,
    FIREWALL_PROFILES,
    LEGACY_RULE_GROUP,
    WMI_RULE_GROUP,
)

FIREWALL_POLICY_KEY = "SOFTWARE\\Policies\\Microsoft\\WindowsFirewall"

_GROUPS = (WMI_RULE_GROUP.lower(), LEGACY_RULE_GROUP.lower())


def _is_wmi_rule(rule: FirewallRule) -> bool:
    return rule.group.lower() in _GROUPS or WMI_RULE_GROUP.lower() in rule.name.lower()


def _admits(rule: FirewallRule, profile: str) -> bool:
    return (
        rule.enabled
        and rule.direction == "in"
        and rule.action == "allow"
        and (not rule.profiles or profile in rule.profiles or "any" in rule.profiles)
    )


def _enabled_profiles(ev: Evidence) -> list[str]:
    """Profiles whose firewall is on; a profile absent from the evidence is on (the Windows default)."""
    on = []
    for profile in FIREWALL_PROFILES:
        setting = ev.firewall.profiles.get(profile)
        if setting is None or setting.value in (None, 1, "1", True):
            on.append(profile)
    return on


def enable_fixes(profiles: list[str]) -> list[Fix]:
    where = " -or ".join(f"$_.Profile -match '{p.capitalize()}'" for p in profiles) or "$true"
    # The undo touches exactly the rules the step enabled, not the whole group.
    inbound = (
        f"Get-NetFirewallRule -DisplayGroup '{WMI_RULE_GROUP}' | Where-Object {{ $_.Direction -eq "
        f"'Inbound' -and ({where}) }}"
    )
    return [
        Fix(
            step=f"Enable the inbound '{WMI_RULE_GROUP}' rules only for the profile(s) that remote WMI uses "
            f"({', '.join(profiles)})",
            command=f"{inbound} | Enable-NetFirewallRule",
            risk="low",
            undo=f"{inbound} | Disable-NetFirewallRule",
        ),
        Fix(
            step="Or enable the whole group for every profile (older systems, cmd.exe)",
            command=f'netsh advfirewall firewall set rule group="{WMI_RULE_GROUP.lower()}" new enable=yes',
            risk="low",
            undo=f'netsh advfirewall firewall set rule group="{WMI_RULE_GROUP.lower()}" new enable=no',
        ),
        Fix(
            step="With a third-party firewall or a restricted RPC range, open TCP 135 and the RPC dynamic range "
            "(default 49152-65535) to svchost.exe for the management hosts only",
            command="",
            risk="low",
            undo="remove the rule you added",
        ),
    ]


RPC_UNAVAILABLE = 0x800706BA


def _remote_wmi_failing(ev: Evidence) -> list[EvidenceRef]:
    """Probes of this host that stopped with 'The RPC server is unavailable': remote WMI is expected and failing."""
    return [
        ref(p.source, f"probe of {p.target} over {p.transport} failed at {p.failing_stage} with 0x800706BA")
        for p in ev.connectivity.probes
        if p.failing_stage and p.code == RPC_UNAVAILABLE
    ]


def _closed_verdict(ev: Evidence, v: Verdict, profiles: list[str], evidence: list[EvidenceRef]) -> Finding:
    """No WMI rule admits remote WMI in any active profile. That is the default on client editions, so it is a
    problem only when remote WMI is expected and failing; otherwise say what is known and what was assumed."""
    failing = _remote_wmi_failing(ev)
    fixes = enable_fixes(profiles if "domain" not in profiles else ["domain"])
    default = EDITION_DEFAULTS["wmi-firewall-rules"]
    edition, how = host_edition(ev)
    if failing:
        return v.fail(
            f"The firewall is on ({', '.join(profiles)}) and no enabled inbound rule of the "
            f"'{WMI_RULE_GROUP}' group admits WMI, and remote WMI to this host fails with 'The RPC server "
            "is unavailable' (0x800706BA).",
            evidence + failing,
            causes=[
                f"the '{WMI_RULE_GROUP}' rule group is disabled (the Windows default on client editions)",
                "a Group Policy firewall baseline leaves remote management closed",
            ],
            fixes=fixes,
            codes=["0x800706BA"],
        )
    # The effective rules (netsh, a live query) include Group Policy rules; the SYSTEM hive alone does not.
    policy = (
        ""
        if key_read(ev.firewall, FIREWALL_POLICY_KEY)
        else (
            f" Group Policy rules were not read ({missing_artifacts(ev, 'config/SOFTWARE', 'firewall-gpo.reg')} not in "
            "the evidence): one of them may admit WMI."
        )
    )
    if edition == CLIENT:
        verdict = (
            f"The '{WMI_RULE_GROUP}' rules are disabled, which is the Windows default on client editions "
            f"(assumed client edition from {how}). Remote WMI to this host is blocked by the firewall; this "
            "matters only if the host is meant to be managed remotely over DCOM."
        )
    elif edition:
        verdict = (
            f"The '{WMI_RULE_GROUP}' rules are disabled on this server edition (from {how}); Windows "
            "documents no server default for the group. Remote WMI to this host is blocked by the firewall; "
            "this matters only if the host is meant to be managed remotely over DCOM."
        )
    else:
        verdict = (
            f"The '{WMI_RULE_GROUP}' rules are disabled. Not known whether that is the default: the edition "
            f"is not known ({missing_artifacts(ev, 'config/SOFTWARE', 'identity.json')} not in the evidence); "
            "client editions ship the group disabled. Remote WMI to this host is blocked by the firewall."
        )
    evidence.append(
        ref(
            "knowledge:EDITION_DEFAULTS[wmi-firewall-rules]",
            f"client editions: {default.client} by default ({default.source.split(';')[0]})",
        )
    )
    return v.info(
        verdict + policy + " No remote probe of this host failed in the evidence.",
        evidence,
        fixes=fixes,
        codes=["0x800706BA"],
    )


def wmi_rules(ev: Evidence, v: Verdict) -> Finding:
    profiles = _enabled_profiles(ev)
    evidence = [
        ref(s.source, f"{p} profile firewall {'on' if p in profiles else 'off'}")
        for p, s in ev.firewall.profiles.items()
    ]
    if not profiles:
        return v.ok("The firewall is off in every profile: it does not block WMI.", evidence)
    rules = [r for r in ev.firewall.rules if _is_wmi_rule(r)]
    evidence += [
        ref(
            r.source,
            f"{r.name} [{r.group}] {'enabled' if r.enabled else 'disabled'} {r.direction} "
            f"{r.action} profiles={','.join(r.profiles) or 'any'}",
        )
        for r in rules
    ]
    if not ev.firewall.rules:
        return v.skip("the firewall profiles were read but not its rules")
    open_in = [p for p in profiles if any(_admits(r, p) for r in rules)]
    closed = [p for p in profiles if p not in open_in]
    if not closed:
        return v.ok(f"The WMI rules admit remote WMI in every active profile ({', '.join(open_in)}).", evidence)
    if open_in:
        return v.info(
            f"Remote WMI is admitted in the {', '.join(open_in)} profile(s) and blocked in "
            f"{', '.join(closed)}; fine if the host is only managed over {', '.join(open_in)} networks.",
            evidence,
        )
    return _closed_verdict(ev, v, profiles, evidence)


register_check(
    wmi_rules,
    "firewall.wmi-rules",
    "The firewall admits remote WMI (rule group per profile)",
    severity="error",
    needs=("firewall",),
)
