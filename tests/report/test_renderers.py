"""The renderers read only a Report (findings + metadata): text, JSON against its schema, and safe HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from wmidoctor.findings import EvidenceRef, Finding, Fix
from wmidoctor.report import render
from wmidoctor.report.model import CheckTiming, CodeCount, Report

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "src" / "wmidoctor" / "schemas" / "report.schema.json").read_text(
        encoding="utf-8"
    )
)


def report() -> Report:
    failing = Finding(
        "demo.broken",
        "fail",
        "critical",
        "The demo thing works",
        "It does not <script>alert(1)</script>.",
        [EvidenceRef("registry:HKLM\\X!Y", "Y=0")],
        ["someone set Y=0"],
        [
            Fix(
                "Set Y back",
                'reg add "HKLM\\X" /v Y /t REG_DWORD /d 1 /f',
                "low",
                'reg add "HKLM\\X" /v Y /t REG_DWORD /d 0 /f',
            )
        ],
        ["0x80070005"],
    )
    findings = [
        failing,
        Finding("demo.fine", "pass", "error", "Another thing works", "All good."),
        Finding("demo.unknown", "skipped", "info", "A third thing", "evidence section 'x' was not collected"),
    ]
    return Report(
        tool_version="9.9.9",
        generated_at="2024-05-01T10:00:00Z",
        target="HOST1",
        source="bundle.zip",
        findings=findings,
        evidence=[
            {"section": "x", "status": "not_collected", "reason": "no rights", "sources": [], "problems": 0},
            {"section": "y", "status": "collected", "reason": "", "sources": ["a"], "problems": 0},
        ],
        code_tally=[CodeCount("0x80041003", 12, "WBEM_E_ACCESS_DENIED", "access denied", "WMI-Activity 5858")],
        timings=[CheckTiming(f.check, 0.5) for f in findings],
        total_ms=2.0,
    )


def test_text_has_problems_first_and_details_only_under_them():
    text = render(report(), "text")
    assert "Verdict: 1 problem found (1 critical)" in text
    assert "Host: HOST1, edition not known" in text
    assert re.search(r"^\[FAIL\] critical demo\.broken\s+not met: The demo thing works$", text, re.M)
    assert re.search(r"^\[PASS\] demo \(1\): fine$", text, re.M), "passes collapsed to one line per group"
    assert "[SKIP] evidence section 'x' was not collected" in text and "demo.unknown" in text
    assert '> reg add "HKLM\\X" /v Y /t REG_DWORD /d 1 /f' in text and "undo: reg add" in text
    assert "All good." not in text  # no details under passing checks
    assert "0x80041003" in text and "WBEM_E_ACCESS_DENIED" in text and "12" in text
    assert "Not collected" in text and "no rights" in text
    assert "\x1b[" not in text
    assert text.index("demo.broken") < text.index("[PASS]") < text.index("[SKIP]")


def _many() -> Report:
    """Two problems of different severity among passes of two groups and skips for two missing things."""
    base = report()
    warning = Finding(
        "alpha.slow",
        "warn",
        "warning",
        "Alpha is quick",
        "Alpha is slow.",
        [EvidenceRef("x", "")],
        ["load"],
        [Fix("Wait")],
    )
    passes = [
        Finding(f"{group}.p{i}", "pass", "error", f"{group} {i} works", "ok.")
        for group in ("alpha", "beta")
        for i in range(3)
    ]
    skips = [
        Finding(
            f"gamma.s{i}",
            "skipped",
            "info",
            "G",
            f"evidence section 'g' was not collected: {'SOFTWARE missing' if i < 3 else 'no logs'}",
        )
        for i in range(4)
    ]
    base.findings = [warning, *passes, base.findings[0], *skips]
    return base


def test_text_orders_problems_by_severity_and_collapses_the_rest():
    text = render(_many(), "text")
    assert text.index("demo.broken") < text.index("alpha.slow"), "critical before warning"
    assert "[PASS] alpha (3): p0, p1, p2" in text and "[PASS] beta (3): p0, p1, p2" in text
    assert "[SKIP] SOFTWARE missing" in text and "gamma.s0, gamma.s1, gamma.s2" in text
    assert text.index("[SKIP] SOFTWARE missing") < text.index("[SKIP] no logs"), "largest group first"
    assert "alpha 1 works" not in text


def test_verbose_text_lists_every_check():
    text = render(_many(), "text", verbose=True)
    assert all(f"alpha.p{i}" in text and f"beta.p{i}" in text for i in range(3))
    assert re.search(r"^\[PASS\]\s+alpha\.p1\s+alpha 1 works$", text, re.M)


def test_text_names_the_host_and_how_it_is_known():
    from wmidoctor.report.model import HostFacts

    data = report()
    data.host = HostFacts(
        "WKS-7",
        "corp.example",
        "Windows 7 Professional",
        "7601",
        "client",
        "registry:...ProductOptions!ProductType = WinNT",
        layout="KAPE collection (C)",
    )
    text = render(data, "text")
    assert (
        "Host: WKS-7, domain corp.example, Windows 7 Professional build 7601, client edition "
        "(registry:...ProductOptions!ProductType = WinNT)"
    ) in text
    assert "Evidence layout: KAPE collection (C)" in text
    assert json.loads(render(data, "json"))["host"]["edition"] == "client"


def test_text_colour_only_when_asked():
    assert "\x1b[31;1m[FAIL]\x1b[0m" in render(report(), "text", colour=True)


def test_json_matches_schema_and_keeps_findings():
    data = json.loads(render(report(), "json"))
    jsonschema.validate(data, SCHEMA)
    assert data["schema"] == "wmidoctor.report/1" and data["exit_code"] == 1
    assert Finding.from_data(data["findings"][0]) == report().findings[0]


def test_schema_rejects_a_broken_report():
    data = json.loads(render(report(), "json"))
    data["findings"][0]["status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)


def test_html_is_self_contained_escaped_and_summary_first():
    page = render(report(), "html")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "no network resources"
    assert page.index('id="summary"') < page.index('id="demo.broken"')
    assert page.count('<details class="finding') == 1, "only problems and notes are shown in full"
    assert re.search(r'<details class="finding fail" id="demo.broken" open>', page)
    assert 'id="demo.fine"' in page and 'id="demo.unknown"' in page, "passes and skips keep their anchors"
    assert (
        page.index('id="banner"')
        < page.index('id="problem-nav"')
        < page.index('id="problems"')
        < page.index('id="passes"')
        < page.index('id="skips"')
    )
    assert '<a href="#group-demo"><b>demo</b></a> (1)' in page
    assert "<h1>WMI diagnosis of HOST1</h1>" in page
    assert "<pre><code>reg add &#34;HKLM\\X&#34; /v Y /t REG_DWORD /d 1 /f</code>" in page


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        render(report(), "pdf")
