"""Fleet databases are read, never written, and never trusted: a damaged file, text that is not UTF-8, a float
where a code belongs or a blob where a host name belongs is one line, exit 2; nothing is created beside the
file (hand-made hostile databases, made by the tests)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from wmidoctor.remote.store import FleetStore


def _probe_db(path) -> None:
    store = FleetStore(path)
    run = store.start_run({})
    store.finish_run(run)
    store.db.execute(
        "INSERT INTO results (run_id, host, transport, status, elapsed_ms) VALUES (?, 'h1', 'dcom', 'ok', 1.5)", (run,)
    )
    store.db.commit()
    store.close()


def _report(path, *extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wmidoctor", "fleet", "report", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("code", 1.5, "code: expected int, found float"),
        ("host", b"\x00\x01blob", "host: expected str, found bytes"),
        ("elapsed_ms", "fast", "elapsed_ms: expected"),
    ],
)
def test_a_value_of_the_wrong_type_is_one_line(tmp_path, column, value, message):
    path = tmp_path / "fleet.sqlite"
    _probe_db(path)
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE results SET {column} = ?", (value,))
    result = _report(path)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_text_that_is_not_utf8_is_shown_with_replacement_characters(tmp_path):
    path = tmp_path / "fleet.sqlite"
    _probe_db(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE results SET host = CAST(X'6869FF' AS TEXT)")
    result = _report(path, "--json")
    assert result.returncode == 0, result.stderr
    assert '"hi\ufffd"' in result.stdout or "hi\\ufffd" in result.stdout


@pytest.mark.parametrize("kind", ["probe", "diagnose"])
def test_damaged_pages_are_one_line_and_nothing_is_created_beside_the_file(tmp_path, kind):
    path = tmp_path / "fleet.sqlite"
    if kind == "probe":
        _probe_db(path)
    else:
        from wmidoctor.fleet.storage import open_store

        store = open_store(str(path))
        store.start_run({}, 0)
        store.close()
    data = path.read_bytes()
    path.write_bytes(data[:4096] + b"\xff" * (len(data) - 4096))  # every page but the schema page trampled
    for leftover in tmp_path.glob("fleet.sqlite-*"):
        leftover.unlink()
    before = sorted(p.name for p in tmp_path.iterdir())
    result = _report(path, "--kind", kind)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no -shm, no -wal, no journal


def test_a_healthy_wal_database_is_reported_without_creating_files(tmp_path):
    from wmidoctor.fleet.storage import open_store

    path = tmp_path / "fleet.sqlite"
    store = open_store(str(path))
    store.finish_run(store.start_run({}, 0))
    store.close()
    for leftover in tmp_path.glob("fleet.sqlite-*"):
        leftover.unlink()
    before = sorted(p.name for p in tmp_path.iterdir())
    assert _report(path, "--json").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        (b"host1\n\xff\xfebad\n", "line 2: not UTF-8 text"),
        (("a" * 70 + ".example\n").encode(), "not a host name"),
        (b"ok.example\n" + b"x." * 130 + b"example\n", "not a host name"),
    ],
)
def test_a_hosts_file_that_cannot_be_names_is_one_line(tmp_path, hosts, message):
    path = tmp_path / "hosts.txt"
    path.write_bytes(hosts)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wmidoctor",
            "probe",
            "--hosts",
            str(path),
            "--db",
            str(tmp_path / "f.sqlite"),
            "-u",
            "a",
            "--password-env",
            "WMIDOCTOR_TEST_PW",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"WMIDOCTOR_TEST_PW": "x", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
