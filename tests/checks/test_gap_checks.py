"""The gap checks beyond pass/fail: which verdict each branch gives, what they name, and one real System log."""

from __future__ import annotations

import pytest
from diagnose_factories import healthy
from gap_factories import ACTIVITY, DCOM, GAP_SICK, SCM, client_failure, event

from snapshots import judged
from wmidoctor.evidence.model import Evidence, Namespace, ProviderHost, RepositoryFile, Setting
from wmidoctor.evidence.processes import ProcessLife
from wmidoctor.findings import Finding
from wmidoctor.knowledge import defaults as d


def run(check_id: str, ev: Evidence) -> Finding:
    return judged(check_id, ev)


def sick(check_id: str) -> Evidence:
    ev = healthy()
    GAP_SICK[check_id](ev)
    return ev


def details(finding: Finding) -> str:
    return " ".join(e.detail for e in finding.evidence)


def test_winmgmt_crash_fails_companion_crash_warns_start_type_change_informs():
    assert run("services.crashes", sick("services.crashes")).status == "fail"
    ev = healthy()
    ev.events.groups.append(event(SCM, 7034, 2, param1="WMI Performance Adapter", Service="wmiApSrv"))
    assert run("services.crashes", ev).status == "warn"
    ev = healthy()
    ev.events.groups.append(
        event(
            SCM,
            7040,
            1,
            param1="Windows Management Instrumentation",
            param2="auto start",
            param3="disabled",
            Service="Winmgmt",
        )
    )
    finding = run("services.crashes", ev)
    assert finding.status == "info" and "disabled" in details(finding)


def test_narrowed_service_sddl_names_what_administrators_lost_and_restores_the_default_dacl():
    finding = run("services.winmgmt-sddl", sick("services.winmgmt-sddl"))
    assert finding.status == "warn"
    assert "Administrators cannot start, stop, change permissions" in details(finding)
    assert "deny entry for Authenticated Users" in details(finding)
    assert finding.fixes[0].command == f'sc sdset Winmgmt "{d.WINMGMT_SERVICE_SDDL.split("S:")[0]}"'


def test_service_binary_and_account_are_compared_with_the_defaults():
    finding = run("services.configuration", sick("services.configuration"))
    assert finding.status == "fail" and "svc.exe instead of svchost.exe" in finding.summary
    ev = healthy()
    ev.services.services["RpcSs"].object_name = "LocalSystem"
    finding = run("services.configuration", ev)
    assert finding.status == "fail" and "RpcSs runs as LocalSystem" in finding.summary


def test_empty_objects_data_fails_and_a_moved_repository_informs():
    ev = healthy()
    ev.repository.files = [
        f if f.name != "OBJECTS.DATA" else RepositoryFile("OBJECTS.DATA", 0) for f in ev.repository.files
    ]
    assert "empty: OBJECTS.DATA" in run("repository.files", ev).summary
    ev = healthy()
    ev.repository.directory = Setting("D:\\WMI\\Repository", "registry:...\\CIMOM!Repository Directory")
    assert run("repository.files", ev).status == "info"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("\\\\fileserver\\mofs\\contoso.mof", "warn"),
        ("contoso.mof", "warn"),
        ("C:\\Program Files\\Contoso\\contoso.mof", "info"),
        ("%windir%\\system32\\wbem\\xwizard.mof", "pass"),
    ],
)
def test_autorecover_locations(path, status):
    from wmidoctor.evidence.model import AutorecoverMof

    ev = healthy()
    ev.repository.autorecover_mofs.append(AutorecoverMof(path, True))
    assert run("autorecover.locations", ev).status == status


def test_10016_for_other_applications_is_noise_and_remote_refusals_suggest_distributed_com_users():
    ev = healthy()
    ev.events.groups.append(
        event(
            DCOM,
            10016,
            61,
            CLSID="{D63B10C5-BB46-4990-A94F-E40B9D520160}",
            AppID="{9CA88EE3-ACB7-47C8-AFC4-AB702511C276}",
            Locality="Local",
        )
    )
    finding = run("dcom.wmi-permission-events", ev)
    assert finding.status == "pass" and "61 refusals for other applications ignored" in finding.summary
    finding = run("dcom.wmi-permission-events", sick("dcom.wmi-permission-events"))
    assert "CONTOSO\\monitor" in finding.summary
    assert any("S-1-5-32-562" in f.command for f in finding.fixes)


