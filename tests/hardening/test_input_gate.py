"""The input gate: a FIFO, device or socket where a file is expected is one line (exit 2) when named directly
and a recorded problem inside a collection; never a hang, never an endless read (hand-made hostile inputs,
made by the tests; the hive is a real corpus hive)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from wmidoctor.artifacts.gate import CAPS, NotARegularFile, check_regular, open_regular, read_capped
from wmidoctor.errors import InputError

TIMEOUT = 60  # a hang fails the test instead of the suite


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wmidoctor", *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT
    )


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.evtx"
    os.mkfifo(path)
    return path


def test_the_gate_names_what_the_path_is(tmp_path, fifo):
    link = tmp_path / "zero.reg"
    link.symlink_to("/dev/zero")
    with pytest.raises(NotARegularFile, match="a FIFO"):
        open_regular(fifo)
    with pytest.raises(NotARegularFile, match="a character device"):
        read_capped(link, "registry export")
    with pytest.raises(NotARegularFile, match="a folder"):
        check_regular(tmp_path)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "s.sock"))
    try:
        with pytest.raises(NotARegularFile, match="a socket"):
            check_regular(tmp_path / "s.sock")
    finally:
        server.close()
    assert isinstance(NotARegularFile("x"), InputError) and isinstance(NotARegularFile("x"), OSError)


def test_read_capped_reads_up_to_the_cap_and_refuses_one_byte_more(tmp_path, monkeypatch):
    monkeypatch.setitem(CAPS, "text", 10)
    path = tmp_path / "a.txt"
    path.write_bytes(b"x" * 10)
    assert read_capped(path, "text") == b"x" * 10
    path.write_bytes(b"x" * 11)
    with pytest.raises(InputError, match="too large"):
        read_capped(path, "text")


@pytest.mark.parametrize(
    ("verb", "name"),
    [(["mof", "parse"], "x.mof"), (["mof", "lint"], "x.mof"), (["registry"], "x.reg"), (["logs"], "x.evtx")],
)
def test_a_fifo_named_on_the_command_line_is_one_line_exit_2(tmp_path, verb, name):
    path = tmp_path / name
    os.mkfifo(path)
    result = _run(*verb, path)
    assert result.returncode in (1, 2), result.stderr
    text = result.stderr + result.stdout
    assert "FIFO" in text and "Traceback" not in text and "internal error" not in text


@pytest.mark.parametrize(("verb", "name"), [(["mof", "parse"], "x.mof"), (["registry"], "x.reg"), (["logs"], "x.evtx")])
def test_a_link_to_dev_zero_is_refused_not_read_forever(tmp_path, verb, name):
    link = tmp_path / name
    link.symlink_to("/dev/zero")
    result = _run(*verb, link)
    text = result.stderr + result.stdout
    assert result.returncode in (1, 2) and "character device" in text, text


def test_a_fifo_beside_a_dirty_hive_is_not_replayed_and_the_hive_is_still_read(tmp_path, corpus):
    hive = tmp_path / "SYSTEM_B"
    shutil.copyfile(corpus / "registry" / "SYSTEM_B", hive)
    os.mkfifo(tmp_path / "SYSTEM_B.LOG1")
    result = _run("registry", hive, "--json")
    assert result.returncode in (0, 1), result.stderr
    assert "SYSTEM_B.LOG1" in result.stdout and "not replayed" in result.stdout


def test_a_fifo_among_a_bundles_files_is_damage_not_a_hang(tmp_path):
    """A FIFO named manifest.json and one named like a command output in a bundle folder (made by the test):
    the load finishes, each is a damaged artifact, and the rest of the bundle is read."""
    import os
    import shutil
    from pathlib import Path

    from wmidoctor.sources.bundle import load

    bundle = tmp_path / "bundle"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "bundles" / "dcom-remote-launch-denied", bundle)
    for name in ("manifest.json", "commands/sc-qc-winmgmt.txt"):
        (bundle / name).unlink()
        os.mkfifo(bundle / name)
    evidence = load(bundle)
    damaged = {a.path: a.reason for a in evidence.collection.artifacts if a.status == "damaged"}
    assert "manifest.json" in damaged and "FIFO" in damaged["manifest.json"]
    assert "commands/sc-qc-winmgmt.txt" in damaged
    assert evidence.events.collected and evidence.dcom.collected
