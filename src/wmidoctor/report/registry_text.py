"""The text view of `wmidoctor registry`: each WMI-relevant section of the registry picture, drawn by its own
small function (one row of `VIEWS` per section), or what to add when the section was not collected."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wmidoctor.evidence.model import Evidence, Setting
from wmidoctor.evidence.security import SecurityDescriptor

SECTIONS = ("services", "repository", "dcom", "providers", "rpc_policy", "remote_uac", "firewall")
# Where each section is read from, said when it was not collected so the reader knows what to add.
NEEDS = {
    "services": "the SYSTEM hive (Services key)",
    "repository": "the SOFTWARE hive (Microsoft\\Wbem)",
    "dcom": "the SOFTWARE hive (Microsoft\\Ole)",
    "providers": "the SOFTWARE hive (Classes\\CLSID) and --clsid",
    "rpc_policy": "the SOFTWARE hive (Policies\\Microsoft\\Windows NT\\Rpc)",
    "remote_uac": "the SOFTWARE hive (Windows\\CurrentVersion\\Policies\\System)",
    "firewall": "the SYSTEM hive (SharedAccess firewall policy)",
}
PROBLEMS_SHOWN = 20
DCOM_ACLS = (
    ("MachineLaunchRestriction", "machine_launch_restriction"),
    ("MachineAccessRestriction", "machine_access_restriction"),
    ("DefaultLaunchPermission", "default_launch_permission"),
    ("DefaultAccessPermission", "default_access_permission"),
    ("WMI AppID LaunchPermission", "wmi_appid_launch_permission"),
    ("WMI AppID AccessPermission", "wmi_appid_access_permission"),
)
RPC_POLICY_VALUES = (
    "restrict_remote_clients",
    "enable_auth_ep_resolution",
    "ports",
    "ports_internet_available",
    "use_internet_ports",
)
REMOTE_UAC_VALUES = ("local_account_token_filter_policy", "enable_lua", "filter_administrator_token")


def _value(setting: Setting | None) -> str:
    return "(absent)" if setting is None else str(setting.value)


def _acl(label: str, sd: SecurityDescriptor | None, collected: bool) -> list[str]:
    if sd is None:
        return [f"  {label}: " + ("(absent: Windows default applies)" if collected else "(not collected)")]
    lines = [f"  {label}: {sd.sddl}"]
    for ace in sd.dacl or []:
        lines.append(f"      {ace.type:<6} {ace.account or ace.sid}: {', '.join(ace.rights) or hex(ace.mask)}")
    return lines


def _services(section: Any, appid_collected: bool) -> list[str]:
    lines = []
    for svc in section.services.values():
        lines.append(
            f"  {svc.name}: start={svc.start_type} type={svc.service_type} "
            f"account={svc.object_name} group={svc.svchost_group} depends={','.join(svc.depends_on)}"
        )
        lines.append(f"      {svc.image_path}")
    lines.append(f"  services depending on Winmgmt: {', '.join(section.winmgmt_dependents) or 'none'}")
    return lines


def _repository(section: Any, appid_collected: bool) -> list[str]:
    lines = [f"  Repository Directory: {_value(section.directory)}"]
    lines += [f"  {key}: {setting.value}" for key, setting in section.logging.items()]
    lines.append(f"  Autorecover MOFs: {len(section.autorecover_mofs)}")
    lines += [f"      {mof.path}" for mof in section.autorecover_mofs]
    return lines


def _dcom(section: Any, appid_collected: bool) -> list[str]:
    lines = [
        f"  EnableDCOM: {_value(section.enable_dcom)}",
        f"  LegacyAuthenticationLevel: {_value(section.legacy_authentication_level)}",
        f"  LegacyImpersonationLevel: {_value(section.legacy_impersonation_level)}",
    ]
    lines += [f"  {key}: {setting.value}" for key, setting in section.hardening.items()]
    for label, attr in DCOM_ACLS:
        collected = appid_collected or not label.startswith("WMI AppID")
        lines += _acl(label, getattr(section, attr), collected)
    return lines


def _providers(section: Any, appid_collected: bool) -> list[str]:
    return [
        f"  {server.clsid}: {'registered' if server.registered else 'NOT registered'} "
        f"{server.inproc_server or server.local_server or '(no server path)'}"
        for server in section.com_servers.values()
    ]


def _values(names: tuple[str, ...]) -> Callable[[Any, bool], list[str]]:
    def view(section: Any, appid_collected: bool) -> list[str]:
        return [f"  {name}: {_value(getattr(section, name))}" for name in names]

    return view


def _firewall(section: Any, appid_collected: bool) -> list[str]:
    lines = [f"  {profile} profile EnableFirewall: {setting.value}" for profile, setting in section.profiles.items()]
    for rule in section.rules:
        lines.append(
            f"  {'on ' if rule.enabled else 'off'} {rule.direction:<3} {rule.action:<5} {rule.name} "
            f"[{','.join(rule.profiles) or 'any'}] {rule.protocol} {rule.local_ports}".rstrip()
        )
    return lines


# section name -> its lines (the section, whether the WMI AppID key was among the sources)
VIEWS: dict[str, Callable[[Any, bool], list[str]]] = {
    "services": _services,
    "repository": _repository,
    "dcom": _dcom,
    "providers": _providers,
    "rpc_policy": _values(RPC_POLICY_VALUES),
    "remote_uac": _values(REMOTE_UAC_VALUES),
    "firewall": _firewall,
}


def render_text(evidence: Evidence, sources: list[str], problems: list[str], appid_collected: bool = True) -> str:
    lines = ["Registry artifacts: " + (", ".join(sources) or "none")]
    for name in SECTIONS:
        section = getattr(evidence, name)
        if not section.collected:
            lines.append(f"\n[{name}] not collected: needs {NEEDS[name]}")
            continue
        lines.append(f"\n[{name}] {section.status}" + (f" ({section.reason})" if section.reason else ""))
        lines += VIEWS[name](section, appid_collected)
    if problems:
        lines.append(f"\nProblems ({len(problems)}):")
        lines.extend(f"  {problem}" for problem in problems[:PROBLEMS_SHOWN])
        if len(problems) > PROBLEMS_SHOWN:
            lines.append(f"  ... {len(problems) - PROBLEMS_SHOWN} more (--json lists all)")
    return "\n".join(lines)
