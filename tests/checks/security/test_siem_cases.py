"""Expected verdicts (../shared/verdicts/siem-*.md) on the OTRF JSON-lines exports: WMI persistence, remote
process creation through WmiPrvSE.exe, WMIC with a remote XSL stylesheet, and Excel DCOM lateral movement
that is not WMI. The exports are read by the JSON-lines reader (artifacts.jsonl)."""

from __future__ import annotations

import pytest
from security_bundles import diagnose

pytest.importorskip("wmidoctor.artifacts.jsonl", reason="the JSON-lines reader (branch jsonl) is not merged yet")

SIEM = "siem/otrf__{}.json"
SECURITY = ("security.subscriptions", "security.wmi-execution", "security.wmic-xsl")


@pytest.fixture(params=[False, True], ids=["full", "quick"])
def siem(bundle_of, request):
    """Diagnose a folder holding one export, in full and with --quick (which reads exports whole)."""

    def make(name: str):
        return diagnose(bundle_of(name, logs={f"{name}.json": SIEM.format(name)}), quick=request.param)

    return make


def test_covenant_persistwmi_evil_persistence(siem):
    findings = siem("covenant_persistwmi_2019-12-05044734")
    finding = findings["security.subscriptions"]
    assert finding.status == "fail" and finding.severity == "error", finding.summary
    (chain,) = [i for i in finding.items if i["consumer"] == "Evil Persistence"]
    assert chain["severity"] == "error" and chain["consumer_class"] == "CommandLineEventConsumer"
    assert "powershell -Sta -Nop -Window Hidden -EncodedCommand" in chain["payload"]
    assert "notepad.exe" in chain["query"] and "T1546.003" in chain["attack"]
    sources = {s["source"] for s in chain["seen"]}
    assert {"Sysmon 19", "Sysmon 20", "Sysmon 21", "WMI-Activity 5861"} <= sources
    assert any(s["user"].lower() == "shire\\pgustavo" for s in chain["seen"])
    # no process was started by the consumer in the capture: no execution finding
    assert not findings["security.wmi-execution"].is_problem


def test_covenant_sharpwmi_remote_process_creation(siem):
    findings = siem("covenant_sharpwmi_create_dcerpc_wmi_2020-08-06035621")
    finding = findings["security.wmi-execution"]
    assert finding.status == "fail" and finding.severity == "error", finding.summary
    grunt = next(i for i in finding.items if i["image"].lower().endswith("grunthttp2.exe"))
    assert grunt["severity"] == "error" and "T1047" in grunt["attack"]
    assert grunt["parent"].lower().endswith("wmiprvse.exe") and grunt["logon_id"] == "0xc93745"
    logon = grunt["network_logon"]
    assert logon and logon["user"].lower().endswith("pgustavo") and logon["address"]
    assert any("CIMWin32" in load for load in grunt["provider_loads"])
    # the WmiPrvSE.exe start itself is not a finding: only its child
    assert all(not i["image"].lower().endswith("wmiprvse.exe") for i in finding.items)


def test_empire_execmethod_encoded_powershell(siem):
    findings = siem("empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod_2020-09-21001437")
    finding = findings["security.wmi-execution"]
    assert finding.status == "fail" and finding.severity == "error", finding.summary
    (shell,) = [i for i in finding.items if i["image"].lower().endswith("powershell.exe")]  # Sysmon 1 = 4688
    assert shell["severity"] == "error" and shell["logon_id"] == "0x32c5cb5" and shell["network_logon"]
    assert "-enc" in shell["command_line"].lower() and shell["indicators"].get("decoded")
    # the DC's Server Manager inventory (provider loads, no children) stays quiet
    assert all("mordordc" not in i["host"].lower() for i in finding.items if i["severity"] != "info")


def test_wmic_remote_xsl(siem):
    findings = siem("wmic_remote_xsl_jscript_2020-10-1802171958")
    finding = findings["security.wmic-xsl"]
    assert finding.status == "fail" and finding.severity == "error", finding.summary
    (run,) = [i for i in finding.items if i["severity"] == "error"]
    assert run["stylesheet"].startswith("https://raw.githubusercontent.com/") and run["attack"] == ["T1220"]
    assert any(c["image"].lower().endswith("calc.exe") for c in run["children"])
    assert "raw.githubusercontent.com" in run["indicators"]["hosts"]
    # WmiPrvSE served the query and started nothing: it is not reported as spawning calc
    assert not findings["security.wmi-execution"].is_problem


def test_excel_dcom_lateral_movement_is_not_wmi(siem):
    findings = siem("covenant_dcom_registerxll_2020-09-18145959")
    for check in SECURITY:
        assert not findings[check].is_problem, (check, findings[check].summary)
