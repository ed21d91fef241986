"""Registry -> Evidence: every section the registry feeds, from a real hive and from exports."""

from __future__ import annotations

import json

import pytest

from wmidoctor.artifacts.registry import Registry
from wmidoctor.artifacts.registry.model import REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ, RegValue
from wmidoctor.artifacts.registry.regfile import write_reg_file
from wmidoctor.artifacts.registry.security import parse_sddl, to_binary
from wmidoctor.artifacts.registry.tree import RegTree
from wmidoctor.evidence import Evidence
from wmidoctor.evidence.model import Provider
from wmidoctor.sources.registry import fill_evidence, firewall_rule

APPID = "HKLM\\SOFTWARE\\Classes\\AppID\\{8BC3F05E-D86B-11D0-A075-00C04FB68820}"
CIMWIN32 = "{D63A5850-8F16-11CF-9F47-00AA00BF345C}"


@pytest.fixture(scope="module")
def system_and_ole(corpus):
    registry = Registry.open([corpus / "registry" / "SYSTEM", corpus / "registry" / "HKLM_SOFTWARE_Microsoft_Ole.reg"])
    return fill_evidence(registry)


def test_services_from_system_hive(system_and_ole):
    services = system_and_ole.services
    assert services.status == "collected" and services.sources == ["registry:SYSTEM"]
    winmgmt = services.get("winmgmt")
    assert (winmgmt.start_type, winmgmt.service_type, winmgmt.svchost_group) == ("auto", "share-process", "netsvcs")
    assert winmgmt.object_name == "localSystem" and winmgmt.depends_on == ["RPCSS"]
    assert winmgmt.source == "registry:HKLM\\SYSTEM\\CurrentControlSet\\Services\\Winmgmt"
    assert services.get("RpcSs").depends_on == ["RpcEptMapper", "DcomLaunch"]
    assert set(services.services) == {"Winmgmt", "RpcSs", "DcomLaunch", "RpcEptMapper"}
    assert services.winmgmt_dependents == ["iphlpsvc", "SharedAccess", "VMUpgradeHelper", "wscsvc"]


def test_firewall_wmi_group_per_profile(system_and_ole):
    firewall = system_and_ole.firewall
    assert {p: s.value for p, s in firewall.profiles.items()} == {"domain": 1, "private": 1, "public": 1}
    assert len(firewall.rules) == 8
    assert {r.group for r in firewall.rules} == {"Windows Management Instrumentation (WMI)"}
    dcom_in = [r for r in firewall.rules if r.name == "Windows Management Instrumentation (DCOM-In)"]
    assert [(r.profiles, r.local_ports, r.service, r.enabled) for r in dcom_in] == [
        (["domain"], "135", "rpcss", False),
        (["private", "public"], "135", "rpcss", False),
    ]
    assert all(r.source.endswith(("-NoScope", "-TCP")) for r in firewall.rules)


def test_dcom_from_export(system_and_ole):
    dcom = system_and_ole.dcom
    assert dcom.status == "partial" and "AppID" in dcom.reason
    assert dcom.enable_dcom.value == "Y"
    assert dcom.enable_dcom.source == "registry:HKLM\\SOFTWARE\\Microsoft\\Ole!EnableDCOM"
    assert dcom.legacy_authentication_level.value == 2
    assert dcom.machine_launch_restriction.allowed_mask("S-1-5-32-562") == 0x1F
    assert dcom.machine_access_restriction.source.endswith("!MachineAccessRestriction")
    assert dcom.default_access_permission is None  # absent: the Windows default applies
    assert dcom.hardening == {}


def test_sections_without_artifacts_stay_not_collected(system_and_ole):
    for name in ("remote_uac", "rpc_policy", "repository", "providers"):
        assert system_and_ole.sections()[name].status == "not_collected"


@pytest.fixture
def software_export(tmp_path):
    """A collector-style SOFTWARE export (UTF-16 LE with BOM) with every key the adapter reads."""
    tree = RegTree()
    values = {
        "HKLM\\SOFTWARE\\Microsoft\\Wbem\\CIMOM": [
            RegValue("Repository Directory", REG_EXPAND_SZ, "%SystemRoot%\\system32\\WBEM\\Repository"),
            RegValue("Autorecover MOFs", REG_MULTI_SZ, ["%windir%\\system32\\wbem\\cimwin32.mof", "C:\\x.mof"]),
            RegValue("Logging", REG_SZ, "1"),
        ],
        "HKLM\\SOFTWARE\\Microsoft\\Ole": [
            RegValue("EnableDCOM", REG_SZ, "N"),
            RegValue("MachineLaunchRestriction", REG_BINARY, b"\x01\x00\x04"),
        ],
        "HKLM\\SOFTWARE\\Microsoft\\Ole\\AppCompat": [
            RegValue("RequireIntegrityActivationAuthenticationLevel", REG_DWORD, 1)
        ],
        APPID: [
            RegValue(
                "LaunchPermission",
                REG_BINARY,
                to_binary(parse_sddl("O:BAG:BAD:(A;;CCDCLCSWRP;;;BA)(A;;CCDCLCSWRP;;;SY)")),
            ),
            RegValue("AuthenticationLevel", REG_DWORD, 6),
        ],
        f"HKLM\\SOFTWARE\\Classes\\CLSID\\{CIMWIN32}\\InprocServer32": [
            RegValue("", REG_EXPAND_SZ, "%systemroot%\\system32\\wbem\\cimwin32.dll"),
            RegValue("ThreadingModel", REG_SZ, "Both"),
        ],
        "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System": [
            RegValue("LocalAccountTokenFilterPolicy", REG_DWORD, 1)
        ],
        "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Rpc": [RegValue("RestrictRemoteClients", REG_DWORD, 1)],
        "HKLM\\SOFTWARE\\Microsoft\\Rpc\\Internet": [RegValue("Ports", REG_MULTI_SZ, ["5000-5100"])],
    }
    for path, items in values.items():
        for value in items:
            tree.set_value(path, value)
    tree.add_root("HKLM\\SOFTWARE\\Microsoft\\Wbem\\CIMOM")
    tree.add_root("HKLM\\SOFTWARE\\Microsoft\\Ole")
    tree.add_root(APPID)
    tree.add_root("HKLM\\SOFTWARE\\Classes\\CLSID")
    tree.add_root("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System")
    tree.add_root("HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Rpc")
    tree.add_root("HKLM\\SOFTWARE\\Microsoft\\Rpc\\Internet")
    path = tmp_path / "software.reg"
    write_reg_file(tree, path)
    return path


