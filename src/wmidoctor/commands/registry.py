"""`wmidoctor registry PATH...`: the WMI-relevant registry picture from hives, .reg exports or folders."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from wmidoctor.errors import InputError
from wmidoctor.output import dumps_json

if TYPE_CHECKING:
    from wmidoctor.evidence.model import Evidence, Setting
    from wmidoctor.evidence.security import SecurityDescriptor

REGISTRY_SCHEMA = "wmidoctor.registry/1"  # schemas/registry.schema.json
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
CLSID_PATTERN = re.compile(r"\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?")


def _describe_sd(label: str, sd: SecurityDescriptor | None, collected: bool = True) -> list[str]:
    if sd is None:
        return [f"  {label}: " + ("(absent: Windows default applies)" if collected else "(not collected)")]
    lines = [f"  {label}: {sd.sddl}"]
    for ace in sd.dacl or []:
        who = ace.account or ace.sid
        lines.append(f"      {ace.type:<6} {who}: {', '.join(ace.rights) or hex(ace.mask)}")
    return lines


def _setting_text(setting: Setting | None) -> str:
    return "(absent)" if setting is None else str(setting.value)


def render_text(evidence: Evidence, sources: list[str], problems: list[str], appid_collected: bool = True) -> str:
    lines = ["Registry artifacts: " + (", ".join(sources) or "none")]
    for name in SECTIONS:
        section = getattr(evidence, name)
        if not section.collected:
            lines.append(f"\n[{name}] not collected: needs {NEEDS[name]}")
            continue
        lines.append(f"\n[{name}] {section.status}" + (f" ({section.reason})" if section.reason else ""))
        if name == "services":
            for svc in section.services.values():
                lines.append(
                    f"  {svc.name}: start={svc.start_type} type={svc.service_type} "
                    f"account={svc.object_name} group={svc.svchost_group} depends={','.join(svc.depends_on)}"
                )
                lines.append(f"      {svc.image_path}")
            lines.append(f"  services depending on Winmgmt: {', '.join(section.winmgmt_dependents) or 'none'}")
        elif name == "repository":
            lines.append(f"  Repository Directory: {_setting_text(section.directory)}")
            for key, setting in section.logging.items():
                lines.append(f"  {key}: {setting.value}")
            lines.append(f"  Autorecover MOFs: {len(section.autorecover_mofs)}")
            lines.extend(f"      {mof.path}" for mof in section.autorecover_mofs)
        elif name == "dcom":
            lines.append(f"  EnableDCOM: {_setting_text(section.enable_dcom)}")
            lines.append(f"  LegacyAuthenticationLevel: {_setting_text(section.legacy_authentication_level)}")
            lines.append(f"  LegacyImpersonationLevel: {_setting_text(section.legacy_impersonation_level)}")
            for key, setting in section.hardening.items():
                lines.append(f"  {key}: {setting.value}")
            for label, attr in (
                ("MachineLaunchRestriction", "machine_launch_restriction"),
                ("MachineAccessRestriction", "machine_access_restriction"),
                ("DefaultLaunchPermission", "default_launch_permission"),
                ("DefaultAccessPermission", "default_access_permission"),
                ("WMI AppID LaunchPermission", "wmi_appid_launch_permission"),
                ("WMI AppID AccessPermission", "wmi_appid_access_permission"),
            ):
                lines.extend(
                    _describe_sd(label, getattr(section, attr), appid_collected or not label.startswith("WMI AppID"))
                )
        elif name == "providers":
            for server in section.com_servers.values():
                where = server.inproc_server or server.local_server or "(no server path)"
                lines.append(f"  {server.clsid}: {'registered' if server.registered else 'NOT registered'} {where}")
        elif name == "rpc_policy":
            for attr in (
                "restrict_remote_clients",
                "enable_auth_ep_resolution",
                "ports",
                "ports_internet_available",
                "use_internet_ports",
            ):
                lines.append(f"  {attr}: {_setting_text(getattr(section, attr))}")
        elif name == "remote_uac":
            for attr in ("local_account_token_filter_policy", "enable_lua", "filter_administrator_token"):
                lines.append(f"  {attr}: {_setting_text(getattr(section, attr))}")
        elif name == "firewall":
            for profile, setting in section.profiles.items():
                lines.append(f"  {profile} profile EnableFirewall: {setting.value}")
            for rule in section.rules:
                lines.append(
                    f"  {'on ' if rule.enabled else 'off'} {rule.direction:<3} {rule.action:<5} {rule.name} "
                    f"[{','.join(rule.profiles) or 'any'}] {rule.protocol} {rule.local_ports}".rstrip()
                )
    if problems:
        lines.append(f"\nProblems ({len(problems)}):")
        lines.extend(f"  {problem}" for problem in problems[:PROBLEMS_SHOWN])
        if len(problems) > PROBLEMS_SHOWN:
            lines.append(f"  ... {len(problems) - PROBLEMS_SHOWN} more (--json lists all)")
    return "\n".join(lines)


@click.command(name="registry")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--clsid", "clsids", multiple=True, metavar="CLSID", help="Also look up this COM class registration (repeatable)."
)
@click.option("--json", "as_json", is_flag=True, help="Write the sections as JSON.")
def command(paths: tuple[Path, ...], clsids: tuple[str, ...], as_json: bool) -> None:
    """Show the WMI-relevant registry picture from hives (SYSTEM, SOFTWARE; .LOG1/.LOG2 replayed on a
    copy), .reg exports, or folders holding them (a bundle or a mounted Windows volume)."""
    from wmidoctor.artifacts.registry import Registry
    from wmidoctor.knowledge.defaults import WMI_APPID_KEY
    from wmidoctor.sources.registry import fill_evidence

    for clsid in clsids:
        if not CLSID_PATTERN.fullmatch(clsid.strip()):
            raise InputError(f"--clsid {clsid}: not a CLSID (expected {{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}})")
    for path in paths:
        if not path.exists():
            raise InputError(f"no such file or folder: {path}")
    registry = Registry.open(list(paths))
    if not registry.hives and not registry.export_files:
        detail = f": {registry.problems[0]}" if registry.problems else ""
        raise InputError(f"no registry hive or .reg export found in {', '.join(map(str, paths))}{detail}")
    evidence = fill_evidence(registry, clsids=clsids)
    problems = registry.all_problems()
    for name in SECTIONS:
        problems.extend(p for p in getattr(evidence, name).problems if p not in problems)
    if as_json:
        data = evidence.to_data()
        click.echo(
            dumps_json(
                {
                    "schema": REGISTRY_SCHEMA,
                    "sources": registry.sources,
                    "problems": problems,
                    "sections": {name: data[name] for name in SECTIONS},
                }
            )
        )
    else:
        click.echo(render_text(evidence, registry.sources, problems, registry.covers(WMI_APPID_KEY)))
    click.get_current_context().exit(1 if problems else 0)
