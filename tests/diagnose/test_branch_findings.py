"""Branches that the sick hosts do not reach, one row each: status, severity and exit code asserted, and the whole
finding pinned (tests/snapshots.judged). Hand-made evidence: each row changes one thing on the healthy host."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from config_factories import fixed_port_rule, standalone
from diagnose_factories import OLE, healthy, sd

from snapshots import judged
from wmidoctor.evidence.model import Evidence, ProviderHost, Setting
from wmidoctor.findings import exit_code
from wmidoctor.knowledge import defaults as d

POLICIES = "registry:...\\Policies\\System"


@dataclass(frozen=True)
class Row:
    check: str
    name: str
    mutate: Callable[[Evidence], None]
    status: str
    severity: str

    @property
    def code(self) -> int:
        return 1 if self.status in ("fail", "warn") and self.severity != "info" else 0


def _set(section: str, attribute: str, value: object) -> Callable[[Evidence], None]:
    return lambda ev: setattr(getattr(ev, section), attribute, value)


def _workgroup(ev: Evidence) -> None:
    ev.identity.domain_role = "standalone-workstation"


def _both(*changes: Callable[[Evidence], None]) -> Callable[[Evidence], None]:
    def apply(ev: Evidence) -> None:
        for change in changes:
            change(ev)

    return apply


def _winmgmt(**values: object) -> Callable[[Evidence], None]:
    def apply(ev: Evidence) -> None:
        for name, value in values.items():
            setattr(ev.services.services["Winmgmt"], name, value)

    return apply


def _acl(attribute: str, aces, deny=()) -> Callable[[Evidence], None]:
    value = d.DCOM_ACLS[attribute][0]
    return _set("dcom", attribute, sd(list(aces), f"{OLE}!{value}", deny=list(deny)))


MB = 1024 * 1024


def _hosts(*figures: tuple[int | None, int | None, int | None]) -> Callable[[Evidence], None]:
    """Provider hosts with (private bytes, handles, threads); the quotas are the healthy host's defaults."""

    def apply(ev: Evidence) -> None:
        ev.provider_hosts.hosts += [
            ProviderHost(
                pid=4000 + index,
                hosting_model="NetworkServiceHost",
                providers=[f"root\\cimv2:Provider{index}"],
                private_bytes=memory,
                handles=handles,
                threads=threads,
                source=f"bundle:wmi/provider-hosts.json#pid {4000 + index}",
            )
            for index, (memory, handles, threads) in enumerate(figures)
        ]

    return apply


def _fixed_port(port: int, *changes: Callable[[Evidence], None]) -> Callable[[Evidence], None]:
    def apply(ev: Evidence) -> None:
        standalone(ev, port)
        for rule in ev.firewall.rules:
            rule.service = ""  # the WMI-In rules no longer follow the service to its own port
        for change in changes:
            change(ev)

    return apply


def _firewall_off(ev: Evidence) -> None:
    ev.firewall.profiles = {name: Setting(0, setting.source) for name, setting in ev.firewall.profiles.items()}


def _firewall_rules_unread(ev: Evidence) -> None:
    ev.firewall.rules = []


UAC_OFF = _set("remote_uac", "enable_lua", Setting(0, f"{POLICIES}!EnableLUA"))
BUILT_IN_FILTERED = _set("remote_uac", "filter_administrator_token", Setting(1, f"{POLICIES}!FilterAdministratorToken"))
MACHINE_LAUNCH = [(a.sid, a.mask) for a in d.MACHINE_LAUNCH_RESTRICTION]
MACHINE_ACCESS = [(a.sid, a.mask) for a in d.MACHINE_ACCESS_RESTRICTION]
DEFAULT_LAUNCH = [(a.sid, a.mask) for a in d.DEFAULT_LAUNCH_PERMISSION]
MONITORING_GROUP = "S-1-5-21-1-2-3-1110"
STANDARD_SDDL = d.WINMGMT_SERVICE_SDDL

