"""Table-driven tests of the checks whose verdict depends on what is known about the host (edition, Windows
generation, damage in the evidence): a row per branch, asserting status, severity and the exit code the
finding alone gives. Evidence is synthetic (the healthy factory, mutated per row); test_corpus_defaults.py
cross-checks the defaults against real hives, exports and repositories."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from branch_table import Row, assert_row
from diagnose_factories import sd

from wmidoctor.evidence.model import Evidence, FirewallRule, Probe, RepositoryFile, Setting, Stage
from wmidoctor.knowledge import defaults as d

MB = 1024 * 1024
GPO = "registry:HKLM\\SOFTWARE\\Policies\\Microsoft\\WindowsFirewall"
RPC_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Rpc"


def _edition(edition: str, how: str) -> Callable[[Evidence], None]:
    def mutate(ev: Evidence) -> None:
        ev.identity.edition, ev.identity.edition_source = edition, how

    return mutate


def _close_rules(ev: Evidence) -> None:
    for rule in ev.firewall.rules:
        rule.enabled = False


def _registry_firewall(ev: Evidence, gpo: bool) -> None:
    """The firewall as read from a SYSTEM hive alone (no Group Policy rules) or with the SOFTWARE hive."""
    ev.firewall.sources = ["registry:SYSTEM"] + ([GPO] if gpo else [])


def _probe(code: int) -> Callable[[Evidence], None]:
    def mutate(ev: Evidence) -> None:
        ev.connectivity.probes.append(
            Probe(
                "HEALTHY01",
                "dcom",
                [Stage("tcp135", "failed", code=code)],
                failing_stage="tcp135",
                code=code,
                source="probe:HEALTHY01",
            )
        )

    return mutate


def _all(*steps: Callable[[Evidence], object]) -> Callable[[Evidence], None]:
    def mutate(ev: Evidence) -> None:
        for step in steps:
            step(ev)

    return mutate


def _without(service: str) -> Callable[[Evidence], None]:
    return lambda ev: ev.services.services.pop(service)


def _build(number: str) -> Callable[[Evidence], None]:
    return lambda ev: setattr(ev.identity, "os_build", number)


def _files(*names: str) -> Callable[[Evidence], None]:
    return lambda ev: setattr(ev.repository, "files", [RepositoryFile(n, 5 * MB) for n in names])


XP_FILES = ("INDEX.BTR", "OBJECTS.DATA", "MAPPING1.MAP", "MAPPING2.MAP", "MAPPING.VER", "INDEX.MAP", "OBJECTS.MAP")
VISTA_FILES = ("INDEX.BTR", "OBJECTS.DATA", "MAPPING1.MAP", "MAPPING2.MAP", "MAPPING3.MAP")
DAMAGE = "SYSTEM: values of HKLM\\SYSTEM\\ControlSet001\\Services\\Dot3svc unreadable: no value record at offset 0x0"


def _xp_namespaces(ev: Evidence) -> None:
    for ns in ev.namespaces.namespaces:
        ns.security = sd(d.PRE_VISTA_NAMESPACE_DEFAULT, f"repository:{ns.name}:__thisNAMESPACE=@")


ROWS = [
    # firewall.wmi-rules
    Row(
        "firewall off everywhere",
        "firewall.wmi-rules",
        lambda ev: [setattr(s, "value", 0) for s in ev.firewall.profiles.values()],
        "pass",
        "error",
        0,
        "off",
    ),
    Row(
        "rules open in every profile",
        "firewall.wmi-rules",
        lambda ev: ev.firewall.rules.__setitem__(
            1, FirewallRule("WMI-In", d.WMI_RULE_GROUP, True, profiles=["private", "public"], source="bundle:rules#2")
        ),
        "pass",
        "error",
        0,
        "every active profile",
    ),
    Row(
        "rules open in the domain profile only",
        "firewall.wmi-rules",
        lambda ev: None,
        "info",
        "info",
        0,
        "admitted in the domain profile",
    ),
    Row(
        "closed on a client edition",
        "firewall.wmi-rules",
        _all(_close_rules, _edition("client", "registry:...ProductOptions!ProductType = WinNT")),
        "info",
        "info",
        0,
        "default on client editions (assumed client edition from registry:...ProductOptions!ProductType = WinNT)",
    ),
    Row(
        "closed on a server edition",
        "firewall.wmi-rules",
        _close_rules,
        "info",
        "info",
        0,
        "server edition (from domain role member-server)",
    ),
    Row(
        "closed, edition not known",
        "firewall.wmi-rules",
        _all(_close_rules, lambda ev: setattr(ev.identity, "domain_role", "")),
        "info",
        "info",
        0,
        "Not known whether that is the default: the edition is not known",
    ),
    Row(
        "closed, SYSTEM hive only: Group Policy rules unread",
        "firewall.wmi-rules",
        _all(_close_rules, lambda ev: _registry_firewall(ev, gpo=False)),
        "info",
        "info",
        0,
        "Group Policy rules were not read",
    ),
    Row(
        "closed, SOFTWARE hive read too",
        "firewall.wmi-rules",
        _all(_close_rules, lambda ev: _registry_firewall(ev, gpo=True)),
        "info",
        "info",
        0,
        "No remote probe of this host failed",
    ),
    Row(
        "closed and a probe fails with 0x800706BA",
        "firewall.wmi-rules",
        _all(_close_rules, _probe(0x800706BA)),
        "fail",
        "error",
        1,
        "fails with 'The RPC server is unavailable'",
    ),
    Row(
        "closed and a probe fails with access denied",
        "firewall.wmi-rules",
        _all(_close_rules, _probe(0x80070005)),
        "info",
        "info",
        0,
        "server edition",
    ),
    Row(
        "profiles read, rules not",
        "firewall.wmi-rules",
        lambda ev: ev.firewall.rules.clear(),
        "skipped",
        "info",
        0,
        "not its rules",
    ),
    # services.rpcss / services.rpceptmapper: an absent key
    Row(
        "RpcSs absent from a whole service list",
        "services.rpcss",
        _without("RpcSs"),
        "fail",
        "critical",
        1,
        "not registered",
    ),
    Row(
        "RpcSs absent from a damaged service list",
        "services.rpcss",
        _all(_without("RpcSs"), lambda ev: ev.services.problems.append(DAMAGE)),
        "skipped",
        "info",
        0,
        "not known",
    ),
    Row(
        "RpcEptMapper absent on Windows 10",
        "services.rpceptmapper",
        _all(_without("RpcEptMapper"), _build("19045")),
        "fail",
        "critical",
        1,
        "not registered",
    ),
    Row(
        "RpcEptMapper absent on Server 2003",
        "services.rpceptmapper",
        _all(_without("RpcEptMapper"), _build("3790")),
        "pass",
        "critical",
        0,
        "as expected before Windows 7 (OS build 3790)",
    ),
    Row(
        "RpcEptMapper absent on Vista (build 6002)",
        "services.rpceptmapper",
        _all(_without("RpcEptMapper"), _build("6002")),
        "pass",
        "critical",
        0,
        "before Windows 7",
    ),
    Row(
        "RpcEptMapper absent beside an XP repository",
        "services.rpceptmapper",
        _all(_without("RpcEptMapper"), _files(*XP_FILES)),
        "pass",
        "critical",
        0,
        "XP / Server 2003 layout",
    ),
    Row(
        "RpcEptMapper absent from a damaged list",
        "services.rpceptmapper",
        _all(_without("RpcEptMapper"), lambda ev: ev.services.problems.append(DAMAGE)),
        "skipped",
        "info",
        0,
        "not known",
    ),
    # services.configuration: the image path
    Row(
        "svchost without .exe (Server 2003 form)",
        "services.configuration",
        lambda ev: setattr(
            ev.services.get("DcomLaunch"), "image_path", "%SystemRoot%\\system32\\svchost -k DcomLaunch"
        ),
        "pass",
        "error",
        0,
        "svchost.exe",
    ),
    Row(
        "another binary",
        "services.configuration",
        lambda ev: setattr(ev.services.get("DcomLaunch"), "image_path", "C:\\Temp\\svc.exe -k DcomLaunch"),
        "fail",
        "error",
        1,
        "instead of svchost.exe",
    ),
    # repository.files: the set of the repository's layout
    Row("Vista-and-later set complete", "repository.files", _files(*VISTA_FILES), "pass", "error", 0, "All 5"),
    Row(
        "Vista set without MAPPING3.MAP",
        "repository.files",
        _files(*VISTA_FILES[:4]),
        "fail",
        "error",
        1,
        "missing: MAPPING3.MAP",
    ),
    Row("XP set complete", "repository.files", _files(*XP_FILES), "pass", "error", 0, "XP / Server 2003 layout"),
    Row(
        "XP set without MAPPING2.MAP",
        "repository.files",
        _files(*(n for n in XP_FILES if n != "MAPPING2.MAP")),
        "fail",
        "error",
        1,
        "missing: MAPPING2.MAP",
    ),
    Row(
        "XP layout told by the OS build",
        "repository.files",
        _all(_files(*VISTA_FILES[:4]), _build("2600")),
        "fail",
        "error",
        1,
        "missing: MAPPING.VER",
    ),
    # namespaces.default-security: Everyone before Vista, Authenticated Users after
    Row(
        "XP ACLs in an XP repository",
        "namespaces.default-security",
        _all(_xp_namespaces, _files(*XP_FILES)),
        "pass",
        "error",
        0,
    ),
    Row(
        "XP ACLs, generation not known",
        "namespaces.default-security",
        _all(_xp_namespaces, _files()),
        "pass",
        "error",
        0,
    ),
    Row(
        "XP ACLs on Windows 10",
        "namespaces.default-security",
        _all(_xp_namespaces, _build("19045")),
        "fail",
        "error",
        1,
        "removed, reduced or denied",
    ),
    # quotas.configuration: 128 MB per host before Vista
    Row(
        "128 MB per host in an XP repository",
        "quotas.configuration",
        _all(_files(*XP_FILES), lambda ev: setattr(ev.quotas, "memory_per_host", Setting(134_217_728, "repo"))),
        "pass",
        "warning",
        0,
        "128 MB per host",
    ),
    Row(
        "128 MB per host on Windows 10",
        "quotas.configuration",
        _all(_build("19045"), lambda ev: setattr(ev.quotas, "memory_per_host", Setting(134_217_728, "repo"))),
        "warn",
        "warning",
        1,
        "MemoryPerHost 134217728 < 536870912",
    ),
    # evidence.integrity: damage in configuration evidence is a warning, in logs a note
    Row("whole evidence", "evidence.integrity", lambda ev: None, "pass", "warning", 0),
    Row(
        "damaged service list",
        "evidence.integrity",
        lambda ev: ev.services.problems.append(DAMAGE),
        "warn",
        "warning",
        1,
        "not a WMI fault of the host",
    ),
    Row(
        "damaged log chunks only",
        "evidence.integrity",
        lambda ev: ev.events.problems.append("System.evtx: chunk 6 skipped (bad magic)"),
        "info",
        "info",
        0,
        "reading went on past the damage",
    ),
    # dcom.wmi-appid: absent key vs key not collected
    Row("AppID without own LaunchPermission", "dcom.wmi-appid", lambda ev: None, "pass", "error", 0, "defaults apply"),
    Row(
        "AppID key not collected (an Ole export alone)",
        "dcom.wmi-appid",
        lambda ev: setattr(ev.dcom, "sources", ["registry:ole.reg"]),
        "skipped",
        "info",
        0,
        "not known",
    ),
    Row(
        "AppID key read and absent",
        "dcom.wmi-appid",
        lambda ev: setattr(ev.dcom, "sources", ["registry:SOFTWARE", f"registry:{d.WMI_APPID_KEY}"]),
        "pass",
        "error",
        0,
        "defaults apply",
    ),
    # rpc.restrict-remote-clients: an absent policy is the default only when the policy key was read
    Row(
        "policy key read, value absent",
        "rpc.restrict-remote-clients",
        lambda ev: setattr(ev.rpc_policy, "sources", ["registry:SOFTWARE", f"registry:{RPC_POLICY}"]),
        "pass",
        "error",
        0,
        "not set (Windows default)",
    ),
    Row(
        "policy key not collected (rpc.reg alone)",
        "rpc.restrict-remote-clients",
        lambda ev: setattr(ev.rpc_policy, "sources", ["registry:rpc.reg"]),
        "skipped",
        "info",
        0,
        "not known",
    ),
    Row(
        "authenticated without exceptions",
        "rpc.restrict-remote-clients",
        lambda ev: setattr(ev.rpc_policy, "restrict_remote_clients", Setting(2, f"registry:{RPC_POLICY}")),
        "fail",
        "error",
        1,
        "RestrictRemoteClients=2",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_branch(row: Row) -> None:
    assert_row(row)


def test_every_check_with_a_host_dependent_default_has_rows() -> None:
    touched = {
        "firewall.wmi-rules",
        "services.rpcss",
        "services.rpceptmapper",
        "services.configuration",
        "repository.files",
        "namespaces.default-security",
        "quotas.configuration",
        "evidence.integrity",
        "dcom.wmi-appid",
        "rpc.restrict-remote-clients",
    }
    assert touched == {r.check for r in ROWS}
    for check in touched:
        statuses = {r.status for r in ROWS if r.check == check}
        assert len(statuses) >= 2, f"{check}: a check must be able to both pass and not pass"
