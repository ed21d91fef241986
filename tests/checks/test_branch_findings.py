"""Branches that the sick hosts do not reach, one row each: status, severity and exit code asserted, and the whole
finding pinned (tests/snapshots.judged). Hand-made evidence: each row changes one thing on the healthy host."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from branch_table import Row, assert_row
from config_factories import fixed_port_rule, standalone
from diagnose_factories import OLE, group, sd

from wmidoctor.evidence.chains import ProcessStart
from wmidoctor.evidence.model import Evidence, ProviderHost, Setting
from wmidoctor.knowledge import defaults as d

POLICIES = "registry:...\\Policies\\System"


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


def _levels(authentication: int | None, impersonation: int | None) -> Callable[[Evidence], None]:
    """The Ole key's LegacyAuthenticationLevel and LegacyImpersonationLevel (None: the value is absent)."""

    def apply(ev: Evidence) -> None:
        for name, level in (("Authentication", authentication), ("Impersonation", impersonation)):
            value = None if level is None else Setting(level, f"{OLE}!Legacy{name}Level")
            setattr(ev.dcom, f"legacy_{name.lower()}_level", value)

    return apply


def _kills(*kills: tuple[str, int, str]) -> Callable[[Evidence], None]:
    """Event 5612 groups: (quota as the event names it, how many times, process id)."""

    def apply(ev: Evidence) -> None:
        ev.events.groups += [
            group("Microsoft-Windows-WMI", 5612, count, Quota=quota, Value="5000", Maximum="4096", ProcessId=pid)
            for quota, count, pid in kills
        ]

    return apply


def _host_3124(ev: Evidence) -> None:
    _hosts((100 * MB, 1000, 40))(ev)
    ev.provider_hosts.hosts[0].pid = 3124


WMIC = "C:\\Windows\\System32\\wbem\\WMIC.exe"


def _wmic(command_line: str, *children: str) -> Callable[[Evidence], None]:
    """WMIC started from cmd.exe (PID 1064) with `command_line`, and the processes WMIC itself started."""

    def start(image: str, line: str, pid: str, parent: str, parent_pid: str, record: int) -> ProcessStart:
        return ProcessStart(
            image,
            line,
            pid,
            parent,
            parent_pid,
            user="HOST01\\user",
            time=f"2024-05-01T10:00:0{record}.000000Z",
            host="HOST01",
            source=f"evtx:Sysmon.evtx#record {record}",
            what="Sysmon 1",
        )

    def apply(ev: Evidence) -> None:
        ev.wmi_traces.processes.append(start(WMIC, command_line, "1064", "C:\\Windows\\System32\\cmd.exe", "900", 1))
        ev.wmi_traces.processes += [
            start(image, f"{image} /c echo", str(2000 + n), WMIC, "1064", 2 + n) for n, image in enumerate(children)
        ]

    return apply


UAC_OFF = _set("remote_uac", "enable_lua", Setting(0, f"{POLICIES}!EnableLUA"))
BUILT_IN_FILTERED = _set("remote_uac", "filter_administrator_token", Setting(1, f"{POLICIES}!FilterAdministratorToken"))
MACHINE_LAUNCH = [(a.sid, a.mask) for a in d.MACHINE_LAUNCH_RESTRICTION]
MACHINE_ACCESS = [(a.sid, a.mask) for a in d.MACHINE_ACCESS_RESTRICTION]
DEFAULT_LAUNCH = [(a.sid, a.mask) for a in d.DEFAULT_LAUNCH_PERMISSION]
MONITORING_GROUP = "S-1-5-21-1-2-3-1110"
STANDARD_SDDL = d.WINMGMT_SERVICE_SDDL

