"""Bundles of the 0.4 collector (issue 22), made by the tests in its formats from the example bundle (no
Windows host here): service keys exported without vouching for the whole Services tree, the masked XML form
of the WMI-Activity log, a firewall not read because its service was stopped, and the new registry exports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from wmidoctor.checks import run_checks
from wmidoctor.sources.artifacts import BY_KEY
from wmidoctor.sources.bundle import load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bundles"
SERVICES = "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services]\r\n\r\n"


def _copy(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(EXAMPLES / "dcom-remote-launch-denied", bundle)
    return bundle


def _services_text(bundle: Path) -> str:
    return (bundle / "registry" / "services.reg").read_bytes().decode("utf-16")


def test_service_keys_without_a_cover_key_are_read_and_vouch_for_themselves_alone(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    before = load(bundle)
    text = _services_text(bundle)
    assert SERVICES in text  # the example was made by the 0.3 collector, which vouched for the whole tree
    (bundle / "registry" / "services.reg").write_bytes(b"\xff\xfe" + text.replace(SERVICES, "").encode("utf-16-le"))
    after = load(bundle)
    assert after.services.status == "collected"
    # the section names the file holding the service keys (not the firewall policy under Services\SharedAccess)
    assert [s for s in after.services.sources if s.startswith("registry:")] == ["registry:services.reg"]
    assert sorted(after.services.services) == sorted(before.services.services)
    assert after.services.winmgmt_dependents == before.services.winmgmt_dependents


def test_without_any_service_key_the_services_are_not_known(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    (bundle / "registry" / "services.reg").write_bytes(
        b"\xff\xfe" + "Windows Registry Editor Version 5.00\r\n\r\n".encode("utf-16-le")
    )
    sources = load(bundle).services.sources
    assert sources and not any(source.startswith("registry") for source in sources)  # from sc.exe output only


def test_the_firewall_not_read_because_its_service_stopped_is_not_a_firewall_without_rules(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    reason = "not collected: the Windows Firewall service (MpsSvc) is Stopped, and netsh shows no rules then"
    for entry in manifest["artifacts"]:
        if entry["name"] in (BY_KEY["FirewallRules"].name, BY_KEY["FirewallProfiles"].name):
            entry["status"], entry["error"] = "failed", reason
            (bundle / entry["name"]).unlink(missing_ok=True)
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    evidence = load(bundle)
    statuses = {a.name: a for a in evidence.collection.artifacts}
    assert "MpsSvc" in statuses[BY_KEY["FirewallRules"].name].reason
    findings = {run.finding.check: run.finding for run in run_checks(evidence)}
    rules = findings["firewall.wmi-rules"]
    assert rules.status != "fail", rules


def test_the_masked_xml_form_of_a_log_is_read(tmp_path: Path) -> None:
    bundle = _copy(tmp_path)
    artifact = BY_KEY["WmiActivityLog"]
    assert artifact.name.endswith(".xml")
    record = (
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
        "<Provider Name='Microsoft-Windows-WMI-Activity'/><EventID>5861</EventID>"
        "<TimeCreated SystemTime='2026-11-30T10:00:00.000Z'/><Channel>Microsoft-Windows-WMI-Activity/Operational"
        "</Channel><Computer>PC-0417</Computer></System><UserData><Operation_ESStoConsumerBinding>"
        "<Namespace>//./root/subscription</Namespace><ESS>Updater</ESS><CONSUMER>CommandLineEventConsumer="
        '"Updater"</CONSUMER><PossibleCause>Binding EventFilter: instance of __EventFilter { Name = "Every5";'
        ' Query = "SELECT * FROM __TimerEvent"; }; Perm. Consumer: instance of CommandLineEventConsumer { '
        'CommandLineTemplate = "cmd /c net use \\\\fs\\c$ [masked] /user:CORP\\svc"; Name = "Updater"; };'
        "</PossibleCause></Operation_ESStoConsumerBinding></UserData></Event>"
    )
    for old in (bundle / "logs").glob("Microsoft-Windows-WMI-Activity*"):
        old.unlink()
    (bundle / artifact.name).write_text(record, encoding="utf-8")
    evidence = load(bundle)
    assert any(log.path.endswith(artifact.name.rsplit("/", 1)[1]) for log in evidence.events.logs)
    assert evidence.events.status == "collected"


def test_the_winmgmt_svchost_figures_are_read_apart_from_the_provider_hosts(tmp_path: Path) -> None:
    """files/winmgmt-host.json: the Winmgmt svchost is not a provider host, so WmiPrvSE quotas never judge it."""
    bundle = _copy(tmp_path)
    figures = {
        "pid": 1234,
        "process_name": "svchost.exe",
        "hosting_model": "Winmgmt service host",
        "working_set": 52428800,
        "private_bytes": 41943040,
        "handles": 2150,
        "threads": 31,
    }
    (bundle / BY_KEY["WinmgmtHost"].name).write_text(json.dumps(figures), encoding="utf-8")
    evidence = load(bundle)
    host = evidence.services.winmgmt_host
    assert host is not None and (host.pid, host.process_name, host.handles, host.private_bytes) == (
        1234,
        "svchost.exe",
        2150,
        41943040,
    )
    assert all(h.pid != 1234 for h in evidence.provider_hosts.hosts)
    saved = type(evidence).from_json(evidence.to_json())
    assert saved.services.winmgmt_host == host


def test_a_domain_controller_and_its_domain_are_known_from_the_registry_when_wmi_is_dead(tmp_path: Path) -> None:
    """host-identity.reg of a Windows Server 2022 domain controller (InstallationType gives the edition;
    ProductType LanmanNT still says domain controller), with the DNS domain from the Tcpip parameters."""
    bundle = _copy(tmp_path)
    (bundle / "wmi" / "identity.json").unlink()
    text = (
        "Windows Registry Editor Version 5.00\r\n\r\n"
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\r\n"
        '"ProductName"="Windows Server 2022 Datacenter"\r\n"EditionID"="ServerDatacenter"\r\n'
        '"InstallationType"="Server"\r\n"CurrentBuild"="20348"\r\n\r\n'
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\ProductOptions]\r\n"
        '"ProductType"="LanmanNT"\r\n\r\n'
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters]\r\n"
        '"NV Domain"="corp.example"\r\n'
    )
    (bundle / BY_KEY["RegHostIdentity"].name).write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    identity = load(bundle).identity
    assert (identity.edition, identity.domain_role, identity.domain) == ("server", "domain-controller", "corp.example")
