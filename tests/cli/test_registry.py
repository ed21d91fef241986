"""`wmidoctor registry` end to end: what was not read is said to be not read, never 'default'."""

from __future__ import annotations

import json

OLE_EXPORT = "registry/HKLM_SOFTWARE_Microsoft_Ole.reg"


def test_reg_export_sections_say_what_they_need(cli, corpus):
    result = cli("registry", str(corpus / OLE_EXPORT))
    assert result.returncode == 0, result.stderr
    assert "[services] not collected: needs the SYSTEM hive" in result.stdout
    assert "WMI AppID LaunchPermission: (not collected)" in result.stdout
    assert "Windows default applies" in result.stdout  # DefaultAccessPermission is absent from the export
    data = json.loads(cli("registry", str(corpus / OLE_EXPORT), "--json").stdout)
    assert data["sections"]["dcom"]["enable_dcom"]["value"] == "Y"


def test_dirty_hive_with_its_logs_reads_without_problems(cli, corpus):
    result = cli("registry", str(corpus / "registry" / "SYSTEM_B"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sections"]["services"]["status"] == "collected"


def test_bad_clsid_and_a_fake_hive_in_a_volume(cli, corpus, tmp_path, one_line_error):
    result = cli("registry", "--clsid", "not-a-clsid", str(corpus / OLE_EXPORT))
    one_line_error(result)
    assert "not a CLSID" in result.stderr
    config = tmp_path / "Windows" / "System32" / "config"
    config.mkdir(parents=True)
    (config / "SYSTEM").write_bytes(b"\x01" * 8192)
    result = cli("registry", str(tmp_path))
    one_line_error(result)
    assert "SYSTEM: neither a registry hive" in result.stderr
