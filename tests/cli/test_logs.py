"""`wmidoctor logs` end to end on real logs: JSON, damage, and never writing into what it reads."""

from __future__ import annotations

import json

APTSIM = "evtx/hosts/dfirmuseum-win10-aptsimulator"
SYSTEM_LOG = "evtx/hosts/artemis-win10/System.evtx"


def test_json_for_machines_and_text_for_people(cli, corpus):
    result = cli("logs", str(corpus / APTSIM), "--json")
    assert result.returncode == 1  # the attack simulation's script consumer binding
    data = json.loads(result.stdout)
    assert data["schema"] == "wmidoctor.logs/2" and data["summary"]["files"] == 3
    kinds = {(g["event_id"], g["kind"]) for g in data["groups"]}
    assert (5615, "service-started") in kinds and (5617, "subsystems-initialised") in kinds
    text = cli("logs", str(corpus / APTSIM)).stdout
    assert 'ActiveScriptEventConsumer="KillProcess"' in text and "possible persistence" in text
    assert "no Activation permission" not in text and "no Local Activation permission" in text


def test_a_log_cut_short_is_damaged_not_intact(cli, corpus, tmp_path):
    cut = tmp_path / "System.evtx"
    cut.write_bytes((corpus / "evtx/omerbenamram-evtx__system.evtx").read_bytes()[: 4096 + 65536 + 1000])  # 3 announced
    result = cli("logs", str(cut))
    assert result.returncode == 0  # damage is noted (evidence.integrity), not a WMI problem
    assert "file truncated: the header announces" in result.stdout and "[intact]" not in result.stdout


def test_files_that_are_not_logs_are_named_plainly(cli, tmp_path, one_line_error):
    empty, garbage = tmp_path / "a.evtx", tmp_path / "b.evtx"
    empty.write_bytes(b"")
    garbage.write_bytes(b"\x00" * 5000)
    result = cli("logs", str(empty))
    one_line_error(result)
    assert "the file is empty" in result.stderr
    result = cli("logs", str(garbage))
    one_line_error(result)
    assert "no .evtx file header" in result.stderr and "deserialize" not in result.stderr


def test_out_never_overwrites_or_writes_into_an_input(cli, corpus, tmp_path, one_line_error):
    folder = tmp_path / "logs"
    folder.mkdir()
    log = folder / "System.evtx"
    log.write_bytes((corpus / SYSTEM_LOG).read_bytes())
    before = log.read_bytes()
    one_line_error(cli("logs", str(log), "--out", str(log)))
    one_line_error(cli("logs", str(folder), "--out", str(folder / "report.html"), "--format", "html"))
    assert log.read_bytes() == before and sorted(p.name for p in folder.iterdir()) == ["System.evtx"]
    report = tmp_path / "report.html"
    assert cli("logs", str(folder), "--out", str(report), "--format", "html").returncode in (0, 1)
    assert "<table" in report.read_text(encoding="utf-8")


def test_colour_never_in_a_pipe(cli, corpus):
    result = cli("logs", str(corpus / SYSTEM_LOG), env={"NO_COLOR": ""})
    assert "\x1b[" not in result.stdout


def test_html_tables_wrap_long_names(cli, corpus):
    html = cli("logs", str(corpus / APTSIM), "--format", "html").stdout
    assert 'class="f-namespace"' in html and "overflow-wrap: anywhere" in html
    assert ">False<" not in html and ">True<" not in html
