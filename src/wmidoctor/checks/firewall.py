"""Windows Firewall: is the WMI rule group (or the legacy Remote Administration rule) open, per profile."""

from __future__ import annotations

from wmidoctor.checks.registry import Verdict, check, ref
from wmidoctor.evidence.model import Evidence, FirewallRule
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import FIREWALL_PROFILES, LEGACY_RULE_GROUP, WMI_RULE_GROUP

_GROUPS = (WMI_RULE_GROUP.lower(), LEGACY_RULE_GROUP.lower())


def _is_wmi_rule(rule: FirewallRule) -> bool:
    return rule.group.lower() in _GROUPS or WMI_RULE_GROUP.lower() in rule.name.lower()


def _admits(rule: FirewallRule, profile: str) -> bool:
    return (rule.enabled and rule.direction == "in" and rule.action == "allow"
            and (not rule.profiles or profile in rule.profiles or "any" in rule.profiles))


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
    inbound = (f"Get-NetFirewallRule -DisplayGroup '{WMI_RULE_GROUP}' | Where-Object {{ $_.Direction -eq "
               f"'Inbound' -and ({where}) }}")
    return [
        Fix(step=f"Enable the inbound '{WMI_RULE_GROUP}' rules only for the profile(s) that remote WMI uses "
                 f"({', '.join(profiles)})",
            command=f"{inbound} | Enable-NetFirewallRule", risk="low", undo=f"{inbound} | Disable-NetFirewallRule"),
        Fix(step="Or enable the whole group for every profile (older systems, cmd.exe)",
            command=f'netsh advfirewall firewall set rule group="{WMI_RULE_GROUP.lower()}" new enable=yes',
            risk="low",
            undo=f'netsh advfirewall firewall set rule group="{WMI_RULE_GROUP.lower()}" new enable=no'),
        Fix(step="With a third-party firewall or a restricted RPC range, open TCP 135 and the RPC dynamic range "
                 "(default 49152-65535) to svchost.exe for the management hosts only", command="", risk="low",
            undo="remove the rule you added"),
    ]


@check("firewall.wmi-rules", "The firewall admits remote WMI (rule group per profile)", severity="error",
       needs=("firewall",))
def wmi_rules(ev: Evidence, v: Verdict) -> Finding:
    profiles = _enabled_profiles(ev)
    evidence = [ref(s.source, f"{p} profile firewall {'on' if p in profiles else 'off'}")
                for p, s in ev.firewall.profiles.items()]
    if not profiles:
        return v.ok("The firewall is off in every profile: it does not block WMI.", evidence)
    rules = [r for r in ev.firewall.rules if _is_wmi_rule(r)]
    evidence += [ref(r.source, f"{r.name} [{r.group}] {'enabled' if r.enabled else 'disabled'} {r.direction} "
                               f"{r.action} profiles={','.join(r.profiles) or 'any'}") for r in rules]
    if not ev.firewall.rules:
        return v.skip("the firewall profiles were read but not its rules")
    open_in = [p for p in profiles if any(_admits(r, p) for r in rules)]
    closed = [p for p in profiles if p not in open_in]
    if not closed:
        return v.ok(f"The WMI rules admit remote WMI in every active profile ({', '.join(open_in)}).", evidence)
    if open_in:
        return v.info(f"Remote WMI is admitted in the {', '.join(open_in)} profile(s) and blocked in "
                      f"{', '.join(closed)}; fine if the host is only managed over {', '.join(open_in)} networks.",
                      evidence)
    return v.fail(f"The firewall is on ({', '.join(profiles)}) and no enabled inbound rule of the "
                  f"'{WMI_RULE_GROUP}' group admits WMI: remote clients get 'The RPC server is unavailable' "
                  "(0x800706BA).", evidence,
                  causes=[f"the '{WMI_RULE_GROUP}' rule group is disabled (the Windows default on client editions)",
                          "a Group Policy firewall baseline leaves remote management closed"],
                  fixes=enable_fixes(profiles if "domain" not in profiles else ["domain"]),
                  codes=["0x800706BA"])