ROWS = [
    Row("UAC turned off", "remote-uac.token-filter", UAC_OFF, "warn", "warning", 1),
    Row("workgroup host", "remote-uac.token-filter", _workgroup, "info", "info", 0),
    Row("built-in Administrator filtered", "remote-uac.token-filter", BUILT_IN_FILTERED, "info", "info", 0),
    Row(
        "workgroup, built-in filtered",
        "remote-uac.token-filter",
        _both(_workgroup, BUILT_IN_FILTERED),
        "info",
        "info",
        0,
    ),
    Row(
        "not set",
        "dcom.machine-launch-restriction",
        _set("dcom", "machine_launch_restriction", None),
        "pass",
        "error",
        0,
    ),
    Row(
        "an extra group with remote launch",
        "dcom.machine-launch-restriction",
        _acl("machine_launch_restriction", [*MACHINE_LAUNCH, (MONITORING_GROUP, d.ALL_COM_RIGHTS)]),
        "info",
        "info",
        0,
    ),
    Row(
        "Everyone may launch remotely",
        "dcom.machine-launch-restriction",
        _acl("machine_launch_restriction", [*MACHINE_LAUNCH[:1], (d.EVERYONE, d.ALL_COM_RIGHTS), *MACHINE_LAUNCH[2:]]),
        "warn",
        "warning",
        1,
    ),
    Row(
        "Anonymous may call remotely",
        "dcom.machine-access-restriction",
        _acl("machine_access_restriction", [*MACHINE_ACCESS[:1], (d.ANONYMOUS, 0x7), *MACHINE_ACCESS[2:]]),
        "warn",
        "warning",
        1,
    ),
    Row(
        "Everyone's remote access removed, administrators granted it",
        "dcom.machine-access-restriction",
        _acl("machine_access_restriction", [(d.ADMINISTRATORS, 0x7), *MACHINE_ACCESS[1:]]),
        "info",
        "info",
        0,
    ),
    Row(
        "a deny entry",
        "dcom.default-launch-permission",
        _acl("default_launch_permission", DEFAULT_LAUNCH, deny=[(MONITORING_GROUP, 0x1F)]),
        "warn",
        "warning",
        1,
    ),
    Row(
        "an extra grant",
        "dcom.default-launch-permission",
        _acl("default_launch_permission", [*DEFAULT_LAUNCH, (MONITORING_GROUP, 0x1F)]),
        "info",
        "info",
        0,
    ),
    Row(
        "set to the server's own default",
        "dcom.default-access-permission",
        _acl("default_access_permission", [(d.SYSTEM, 0x7)]),
        "info",
        "info",
        0,
    ),
    Row(
        "impersonation Anonymous",
        "dcom.legacy-levels",
        _levels(authentication=2, impersonation=1),
        "warn",
        "warning",
        1,
    ),
    Row(
        "both at their lowest",
        "dcom.legacy-levels",
        _levels(authentication=1, impersonation=1),
        "warn",
        "warning",
        1,
    ),
    Row(
        "absent: the defaults",
        "dcom.legacy-levels",
        _levels(authentication=None, impersonation=None),
        "pass",
        "warning",
        0,
    ),
    Row(
        "packet privacy and impersonate",
        "dcom.legacy-levels",
        _levels(authentication=6, impersonation=3),
        "pass",
        "warning",
        0,
    ),
    Row(
        "own svchost",
        "services.winmgmt-hosting",
        _winmgmt(service_type="own-process", svchost_group="winmgmt"),
        "info",
        "info",
        0,
    ),
    Row("shared, group unknown", "services.winmgmt-hosting", _winmgmt(svchost_group=""), "info", "info", 0),
    Row("the default", "services.winmgmt-sddl", _winmgmt(sddl=STANDARD_SDDL), "pass", "warning", 0),
    Row(
        "an extra reader",
        "services.winmgmt-sddl",
        _winmgmt(sddl=STANDARD_SDDL.replace("S:", "(A;;LCRP;;;NS)S:")),
        "info",
        "info",
        0,
    ),
    Row(
        "administrators lost control",
        "services.winmgmt-sddl",
        _winmgmt(sddl="D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCLCSWLOCRRC;;;BA)"),
        "warn",
        "warning",
        1,
    ),
    Row(
        "a deny entry only",
        "services.winmgmt-sddl",
        _winmgmt(sddl=STANDARD_SDDL.replace("S:", "(D;;DC;;;IU)S:")),
        "warn",
        "warning",
        1,
    ),
    Row(
        "two hosts well below",
        "quotas.host-headroom",
        _hosts((100 * MB, 1000, 40), (50 * MB, 500, 20)),
        "pass",
        "warning",
        0,
    ),
    Row("a host without figures", "quotas.host-headroom", _hosts((None, None, None)), "pass", "warning", 0),
    Row(
        "memory exactly at four fifths",
        "quotas.host-headroom",
        _hosts((math.ceil(512 * MB * 0.8), 10, 1)),
        "warn",
        "warning",
        1,
    ),
    Row(
        "memory just under four fifths",
        "quotas.host-headroom",
        _hosts((math.ceil(512 * MB * 0.8) - 1, 10, 1)),
        "pass",
        "warning",
        0,
    ),
    Row(
        "handles and threads near their limits",
        "quotas.host-headroom",
        _hosts((10 * MB, 4000, 250)),
        "warn",
        "warning",
        1,
    ),
    Row("all hosts together", "quotas.host-headroom", _hosts(*[(300 * MB, 100, 10)] * 3), "warn", "warning", 1),
    Row("many hosts", "quotas.host-headroom", _hosts(*[(MB, 100, 10)] * 26), "warn", "warning", 1),
    # most kills, not most event groups: four kills of one quota outweigh two single kills of another
    Row(
        "one group of four beats two of one",
        "quotas.host-kills",
        _kills(("PrivatePageCount", 4, "3124"), ("HandleCount", 1, "3124"), ("HandleCount", 1, "3200")),
        "fail",
        "error",
        1,
        "6 times for exceeding their quotas, MemoryPerHost most often (4 times)",
    ),
    Row(
        "a tie goes to the first name",
        "quotas.host-kills",
        _kills(("ThreadCount", 2, "1"), ("HandleCount", 2, "2")),
        "fail",
        "error",
        1,
        "HandlesPerHost most often (2 times)",
    ),
    Row(
        "a quota name the table does not know",
        "quotas.host-kills",
        _kills(("PagedPool", 1, "")),
        "fail",
        "error",
        1,
        "exceeding PagedPool",
    ),
    Row(
        "providers named from the running host",
        "quotas.host-kills",
        _both(_kills(("HandleCount", 1, "3124")), _host_3124),
        "fail",
        "error",
        1,
    ),
    Row(
        "process created on another host",
        "security.wmic-xsl",
        _wmic('wmic /node:"SRV02" process call create "cmd.exe /c whoami"'),
        "warn",
        "warning",
        1,
        "1 WMIC run used",
    ),
    Row(
        "a local custom stylesheet",
        "security.wmic-xsl",
        _wmic("wmic os get /format:C:\\Users\\Public\\x.xsl"),
        "warn",
        "warning",
        1,
    ),
    Row(
        "a local stylesheet that started a process",
        "security.wmic-xsl",
        _wmic("wmic os get /format:C:\\Users\\Public\\x.xsl", "C:\\Windows\\System32\\cmd.exe"),
        "fail",
        "error",
        1,
    ),
    Row(
        "a UNC stylesheet", "security.wmic-xsl", _wmic("wmic os get /format:\\\\srv\\share\\x.xsl"), "fail", "error", 1
    ),
    Row(
        "the built-in csv stylesheet",
        "security.wmic-xsl",
        _wmic("wmic os get /format:C:\\Windows\\System32\\wbem\\en-US\\csv.xsl"),
        "pass",
        "error",
        0,
    ),
    Row("a plain query", "security.wmic-xsl", _wmic("wmic os get caption"), "pass", "error", 0),
    Row(
        "a local query that creates a process",
        "security.wmic-xsl",
        _wmic('wmic process call create "notepad.exe"'),
        "pass",
        "error",
        0,
    ),
    Row(
        "default port, rules not read",
        "dcom.wmi-fixed-port",
        _fixed_port(24158, _firewall_rules_unread),
        "info",
        "info",
        0,
    ),
    Row("default port, firewall off", "dcom.wmi-fixed-port", _fixed_port(24158, _firewall_off), "info", "info", 0),
    Row(
        "other port, a rule admits it",
        "dcom.wmi-fixed-port",
        _fixed_port(24200, lambda ev: ev.firewall.rules.append(fixed_port_rule(24200))),
        "info",
        "info",
        0,
    ),
    Row("other port, no rule names it", "dcom.wmi-fixed-port", _fixed_port(24200), "info", "info", 0),
    Row("default port, no rule admits it", "dcom.wmi-fixed-port", _fixed_port(24158), "warn", "warning", 1),
    Row("not collected", "services.winmgmt-sddl", _winmgmt(sddl=""), "skipped", "info", 0),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_branch(row: Row) -> None:
    assert_row(row)
