"""Zip bundles are extracted without trusting them: traversal, absolute paths, links and bombs refused."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from wmidoctor.artifacts.archive import Limits, extract
from wmidoctor.errors import InputError
from wmidoctor.sources.bundle import load


def make_zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/etc/evil", "C:\\evil.txt", "..\\evil.txt"])
def test_paths_leaving_the_bundle_are_refused(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "bad.zip", {"manifest.json": b"{}", name: b"x"})
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(InputError, match="unsafe path"):
        extract(archive, target)
    assert not (tmp_path / "evil.txt").exists()


def test_symbolic_links_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as out:
        info = zipfile.ZipInfo("logs/System.evtx")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        out.writestr(info, "/etc/passwd")
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(InputError, match="symbolic link"):
        extract(archive, target)


def test_bombs_are_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", {"logs/System.evtx": b"\0" * (8 * 1024 * 1024)})
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(InputError, match="zip bomb"):
        extract(archive, target)
    target2 = tmp_path / "out2"
    target2.mkdir()
    with pytest.raises(InputError, match="size limit"):
        extract(
            make_zip(tmp_path / "big.zip", {"a": b"1" * 5000}, zipfile.ZIP_STORED),
            target2,
            Limits(max_total_bytes=4000),
        )
    with pytest.raises(InputError, match="entries"):
        extract(make_zip(tmp_path / "many.zip", {f"f{i}": b"" for i in range(5)}), target2, Limits(max_entries=4))


def test_bad_zip_is_one_input_error(tmp_path: Path, cli) -> None:
    broken = tmp_path / "bundle.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(InputError, match="not a readable zip"):
        load(broken)
    result = cli("bundle", "inspect", str(broken))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_damaged_member_is_reported_and_the_rest_loads(examples: Path, tmp_path: Path) -> None:
    folder = examples / "wmi-firewall-disabled"
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.write(path, path.relative_to(folder).as_posix())
    raw = bytearray(archive.read_bytes())
    marker = raw.find(b"Rule Name:")  # inside commands/netsh-firewall-rules.txt, stored uncompressed
    raw[marker : marker + 4] = b"XXXX"  # the CRC no longer matches
    archive.write_bytes(bytes(raw))
    evidence = load(archive)
    found = {a.name: (a.status, a.reason) for a in evidence.collection.artifacts}
    status, reason = found["commands/netsh-firewall-rules.txt"]
    assert status == "damaged" and "CRC" in reason
    assert found["registry/firewall-policy.reg"][0] == "parsed" and evidence.firewall.rules
