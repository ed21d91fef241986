"""Evidence cannot drive the terminal or a spreadsheet: control characters, escape sequences and bidi overrides
from evidence reach text output escaped, JSON stays valid with the same strings, and CSV cells that start like a
formula are quoted (hand-made hostile evidence, made by the tests)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from wmidoctor.evidence.model import EventConsumer, EventFilter, Evidence
from wmidoctor.output import csv_cell, terminal_safe

HOSTILE = "evil\x1b]8;;http://x.test/\x07link\x1b]8;;\x07 \x1b[2J\x1b[H\r\x9b31m\u202eexe.txt\x00"
RAW_CONTROLS = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))] + ["\u202e"]


def test_terminal_safe_escapes_every_unsafe_character_and_keeps_layout():
    safe = terminal_safe(HOSTILE + "\tcol\nnext line")
    assert not any(c in safe for c in RAW_CONTROLS)
    assert "\\u001b]8;;http://x.test/\\u0007link" in safe and "\\u202e" in safe and "\tcol\nnext line" in safe


def test_our_colour_is_kept_only_when_asked_and_nothing_else_passes():
    coloured = "\x1b[31mFAIL\x1b[0m \x1b[2J"
    assert terminal_safe(coloured, keep_colour=True) == "\x1b[31mFAIL\x1b[0m \\u001b[2J"
    assert "\x1b" not in terminal_safe(coloured)


def test_escaped_json_is_still_json_with_the_same_strings():
    text = json.dumps({"v": HOSTILE + "\u0085\u2066"}, ensure_ascii=False)
    assert json.loads(terminal_safe(text)) == json.loads(text)


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://x.test")', '\'=HYPERLINK("http://x.test")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("0x80041003", "0x80041003"),
        (-5, -5),
        ("", ""),
    ],
)
def test_csv_cells_that_start_like_a_formula_are_quoted(cell, shown):
    assert csv_cell(cell) == shown


def _hostile_evidence(tmp_path):
    ev = Evidence()
    ev.identity.host = HOSTILE
    query = "SELECT * FROM __InstanceModificationEvent WITHIN 60"
    ev.subscriptions.filters.append(
        EventFilter("root\\subscription", HOSTILE, query, "WQL", "root\\cimv2", "S-1-5-32-544", "test")
    )
    ev.subscriptions.consumers.append(
        EventConsumer(
            "root\\subscription",
            "CommandLineEventConsumer",
            HOSTILE,
            {"CommandLineTemplate": f"cmd /c {HOSTILE}"},
            "S-1-5-32-544",
            "test",
        )
    )
    ev.subscriptions.mark_collected("test")
    path = tmp_path / "evidence.json"
    path.write_text(ev.to_json(), encoding="utf-8")
    return path


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wmidoctor", *map(str, args)], capture_output=True, timeout=120)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_diagnose_output_carries_no_raw_control_character(tmp_path, fmt):
    result = _run("diagnose", _hostile_evidence(tmp_path), "--format", fmt)
    assert result.returncode in (0, 1), result.stderr
    out = result.stdout.decode("utf-8")
    assert not any(c in out for c in RAW_CONTROLS)
    if fmt == "json":
        json.loads(out)


def test_diagnose_out_file_is_as_safe_as_the_terminal(tmp_path):
    report = tmp_path / "report.txt"
    result = _run("diagnose", _hostile_evidence(tmp_path), "--out", report)
    assert result.returncode in (0, 1), result.stderr
    assert not any(c in report.read_text(encoding="utf-8") for c in RAW_CONTROLS)


def test_registry_text_from_a_hostile_reg_export_is_escaped(tmp_path):
    reg = tmp_path / "ole.reg"
    reg.write_text(
        "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Ole]\r\n"
        f'"EnableDCOM"="{HOSTILE.replace(chr(13), "").rstrip(chr(0))}"\r\n',
        encoding="utf-16",
    )
    result = _run("registry", reg)
    assert result.returncode in (0, 1), result.stderr
    out = result.stdout.decode("utf-8")
    assert "EnableDCOM: evil" in out and not any(c in out for c in RAW_CONTROLS)


def test_an_error_message_naming_a_hostile_path_is_escaped(tmp_path):
    path = tmp_path / "not-a-bundle\x1b[2J\x07.txt"
    path.write_text("x")
    result = _run("diagnose", path)
    assert result.returncode == 2
    err = result.stderr.decode("utf-8")
    assert not any(c in err for c in RAW_CONTROLS) and "\\u0007.txt" in err


def test_every_csv_writer_quotes_formula_cells():
    """logs, probe and fleet CSV all go through output.csv_table (hand-made rows: no real evidence holds a formula)."""
    from wmidoctor.fleet.render import csv_text as fleet_csv
    from wmidoctor.logs.render_csv import render_csv
    from wmidoctor.remote.render import csv_text as probe_csv

    hostile = "=cmd|' /C calc'!A0"
    logs_csv = render_csv(
        {
            "groups": [
                {
                    "channel": hostile,
                    "provider": "+p",
                    "event_id": 5858,
                    "kind": "k",
                    "count": 1,
                    "first_seen": "",
                    "last_seen": "",
                    "key": {"q": "v"},
                    "source": "@s",
                }
            ]
        }
    )
    probe = probe_csv([{"host": hostile, "code": "-1"}], ("host", "code"))
    fleet = fleet_csv([{"host": hostile}], ("host",))
    for text in (logs_csv, probe, fleet):
        rows = list(csv.reader(io.StringIO(text)))
        assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row), text
        assert "'" + hostile in text
