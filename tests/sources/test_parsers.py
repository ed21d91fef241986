"""Command output parsers: the English outputs the collector saves, their failures, other languages."""

from __future__ import annotations

import pytest

from wmidoctor.artifacts.cmdout import (
    ScError,
    parse_profiles,
    parse_qc,
    parse_queryex,
    parse_rules,
    parse_sdshow,
    parse_verify,
)
from wmidoctor.artifacts.cmdout.text import decode_output

QC = """[SC] QueryServiceConfig SUCCESS

SERVICE_NAME: winmgmt
        TYPE               : 20  WIN32_SHARE_PROCESS
        START_TYPE         : 2   AUTO_START  (DELAYED)
        ERROR_CONTROL      : 0   IGNORE
        BINARY_PATH_NAME   : C:\\Windows\\system32\\svchost.exe -k netsvcs -p
        LOAD_ORDER_GROUP   :
        TAG                : 0
        DISPLAY_NAME       : Windows Management Instrumentation
        DEPENDENCIES       : RPCSS
                           : Extra
        SERVICE_START_NAME : localSystem
"""

QUERYEX = """
SERVICE_NAME: winmgmt
        TYPE               : 30  WIN32
        STATE              : 1  STOPPED
        WIN32_EXIT_CODE    : 1077  (0x435)
        SERVICE_EXIT_CODE  : 0  (0x0)
        CHECKPOINT         : 0x0
        WAIT_HINT          : 0x0
        PID                : 0
        FLAGS              :
"""

RULE = """
Rule Name:                            Windows Management Instrumentation (WMI-In)
----------------------------------------------------------------------
Enabled:                              No
Direction:                            In
Profiles:                             Domain,Private
Grouping:                             Windows Management Instrumentation (WMI)
LocalPort:                            RPC
Program:                              C:\\Windows\\system32\\svchost.exe
Service:                              winmgmt
Action:                               Allow

Rule Name:                            Core Networking - DNS (UDP-Out)
----------------------------------------------------------------------
Enabled:                              Yes
Direction:                            Out
Profiles:                             Any
Action:                               Allow
Ok.
"""

GERMAN_RULE = """
Regelname:                            Windows-Verwaltungsinstrumentation (WMI eingehend)
----------------------------------------------------------------------
Aktiviert:                            Nein
Ok.
"""


def test_sc_qc_reads_every_field_and_continuation_lines() -> None:
    config = parse_qc(QC)
    assert (config.name, config.type_code, config.start_code, config.delayed) == ("winmgmt", 0x20, 2, True)
    assert config.binary_path == "C:\\Windows\\system32\\svchost.exe -k netsvcs -p"
    assert config.dependencies == ["RPCSS", "Extra"]
    assert config.account == "localSystem" and config.display_name == "Windows Management Instrumentation"


def test_sc_queryex_state_and_exit_code() -> None:
    status = parse_queryex(QUERYEX)
    assert (status.state_code, status.state_name, status.win32_exit_code, status.pid) == (1, "STOPPED", 1077, 0)


def test_sc_sdshow_and_failures() -> None:
    assert parse_sdshow("\r\nD:(A;;CCLC;;;SY)S:(AU;FA;CC;;;WD)\r\n") == "D:(A;;CCLC;;;SY)S:(AU;FA;CC;;;WD)"
    with pytest.raises(ScError) as failure:
        parse_qc("[SC] OpenService FAILED 1060:\n\nThe specified service does not exist as an installed service.\n")
    assert failure.value.code == 1060 and "does not exist" in str(failure.value)
    with pytest.raises(ScError):
        parse_queryex("something else entirely")


@pytest.mark.parametrize(
    ("text", "exit_code", "verdict", "language"),
    [
        ("WMI repository is consistent\r\n", 0, "consistent", "en"),
        ("WMI repository is inconsistent\r\n", 1, "inconsistent", "en"),
        ("WMI repository verification failed\nError code: 0x8007054E\n", 1358, "inconsistent", "en"),
        ("Das WMI-Repository ist konsistent.\r\n", 0, "consistent", ""),
        ("Le référentiel WMI est incohérent\r\n", 1358, "inconsistent", ""),
        ("Access denied\r\n", 5, "unknown", "en"),
    ],
)
def test_verifyrepository(text: str, exit_code: int, verdict: str, language: str) -> None:
    result = parse_verify(text, exit_code)
    assert (result.verdict, result.language) == (verdict, language)


def test_netsh_rules_and_other_languages() -> None:
    output = parse_rules(RULE)
    assert output.language == "en" and [r.name for r in output.rules] == [
        "Windows Management Instrumentation (WMI-In)",
        "Core Networking - DNS (UDP-Out)",
    ]
    wmi, dns = output.rules
    assert not wmi.enabled and wmi.profiles == ["domain", "private"] and wmi.get("service") == "winmgmt"
    assert dns.enabled and dns.profiles == []
    assert parse_rules(GERMAN_RULE).language == ""


def test_netsh_profiles() -> None:
    text = (
        "\nDomain Profile Settings: \n---------------\nState                                 ON\n\n"
        "Public Profile Settings: \n---------------\nState                                 OFF\nOk.\n"
    )
    assert parse_profiles(text).states == {"domain": True, "public": False}
    assert parse_profiles("\nDomänenprofil-Einstellungen:\n-----------\nStatus    EIN\n").language == ""


def test_decode_output_encodings() -> None:
    assert decode_output("é ok".encode("utf-16")) == "é ok"
    assert decode_output(b"\xef\xbb\xbfok") == "ok"
    assert decode_output("Größe".encode("cp437")) == "Größe"
