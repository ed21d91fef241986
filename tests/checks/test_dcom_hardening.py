"""dcom.hardening names the clients behind events 10036/10037/10038 and reads the AppCompat values with them."""

from __future__ import annotations

from diagnose_factories import healthy, sick
from gap_factories import DCOM, event

from snapshots import judged
from wmidoctor.evidence.model import Evidence, Setting
from wmidoctor.findings import Finding
from wmidoctor.logs.shapes import group_key, named_fields, shape_of

APPCOMPAT = "registry:HKLM\\SOFTWARE\\Microsoft\\Ole\\AppCompat"


def run(ev: Evidence) -> Finding:
    return judged("dcom.hardening", ev)


def client_event(event_id: int, application: str, level: str = "2", count: int = 3):
    return event(
        DCOM,
        event_id,
        count,
        Application=application,
        CLSID="{8BC3F05E-D86B-11D0-A075-00C04FB68820}",
        Computer="SRV01",
        AuthenticationLevel=level,
    )


def test_server_rejections_name_user_and_address_and_fix_the_client_not_the_server():
    ev = sick("dcom.hardening")
    ev.events.groups.append(event(DCOM, 10036, 2, UserDomain="CONTOSO", UserName="scanner", Address="192.0.2.9"))
    finding = run(ev)
    assert finding.status == "fail"
    assert "CONTOSO\\monitor from 192.0.2.7 (x7)" in finding.summary
    assert "CONTOSO\\scanner from 192.0.2.9 (x2)" in finding.summary
    assert "S-1-5-21-1-2-3-1105" in " ".join(e.detail for e in finding.evidence)
    assert "Packet Integrity" in finding.fixes[0].step and "Do not try to lower" in finding.fixes[0].step


def test_ignored_opt_out_is_called_out_next_to_the_rejections():
    ev = sick("dcom.hardening")
    ev.dcom.hardening["RequireIntegrityActivationAuthenticationLevel"] = Setting(0, APPCOMPAT)
    assert "has no effect" in run(ev).summary


def test_client_failures_name_the_application_target_and_level():
    ev = healthy()
    ev.events.groups.append(client_event(10038, "C:\\Tools\\poller.exe"))
    finding = run(ev)
    assert finding.status == "warn"
    assert "C:\\Tools\\poller.exe -> SRV01 (x3)" in finding.summary
    assert "default level 2 (Connect)" in " ".join(e.detail for e in finding.evidence)
    assert not any("RaiseActivationAuthenticationLevel" in f.step for f in finding.fixes)


def test_explicit_level_with_a_partial_raise_setting_suggests_raising_all_activations():
    ev = healthy()
    ev.dcom.hardening["RaiseActivationAuthenticationLevel"] = Setting(1, APPCOMPAT)
    ev.events.groups.append(client_event(10037, "C:\\Agent\\agent.exe"))
    finding = run(ev)
    assert finding.status == "warn"
    assert "RaiseActivationAuthenticationLevel=1" in finding.causes[0]
    assert finding.fixes[0].command.startswith('reg delete "HKLM\\SOFTWARE\\Microsoft\\Ole\\AppCompat"')
    assert "/d 1 /f" in finding.fixes[0].undo


def test_many_clients_are_summarised():
    ev = healthy()
    for n in range(7):
        ev.events.groups.append(event(DCOM, 10036, 1, UserDomain="CONTOSO", UserName=f"u{n}", Address=f"192.0.2.{n}"))
    assert "and 2 more" in run(ev).summary


def test_disabled_logging_warns_and_no_events_passes():
    ev = healthy()
    assert run(ev).status == "pass"
    ev.dcom.hardening["DisableAuthenticationLevelHardeningLog"] = Setting(1, APPCOMPAT)
    assert run(ev).status == "warn"


def test_event_inserts_get_the_names_the_message_templates_give_them():
    provider = "Microsoft-Windows-DistributedCOM"
    server = named_fields(
        provider, 10036, {"param1": "CONTOSO", "param2": "monitor", "param3": "S-1-5-21-9", "param4": "192.0.2.7"}
    )
    assert server == {"UserDomain": "CONTOSO", "UserName": "monitor", "UserSid": "S-1-5-21-9", "Address": "192.0.2.7"}
    client = named_fields(
        provider, 10037, {"param1": "C:\\a.exe", "param2": "4242", "param3": "{X}", "param4": "SRV01", "param5": "2"}
    )
    assert client["Application"] == "C:\\a.exe" and client["AuthenticationLevel"] == "2"
    key = dict(group_key(shape_of(provider, 10037), client))
    assert "ProcessId" not in key and key["Computer"] == "SRV01"