def test_winmgmt_disabled_behind_10005_puts_the_start_type_fix_first():
    ev = healthy()
    ev.events.groups.append(event(DCOM, 10005, 4, Error="1058", Service="winmgmt", Arguments="", CLSID=d.WMI_APPID))
    finding = run("dcom.activation-timeouts", ev)
    assert finding.status == "fail" and finding.fixes[0].command.startswith("sc config winmgmt start= auto")


def test_headroom_uses_the_hosts_own_quota_and_names_the_limit_to_raise():
    ev = healthy()
    ev.quotas.handles_per_host = Setting(2000, "wmi:root:__ProviderHostQuotaConfiguration")
    ev.provider_hosts.hosts.append(ProviderHost(pid=77, handles=1900, source="bundle:wmi/provider-hosts.json#pid 77"))
    finding = run("quotas.host-headroom", ev)
    assert finding.status == "warn" and "HandlesPerHost at 95%" in finding.summary
    assert "HandlesPerHost=4000" in finding.fixes[-1].command and "HandlesPerHost=2000" in finding.fixes[-1].undo
    assert run("quotas.host-headroom", sick("quotas.host-headroom")).status == "warn"


def test_missing_core_class_is_not_read_as_a_perf_counter_problem():
    ev = healthy()
    ev.events.groups.append(client_failure("0x80041010", "root\\cimv2", "select * from Win32_Service", 80))
    assert run("events.perf-classes", ev).status == "pass"
    finding = run("events.perf-classes", sick("events.perf-classes"))
    assert any("lodctr /R" in f.command for f in finding.fixes)


def test_invalid_namespace_names_the_feature_probes_inform_and_a_present_namespace_leads_the_causes():
    finding = run("events.invalid-namespace", sick("events.invalid-namespace"))
    assert finding.status == "warn" and "Configuration Manager client" in details(finding)
    ev = healthy()
    ev.events.groups.append(client_failure("0x8004100E", "root\\securitycenter2", "select * from AntiVirusProduct", 2))
    assert run("events.invalid-namespace", ev).status == "info"
    ev = sick("events.invalid-namespace")
    ev.namespaces.namespaces.append(Namespace("root\\ccm"))
    finding = run("events.invalid-namespace", ev)
    assert finding.status == "warn" and finding.causes[0].startswith("root\\ccm exist")


def test_provider_errors_fail_unless_a_broken_registration_already_explains_them():
    finding = run("events.provider-errors", sick("events.provider-errors"))
    assert finding.status == "warn" and "ContosoProv" in finding.causes[0]
    ev = healthy()
    ev.events.groups.append(client_failure("0x80041014", "root\\vendor", "select * from Vendor_Thing", 5))
    ev.events.groups.append(
        event(ACTIVITY, 5857, 5, ProviderName="VendorProv", Code="0x80041014", ProviderPath="C:\\Vendor\\prov.dll")
    )
    finding = run("events.provider-errors", ev)
    assert finding.status == "fail" and "VendorProv" in details(finding)


def test_idle_task_throttling_informs_and_names_the_client():
    ev = healthy()
    ev.events.processes.append(ProcessLife("6060", "C:\\agent.exe", started="2000-01-01T00:00:00Z"))
    ev.events.groups.append(
        client_failure(
            "0x80041032",
            "root\\cimv2",
            "select * from Win32_Process",
            9,
            pid="6060",
            PossibleCause="Throttling Idle Tasks, refer to CIMOM regkey: ArbTaskMaxIdle",
        )
    )
    finding = run("events.throttling", ev)
    assert finding.status == "info" and "PID 6060 (agent.exe)" in finding.summary
    assert run("events.throttling", sick("events.throttling")).status == "warn"


@pytest.mark.corpus
def test_real_system_log_10016_on_the_wmi_appid(corpus):
    from wmidoctor.sources.events import collect_events

    ev = healthy()
    ev.events = collect_events([str(corpus / "evtx" / "omerbenamram-evtx__2-vss_7-System.evtx")])
    finding = run("dcom.wmi-permission-events", ev)
    # every refusal there is of an AppContainer (ContentDeliveryManager): by design (verdicts/evtx-2-vss_7-System.md)
    assert finding.status == "info" and "AppContainers" in finding.summary
    assert "ContentDeliveryManager" in details(finding)
    for group in ev.events.groups:  # the same refusals for a desktop program: a real denial
        group.key.pop("PackageSid", None)
        group.example.pop("PackageSid", None)
    finding = run("dcom.wmi-permission-events", ev)
    assert finding.status == "warn" and "(Local)" in finding.summary
    assert "Windows Management Instrumentation" in details(finding)
