"""`wmidoctor diagnose` end to end on a mounted volume made of corpus files."""

from __future__ import annotations

import json


def test_mounted_volume_json(cli, mounted_volume):
    result = cli("diagnose", str(mounted_volume), "--json")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == "wmidoctor.report/1"
    status = {f["check"]: f["status"] for f in data["findings"]}
    assert status["subscriptions.script-consumers"] == "warn"
    # The SOFTWARE hive here has no Classes\CLSID: that says nothing about the providers' COM registration.
    assert status["providers.com-registration"] == "skipped"
    script_evidence = next(e["detail"] for f in data["findings"] if f["check"] == "subscriptions.script-consumers"
                           for e in f["evidence"])
    assert "  " not in script_evidence  # the script's indentation is folded


def test_html_report_and_out_never_inside_the_evidence(cli, mounted_volume, tmp_path, one_line_error):
    one_line_error(cli("diagnose", str(mounted_volume), "--out", str(mounted_volume / "report.html")))
    out = tmp_path / "report.html"
    assert cli("diagnose", str(mounted_volume), "--format", "html", "--out", str(out)).returncode == 1
    html = out.read_text(encoding="utf-8")
    # WMI rules closed on a Windows 7 workstation are the client default: a note, not a failure (issue 12)
    assert "not met: The firewall admits remote WMI" not in html and "default on client editions" in html
    assert "Checks ran in" in html
    assert "not met: No command-line or script consumers to review" in html
