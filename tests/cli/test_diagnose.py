"""`wmidoctor diagnose` end to end on a mounted volume made of corpus files."""

from __future__ import annotations

import json


def test_mounted_volume_json(cli, mounted_volume):
    result = cli("diagnose", str(mounted_volume), "--json")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "wmidoctor.report/1"
    status = {f["check"]: f["status"] for f in data["findings"]}
    assert status["security.subscriptions"] == "fail"
    # The SOFTWARE hive here has no Classes\CLSID: that says nothing about the providers' COM registration.
    assert status["providers.com-registration"] == "skipped"
    assert data["findings"][0]["check"] == "security.subscriptions"  # an incident is listed first
    script_evidence = [
        e["detail"] for f in data["findings"] if f["check"] == "security.subscriptions" for e in f["evidence"]
    ]
    assert any("oProcess.Terminate()" in detail for detail in script_evidence)  # the script in full


def test_html_report_and_out_never_inside_the_evidence(cli, mounted_volume, tmp_path, one_line_error):
    one_line_error(cli("diagnose", str(mounted_volume), "--out", str(mounted_volume / "report.html")))
    out = tmp_path / "report.html"
    assert cli("diagnose", str(mounted_volume), "--format", "html", "--out", str(out)).returncode == 1
    html = out.read_text(encoding="utf-8")
    # WMI rules closed on a Windows 7 workstation are the client default: a note, not a failure (issue 12)
    assert "not met: The firewall admits remote WMI" not in html and "default on client editions" in html
    assert "Checks ran in" in html
    assert "not met: No WMI event subscription looks like persistence" in html
