"""`wmidoctor repo` end to end: damage is never reported as an empty, healthy answer."""

from __future__ import annotations

import json
import os

APTSIM = "repository/win10-dfirmuseum-aptsimulator"
XP = "repository/xp-libyal-dtformats"


def test_verify_consistent_repository_exits_0_with_json(cli, corpus):
    result = cli("repo", "verify", str(corpus / XP), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["verdict"] == "CONSISTENT"


def test_persistence_flags_the_script_consumer_and_shows_the_script_left_aligned(cli, corpus):
    result = cli("repo", "persistence", str(corpus / APTSIM))
    assert result.returncode == 1 and result.stderr == ""
    assert 'FLAGGED  ROOT\\subscription:ActiveScriptEventConsumer.Name="KillProcess"' in result.stdout
    assert "ScriptText: Dim oLocation" in result.stdout
    assert "(installed by Windows: normal)" in result.stdout


def test_a_damaged_repository_does_not_read_as_no_persistence(cli, tmp_path):
    for name in ("INDEX.BTR", "OBJECTS.DATA", "MAPPING1.MAP", "MAPPING2.MAP", "MAPPING3.MAP"):
        (tmp_path / name).write_bytes(os.urandom(8192))
    result = cli("repo", "persistence", str(tmp_path), "--json")
    assert result.returncode == 1
    assert "problem(s) reading this repository" in result.stderr and "repo verify" in result.stderr
    data = json.loads(result.stdout)
    assert data["consumers"] == [] and data["read_problems"]
    for sub in ("ls", "providers"):
        listed = cli("repo", sub, str(tmp_path))
        assert listed.returncode == 1 and "warning:" in listed.stderr
    assert cli("repo", "verify", str(tmp_path)).returncode == 1


def test_show_bad_targets_are_input_errors(cli, corpus, one_line_error):
    for target in ("nonsense", "root\\nope:X", "root\\cimv2:NoSuchClass"):
        one_line_error(cli("repo", "show", str(corpus / XP), target))