def test_every_software_section_from_an_export(software_export):
    evidence = Evidence()
    evidence.providers.providers.append(Provider(namespace="root\\cimv2", name="CIMWin32", clsid=CIMWIN32.lower()))
    fill_evidence(Registry.open([software_export]), evidence, clsids=["{00000000-0000-0000-0000-000000000001}"])

    repository = evidence.repository
    assert repository.status == "partial"
    assert repository.directory.value == "%SystemRoot%\\system32\\WBEM\\Repository"
    assert [m.path for m in repository.autorecover_mofs][1] == "C:\\x.mof"
    assert repository.autorecover_source.endswith("CIMOM!Autorecover MOFs")
    assert repository.logging["Logging"].value == "1"

    dcom = evidence.dcom
    assert dcom.status == "collected" and dcom.enable_dcom.value == "N"
    assert dcom.machine_launch_restriction is None
    assert any("MachineLaunchRestriction: damaged security descriptor" in p for p in dcom.problems)
    assert dcom.hardening["RequireIntegrityActivationAuthenticationLevel"].value == 1
    assert dcom.wmi_appid_launch_permission.aces_for("S-1-5-18")[0].rights[-1] == "activate-remote"
    assert dcom.wmi_appid_access_permission is None
    assert dcom.wmi_appid_authentication_level.value == 6

    servers = evidence.providers.com_servers
    assert servers[CIMWIN32].registered and servers[CIMWIN32].threading_model == "Both"
    assert servers[CIMWIN32].inproc_server == "%systemroot%\\system32\\wbem\\cimwin32.dll"
    assert not servers["{00000000-0000-0000-0000-000000000001}"].registered

    assert evidence.remote_uac.local_account_token_filter_policy.value == 1
    assert evidence.remote_uac.enable_lua is None
    assert evidence.rpc_policy.restrict_remote_clients.value == 1
    assert evidence.rpc_policy.ports.value == ["5000-5100"]
    assert evidence.services.status == "not_collected"
    assert Evidence.from_json(evidence.to_json()).dcom.wmi_appid_authentication_level.value == 6


def test_firewall_rule_selection():
    wmi = (
        "v2.30|Action=Allow|Active=TRUE|Dir=In|Protocol=6|Profile=Domain|LPort=135|App=%SystemRoot%\\system32\\"
        "svchost.exe|Svc=rpcss|Name=@FirewallAPI.dll,-34252|EmbedCtxt=@FirewallAPI.dll,-34251|"
    )
    rule = firewall_rule("WMI-RPCSS-In-TCP", wmi, "registry:X!WMI-RPCSS-In-TCP")
    assert rule.enabled and rule.protocol == "tcp" and rule.profiles == ["domain"]
    custom = "v2.10|Action=Block|Active=TRUE|Dir=In|App=%systemroot%\\system32\\wbem\\unsecapp.exe|Name=UnsecApp|"
    blocked = firewall_rule("{guid}", custom, "s")
    assert blocked.action == "block" and blocked.name == "UnsecApp" and blocked.group == "" and blocked.profiles == []
    other_group = wmi.replace("-34251", "-28502")
    assert firewall_rule("FPS", other_group, "s") is None
    with pytest.raises(ValueError):
        firewall_rule("x", "garbage", "s")


def test_registry_verb(cli, corpus, software_export):
    folder = corpus / "registry"
    done = cli("registry", str(folder / "SYSTEM"), str(folder / "HKLM_SOFTWARE_Microsoft_Ole.reg"))
    assert done.returncode == 0, done.stderr
    assert "Winmgmt: start=auto" in done.stdout and "Distributed COM Users" in done.stdout
    as_json = cli("registry", str(software_export), "--json", "--clsid", CIMWIN32)
    assert as_json.returncode == 1  # the damaged MachineLaunchRestriction is a problem
    data = json.loads(as_json.stdout)
    assert data["sections"]["dcom"]["enable_dcom"]["value"] == "N"
    assert data["sections"]["providers"]["com_servers"][CIMWIN32]["registered"] is True
    assert any("damaged security descriptor" in p for p in data["problems"])
    damaged = cli("registry", str(folder / "corrupted_system_hive"))
    assert damaged.returncode == 1 and "Winmgmt" in damaged.stdout and "Problems (" in damaged.stdout
    missing = cli("registry", str(folder / "nope"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    not_registry = cli("registry", str(corpus / "README.md"))
    assert not_registry.returncode == 2 and "no registry hive" in not_registry.stderr
