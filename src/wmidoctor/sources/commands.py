"""Fill Evidence from saved command outputs: `sc qc/queryex/sdshow`, `winmgmt /verifyrepository`, netsh
(firewall rules and profiles, the TCP dynamic port range).

Service facts merge into what the registry gave (the registry knows the configuration, sc adds the
running state, process id, exit code and the service's own security descriptor). Firewall rules from
netsh are used when the registry export gave none (both describe the same rules).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from wmidoctor.artifacts.cmdout import (
    ScError,
    parse_dynamic_ports,
    parse_profiles,
    parse_qc,
    parse_queryex,
    parse_rules,
    parse_sdshow,
    parse_verify,
)
from wmidoctor.artifacts.cmdout.netsh import NetshRule
from wmidoctor.evidence import Evidence, Setting
from wmidoctor.evidence.model import FirewallRule, RepositoryVerification, Service
from wmidoctor.knowledge.defaults import LEGACY_RULE_GROUP, WMI_RULE_GROUP, names_wmi_fixed_port
from wmidoctor.sources.registry import SERVICE_TYPES, START_TYPES, SVCHOST_GROUP, WMI_SERVICE_NAMES

T = TypeVar("T")

STATES = {
    1: "stopped",
    2: "start-pending",
    3: "stop-pending",
    4: "running",
    5: "continue-pending",
    6: "pause-pending",
    7: "paused",
}
WMI_GROUPS = {WMI_RULE_GROUP.lower(), LEGACY_RULE_GROUP.lower()}
NOT_ENGLISH = "output not in English: read from exit code and language-neutral fields only"
NETSH_NOT_ENGLISH = "output not in English: netsh labels not recognised"


class CommandOutputError(ValueError):
    """The output is not what the command prints (or reports the command's own failure)."""


def _service(evidence: Evidence, name: str) -> Service:
    section = evidence.services
    found = section.get(name)
    if found is None:
        found = section.services[name] = Service(name=name)
    return found


def _sc_output(parse: Callable[[str], T], text: str) -> T:
    """The parsed output of an sc.exe command; output it cannot read is a damaged artifact."""
    try:
        return parse(text)
    except ScError as exc:
        raise CommandOutputError(str(exc)) from None


def fill_sc_qc(evidence: Evidence, service: str, text: str, source: str) -> None:
    config = _sc_output(parse_qc, text)
    entry = _service(evidence, service)
    if config.start_code is not None:
        start = START_TYPES.get(config.start_code, str(config.start_code))
        entry.start_type = "delayed-auto" if start == "auto" and config.delayed else start
    if config.type_code is not None:
        entry.service_type = SERVICE_TYPES.get(config.type_code & 0x3F, f"0x{config.type_code:x}")
    entry.image_path = config.binary_path or entry.image_path
    entry.display_name = config.display_name or entry.display_name
    entry.object_name = config.account or entry.object_name
    entry.depends_on = config.dependencies or entry.depends_on
    group = SVCHOST_GROUP.search(config.binary_path) if config.binary_path else None
    entry.svchost_group = group.group(1) if group else entry.svchost_group
    entry.source = entry.source or source
    evidence.services.mark_collected(source)


def fill_sc_queryex(evidence: Evidence, service: str, text: str, source: str) -> None:
    status = _sc_output(parse_queryex, text)
    entry = _service(evidence, service)
    if status.state_code is not None:
        entry.state = STATES.get(status.state_code, str(status.state_code))
    entry.pid = status.pid if status.pid else None
    entry.exit_code = status.win32_exit_code
    entry.source = entry.source or source
    evidence.services.mark_collected(source)


def fill_sc_sdshow(evidence: Evidence, service: str, text: str, source: str) -> None:
    sddl = _sc_output(parse_sdshow, text)
    _service(evidence, service).sddl = sddl
    evidence.services.mark_collected(source)


def fill_verify(evidence: Evidence, text: str, source: str, exit_code: int | None) -> None:
    result = parse_verify(text, exit_code)
    section = evidence.repository
    detail = result.detail if exit_code is None else f"{result.detail} (exit code {exit_code})"
    section.verifications.append(
        RepositoryVerification(result.verdict, "winmgmt /verifyrepository", detail, source=source)
    )
    if not result.language:
        section.problems.append(f"{source}: {NOT_ENGLISH}")
    section.mark_collected(source, None if section.collected else "the live verdict only (repository not read)")


def _rule(rule: NetshRule, source: str) -> FirewallRule | None:
    group = rule.get("grouping")
    service = rule.get("service")
    program = rule.get("program")
    if (
        group.lower() not in WMI_GROUPS
        and service.lower() not in WMI_SERVICE_NAMES
        and not program.lower().endswith("\\unsecapp.exe")
        and not names_wmi_fixed_port(rule.get("localport"))
    ):
        return None
    return FirewallRule(
        name=rule.name,
        group=group,
        enabled=rule.enabled,
        direction="out" if rule.get("direction").lower() == "out" else "in",
        action=rule.get("action", "allow").lower(),
        profiles=rule.profiles,
        protocol=rule.get("protocol"),
        local_ports=rule.get("localport"),
        program=program,
        service=service,
        source=f"{source}#line {rule.line}",
    )


def fill_firewall_rules(evidence: Evidence, text: str, source: str) -> None:
    output = parse_rules(text)
    section = evidence.firewall
    if not output.language:
        raise CommandOutputError(NETSH_NOT_ENGLISH)
    if not section.rules:
        section.rules = [r for rule in output.rules if (r := _rule(rule, source)) is not None]
    section.mark_collected(source)


def fill_firewall_profiles(evidence: Evidence, text: str, source: str) -> None:
    output = parse_profiles(text)
    section = evidence.firewall
    if not output.language:
        raise CommandOutputError(NETSH_NOT_ENGLISH)
    for profile, on in output.states.items():
        section.profiles.setdefault(profile, Setting(1 if on else 0, f"{source}#{profile}"))
    section.mark_collected(source)


def fill_dynamic_ports(evidence: Evidence, text: str, source: str) -> None:
    """The TCP dynamic port range into the RPC policy section."""
    ports = parse_dynamic_ports(text)
    if ports.start is None or ports.count is None:
        raise CommandOutputError("no start port and number of ports in the output")
    section = evidence.rpc_policy
    section.dynamic_port_start = Setting(ports.start, f"{source}#line {ports.start_line}")
    section.dynamic_port_count = Setting(ports.count, f"{source}#line {ports.count_line}")
    if not ports.language:
        section.problems.append(f"{source}: labels not in English; start and count read by position")
    section.mark_collected(source)


SERVICE_FILLERS = {"ScQc": fill_sc_qc, "ScQueryEx": fill_sc_queryex, "ScSdShow": fill_sc_sdshow}
# Command outputs filled by artifact key alone (no service name in the key).
KEYED_FILLERS = {
    "FirewallRules": fill_firewall_rules,
    "FirewallProfiles": fill_firewall_profiles,
    "RpcDynamicPorts": fill_dynamic_ports,
}
