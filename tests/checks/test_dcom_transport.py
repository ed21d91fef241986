"""dcom.protocols and dcom.wmi-fixed-port beyond pass/fail, and the registry and netsh readers that feed them."""

from __future__ import annotations

import pytest
from config_factories import APPID, OLE, RPC, fixed_port_rule, standalone
from diagnose_factories import healthy, sick

from snapshots import judged
from wmidoctor.artifacts.registry import Registry
from wmidoctor.artifacts.registry.model import REG_DWORD, REG_MULTI_SZ, RegValue
from wmidoctor.artifacts.registry.regfile import write_reg_file
from wmidoctor.artifacts.registry.tree import RegTree
from wmidoctor.checks.dcom_transport import fixed_port
from wmidoctor.evidence.model import Evidence, Setting
from wmidoctor.findings import Finding
from wmidoctor.knowledge.defaults import names_wmi_fixed_port, ports_include
from wmidoctor.sources.registry import fill_evidence, firewall_rule


def run(check_id: str, ev: Evidence) -> Finding:
    return judged(check_id, ev)


def test_protocol_list_without_tcp_fails_with_a_restorable_fix():
    finding = run("dcom.protocols", sick("dcom.protocols"))
    assert finding.status == "fail" and "ncacn_spx, ncacn_nb_nb" in finding.summary
    assert "REG_MULTI_SZ /d ncacn_ip_tcp" in finding.fixes[1].command
    assert finding.fixes[0].command.startswith('reg export "HKLM\\SOFTWARE\\Microsoft\\Rpc"')


def test_absent_protocol_list_is_the_default():
    ev = healthy()
    ev.rpc_policy.dcom_protocols = None
    assert run("dcom.protocols", ev).status == "pass"


@pytest.mark.parametrize(
    ("flags", "status", "named"),
    [
        (0x2, "warn", "DCOMSCM_ACTIVATION_DISALLOW_UNSECURE_CALL"),
        (0x8 | 0x1, "warn", "DCOMSCM_RESOLVE_DISALLOW_UNSECURE_CALL"),
        (0x10, "info", "DCOMSCM_PING_USE_MID_AUTHNSERVICE"),
        (0, "pass", ""),
    ],
)
def test_scm_remote_call_flags(flags, status, named):
    ev = healthy()
    ev.dcom.scm_remote_call_flags = Setting(flags, f"{OLE}!DCOMSCMRemoteCallFlags")
    finding = run("dcom.protocols", ev)
    assert finding.status == status and named in finding.summary
    if status == "warn":
        assert f"/d {flags} /f" in finding.fixes[-1].undo


def test_standalone_without_an_opening_for_the_fixed_port_warns():
    ev = sick("dcom.wmi-fixed-port")
    finding = run("dcom.wmi-fixed-port", ev)
    assert finding.status == "warn" and "TCP 24158" in finding.summary
    assert "localport=24158" in finding.fixes[0].command and "delete rule" in finding.fixes[0].undo
    assert finding.fixes[1].command.startswith("winmgmt /sharedhost")


def test_standalone_admitted_by_a_port_rule_or_the_wmi_service_rule_informs():
    ev = sick("dcom.wmi-fixed-port")
    ev.firewall.rules.append(fixed_port_rule())
    finding = run("dcom.wmi-fixed-port", ev)
    assert finding.status == "info" and "admits it (WMI fixed port)" in finding.summary
    ev = healthy()
    standalone(ev)  # the enabled WMI-In rule, bound to the winmgmt service, keeps admitting it
    assert "admits it (WMI-In)" in run("dcom.wmi-fixed-port", ev).summary


def test_endpoint_without_standalone_host_is_half_done_and_other_ports_are_not_judged():
    ev = healthy()
    ev.dcom.wmi_appid_endpoints = Setting(["ncacn_ip_tcp,0,24158"], f"{APPID}!Endpoints")
    finding = run("dcom.wmi-fixed-port", ev)
    assert finding.status == "info" and "half in place" in finding.summary
    ev = sick("dcom.wmi-fixed-port")
    standalone(ev, port=30000)
    finding = run("dcom.wmi-fixed-port", ev)
    assert finding.status == "info" and "check that a rule opens it" in finding.summary


def test_endpoint_and_port_text_parsing():
    assert fixed_port(Setting(["ncacn_ip_tcp,0,24158"])) == 24158
    assert fixed_port(Setting("ncacn_ip_tcp.0.24158")) == 24158
    assert fixed_port(Setting(["ncacn_np,0,pipe"])) is None
    assert ports_include("135,20000-30000", 24158) and ports_include("Any", 1)
    assert not ports_include("RPC", 24158)
    assert names_wmi_fixed_port("24158") and not names_wmi_fixed_port("Any")


def test_registry_reader_fills_the_new_values(tmp_path):
    tree = RegTree()
    rpc, ole, appid = (k.removeprefix("registry:") for k in (RPC, OLE, APPID))
    tree.set_value(rpc, RegValue("DCOM Protocols", REG_MULTI_SZ, ["ncacn_ip_tcp"]))
    tree.set_value(ole, RegValue("DCOMSCMRemoteCallFlags", REG_DWORD, 2))
    tree.set_value(appid, RegValue("Endpoints", REG_MULTI_SZ, ["ncacn_ip_tcp,0,24158"]))
    for key in (rpc, ole, appid):
        tree.add_root(key)
    write_reg_file(tree, tmp_path / "software.reg")
    ev = fill_evidence(Registry.open([tmp_path / "software.reg"]))
    assert ev.rpc_policy.dcom_protocols.value == ["ncacn_ip_tcp"]
    assert ev.rpc_policy.dcom_protocols.source == f"{RPC}!DCOM Protocols"
    assert ev.dcom.scm_remote_call_flags.value == 2
    assert ev.dcom.wmi_appid_endpoints.value == ["ncacn_ip_tcp,0,24158"]


def test_a_rule_naming_the_fixed_port_is_kept_as_wmi_evidence():
    rule = firewall_rule(
        "WMIFixed", "v2.30|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=24158|Name=WMI fixed|", "registry:x"
    )
    assert rule is not None and rule.local_ports == "24158"
    assert firewall_rule("Other", "v2.30|Action=Allow|Active=TRUE|Dir=In|Protocol=6|LPort=8080|Name=Web|", "x") is None
