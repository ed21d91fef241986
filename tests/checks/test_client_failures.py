"""events.client-failures, one row per branch of its judgement (synthetic 5858 groups: the corpus cases are in
tests/verdicts/test_event_cases.py), and the class a 5858 operation names, read from its target."""

from __future__ import annotations

import pytest
from tests.checks.diagnose_factories import healthy
from tests.checks.gap_factories import ACTIVITY, event

from snapshots import judged
from wmidoctor.checks.events import method_of, target_class
from wmidoctor.findings import exit_code


def failure(code: str, method: str, namespace: str, target: str, count: int, pid: str = "4100"):
    operation = f"Start IWbemServices::{method} - {namespace} : {target}"
    return event(
        ACTIVITY,
        5858,
        count,
        ResultCode=code,
        Namespace=namespace,
        Method=method,
        Target=target,
        Operation=operation,
        ClientProcessId=pid,
        User="NT AUTHORITY\\SYSTEM",
    )


@pytest.mark.parametrize(
    ("target", "klass"),
    [
        ("SELECT * FROM Win32_ServerFeature", "Win32_ServerFeature"),
        ("select Name from  win32_process where ProcessId = 4", "win32_process"),
        ('RSOP_ExtensionStatus.extensionGuid="{0ACDD40C-75AC-47ab-BAA0-BF6DE7E7FE63}"', "RSOP_ExtensionStatus"),
        ("MSFT_SmbShare::FireShareChangeEvent", "MSFT_SmbShare"),
        ("  BatteryStaticData", "BatteryStaticData"),
        ("SELECT * FROM", ""),
        ("", ""),
    ],
)
def test_the_class_of_an_operation(target: str, klass: str) -> None:
    group = failure("0x80041010", "ExecQuery", "root\\cimv2", target, 1)
    assert target_class(group) == klass


def test_the_class_is_read_from_the_operation_text_when_there_is_no_target_field() -> None:
    group = event(
        ACTIVITY,
        5858,
        1,
        ResultCode="0x80041010",
        Operation="Start IWbemServices::ExecQuery - root\\cimv2 : SELECT * FROM Win32_Nope",
    )
    assert (target_class(group), method_of(group)) == ("Win32_Nope", "ExecQuery")


# (groups, edition, status, severity, exit code, words in the summary)
CASES = {
    "none": ([], "", "pass", "warning", 0, "No failed"),
    "benign flood": (
        [
            failure(
                "0x80041002", "DeleteInstance", "Root\\Rsop\\Computer", 'RSOP_ExtensionStatus.extensionGuid="{X}"', 623
            )
        ],
        "",
        "info",
        "info",
        0,
        "1 known-harmless",
    ),
    "isolated real failure": (
        [
            failure(
                "0x80041001",
                "ExecQuery",
                "root\\Microsoft\\Windows\\DeliveryOptimization",
                "SELECT * FROM MSFT_DeliveryOptimizationConfig",
                4,
            )
        ],
        "",
        "info",
        "info",
        0,
        "1 isolated",
    ),
    "recurring real failure": (
        [failure("0x80041003", "ExecQuery", "root\\cimv2", "SELECT * FROM Win32_Service", 5)],
        "",
        "warn",
        "warning",
        1,
        "0x80041003",
    ),
    "recurring across clients": (
        [
            failure("0x80041003", "ExecQuery", "root\\cimv2", "SELECT * FROM Win32_Service", 3, pid="1"),
            failure("0x80041003", "ExecQuery", "root\\cimv2", "SELECT * FROM Win32_Service", 2, pid="2"),
        ],
        "",
        "warn",
        "warning",
        1,
        "5 times",
    ),
    "server feature on a client": (
        [failure("0x80041010", "ExecQuery", "root\\cimv2", "SELECT * FROM Win32_ServerFeature", 9)],
        "client",
        "info",
        "info",
        0,
        "known-harmless",
    ),
    "server feature missing on a server": (
        [failure("0x80041010", "ExecQuery", "root\\cimv2", "SELECT * FROM Win32_ServerFeature", 9)],
        "server",
        "warn",
        "warning",
        1,
        "Win32_ServerFeature",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_client_failure_branches(case: str) -> None:
    groups, edition, status, severity, code, words = CASES[case]
    ev = healthy()
    ev.events.groups = [g for g in ev.events.groups if g.event_id != 5858] + groups
    ev.identity.edition = edition
    finding = judged("events.client-failures", ev)
    assert (finding.status, finding.severity, exit_code([finding])) == (status, severity, code), finding.summary
    assert words in finding.summary
    if case == "server feature on a client":
        assert "assumed" not in " ".join(e.detail for e in finding.evidence)


def test_an_unknown_edition_is_said_to_be_assumed() -> None:
    ev = healthy()
    ev.events.groups = [failure("0x80041010", "ExecQuery", "root\\cimv2", "SELECT * FROM Win32_ServerFeature", 9)]
    ev.identity.edition = ""
    finding = judged("events.client-failures", ev)
    assert finding.status == "info" and "assumed client" in " ".join(e.detail for e in finding.evidence)


def test_the_summary_names_the_most_frequent_recurring_failure() -> None:
    ev = healthy()
    ev.events.groups = [
        failure("0x80041003", "ExecQuery", "root\\cimv2", "SELECT * FROM Win32_Service", 6),
        failure("0x80041013", "ExecQuery", "root\\vendor", "SELECT * FROM Vendor_Thing", 40),
        failure("0x80041010", "ExecQuery", "root\\cimv2", "SELECT * FROM Win32_Gone", 5),
    ]
    finding = judged("events.client-failures", ev)
    assert finding.status == "warn" and "0x80041013" in finding.summary and "40 times" in finding.summary
    assert finding.codes[0] == "0x80041013" and len(finding.codes) == 3
    assert "51 of 51" in finding.summary


def test_a_target_field_beats_the_operation_text() -> None:
    group = failure("0x80041010", "GetObject", "root\\cimv2", "Win32_Real", 1)
    group.key["Operation"] = "Start IWbemServices::GetObject - root\\cimv2 : Other_Class"
    assert target_class(group) == "Win32_Real" and method_of(group) == "GetObject"