ROWS = [
    Row("remote-uac.token-filter", "UAC turned off", UAC_OFF, "warn", "warning"),
    Row("remote-uac.token-filter", "workgroup host", _workgroup, "info", "info"),
    Row("remote-uac.token-filter", "built-in Administrator filtered", BUILT_IN_FILTERED, "info", "info"),
    Row(
        "remote-uac.token-filter",
        "workgroup, built-in filtered",
        _both(_workgroup, BUILT_IN_FILTERED),
        "info",
        "info",
    ),
    Row(
        "dcom.machine-launch-restriction", "not set", _set("dcom", "machine_launch_restriction", None), "pass", "error"
    ),
    Row(
        "dcom.machine-launch-restriction",
        "an extra group with remote launch",
        _acl("machine_launch_restriction", [*MACHINE_LAUNCH, (MONITORING_GROUP, d.ALL_COM_RIGHTS)]),
        "info",
        "info",
    ),
    Row(
        "dcom.machine-launch-restriction",
        "Everyone may launch remotely",
        _acl("machine_launch_restriction", [*MACHINE_LAUNCH[:1], (d.EVERYONE, d.ALL_COM_RIGHTS), *MACHINE_LAUNCH[2:]]),
        "warn",
        "warning",
    ),
    Row(
        "dcom.machine-access-restriction",
        "Anonymous may call remotely",
        _acl("machine_access_restriction", [*MACHINE_ACCESS[:1], (d.ANONYMOUS, 0x7), *MACHINE_ACCESS[2:]]),
        "warn",
        "warning",
    ),
    Row(
        "dcom.machine-access-restriction",
        "Everyone's remote access removed, administrators granted it",
        _acl("machine_access_restriction", [(d.ADMINISTRATORS, 0x7), *MACHINE_ACCESS[1:]]),
        "info",
        "info",
    ),
    Row(
        "dcom.default-launch-permission",
        "a deny entry",
        _acl("default_launch_permission", DEFAULT_LAUNCH, deny=[(MONITORING_GROUP, 0x1F)]),
        "warn",
        "warning",
    ),
    Row(
        "dcom.default-launch-permission",
        "an extra grant",
        _acl("default_launch_permission", [*DEFAULT_LAUNCH, (MONITORING_GROUP, 0x1F)]),
        "info",
        "info",
    ),
    Row(
        "dcom.default-access-permission",
        "set to the server's own default",
        _acl("default_access_permission", [(d.SYSTEM, 0x7)]),
        "info",
        "info",
    ),
    Row(
        "dcom.legacy-levels",
        "impersonation Anonymous",
        _set("dcom", "legacy_impersonation_level", Setting(1, f"{OLE}!LegacyImpersonationLevel")),
        "warn",
        "warning",
    ),
    Row(
        "dcom.legacy-levels",
        "both at their lowest",
        _both(
            _set("dcom", "legacy_impersonation_level", Setting(1, f"{OLE}!LegacyImpersonationLevel")),
            _set("dcom", "legacy_authentication_level", Setting(1, f"{OLE}!LegacyAuthenticationLevel")),
        ),
        "warn",
        "warning",
    ),
    Row(
        "dcom.legacy-levels",
        "absent: the defaults",
        _both(_set("dcom", "legacy_impersonation_level", None), _set("dcom", "legacy_authentication_level", None)),
        "pass",
        "warning",
    ),
    Row(
        "dcom.legacy-levels",
        "packet privacy and impersonate",
        _both(
            _set("dcom", "legacy_impersonation_level", Setting(3, f"{OLE}!LegacyImpersonationLevel")),
            _set("dcom", "legacy_authentication_level", Setting(6, f"{OLE}!LegacyAuthenticationLevel")),
        ),
        "pass",
        "warning",
    ),
    Row(
        "services.winmgmt-hosting",
        "own svchost",
        _winmgmt(service_type="own-process", svchost_group="winmgmt"),
        "info",
        "info",
    ),
    Row("services.winmgmt-hosting", "shared, group unknown", _winmgmt(svchost_group=""), "info", "info"),
    Row("services.winmgmt-sddl", "the default", _winmgmt(sddl=STANDARD_SDDL), "pass", "warning"),
    Row(
        "services.winmgmt-sddl",
        "an extra reader",
        _winmgmt(sddl=STANDARD_SDDL.replace("S:", "(A;;LCRP;;;NS)S:")),
        "info",
        "info",
    ),
    Row(
        "services.winmgmt-sddl",
        "administrators lost control",
        _winmgmt(sddl="D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCLCSWLOCRRC;;;BA)"),
        "warn",
        "warning",
    ),
    Row(
        "services.winmgmt-sddl",
        "a deny entry only",
        _winmgmt(sddl=STANDARD_SDDL.replace("S:", "(D;;DC;;;IU)S:")),
        "warn",
        "warning",
    ),
    Row(
        "quotas.host-headroom",
        "two hosts well below",
        _hosts((100 * MB, 1000, 40), (50 * MB, 500, 20)),
        "pass",
        "warning",
    ),
    Row("quotas.host-headroom", "a host without figures", _hosts((None, None, None)), "pass", "warning"),
    Row(
        "quotas.host-headroom",
        "memory exactly at four fifths",
        _hosts((math.ceil(512 * MB * 0.8), 10, 1)),
        "warn",
        "warning",
    ),
    Row(
        "quotas.host-headroom",
        "memory just under four fifths",
        _hosts((math.ceil(512 * MB * 0.8) - 1, 10, 1)),
        "pass",
        "warning",
    ),
    Row(
        "quotas.host-headroom", "handles and threads near their limits", _hosts((10 * MB, 4000, 250)), "warn", "warning"
    ),
    Row("quotas.host-headroom", "all hosts together", _hosts(*[(300 * MB, 100, 10)] * 3), "warn", "warning"),
    Row("quotas.host-headroom", "many hosts", _hosts(*[(MB, 100, 10)] * 26), "warn", "warning"),
    Row(
        "dcom.wmi-fixed-port",
        "default port, rules not read",
        _fixed_port(24158, _firewall_rules_unread),
        "info",
        "info",
    ),
    Row("dcom.wmi-fixed-port", "default port, firewall off", _fixed_port(24158, _firewall_off), "info", "info"),
    Row(
        "dcom.wmi-fixed-port",
        "other port, a rule admits it",
        _fixed_port(24200, lambda ev: ev.firewall.rules.append(fixed_port_rule(24200))),
        "info",
        "info",
    ),
    Row("dcom.wmi-fixed-port", "other port, no rule names it", _fixed_port(24200), "info", "info"),
    Row("dcom.wmi-fixed-port", "default port, no rule admits it", _fixed_port(24158), "warn", "warning"),
    Row("services.winmgmt-sddl", "not collected", _winmgmt(sddl=""), "skipped", "info"),
]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.check}: {r.name}" for r in ROWS])
def test_branch(row: Row) -> None:
    ev = healthy()
    row.mutate(ev)
    finding = judged(row.check, ev)
    assert (finding.status, finding.severity) == (row.status, row.severity), finding.summary
    assert exit_code([finding]) == row.code
