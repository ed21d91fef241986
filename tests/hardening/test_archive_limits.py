"""Archive limits at their boundaries, and every decompressor failure mapped to a damaged member
(hand-made hostile zips, made by the tests)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from wmidoctor.artifacts.archive import Limits, extract
from wmidoctor.errors import InputError


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _extract(tmp_path: Path, archive: Path, limits: Limits | None = None) -> dict[str, str]:
    """Extract into a fresh folder `out` (the previous one, if any, is renamed away)."""
    target = tmp_path / "out"
    if target.exists():
        target.rename(tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}")
    target.mkdir()
    return extract(archive, target, limits or Limits())


def _ratio_of(archive: Path, name: str) -> float:
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo(name)
        return info.file_size / info.compress_size


def test_member_ratio_just_under_and_just_over_the_limit(tmp_path):
    data = os.urandom(2_000) + bytes(400_000)  # compresses to a few KB: ratio well above 1
    archive = _zip(tmp_path / "r.zip", {"a.bin": data})
    ratio = _ratio_of(archive, "a.bin")
    floor = 100_000
    _extract(tmp_path, archive, Limits(max_ratio=int(ratio) + 1, ratio_floor=floor))  # just under: read
    with pytest.raises(InputError, match="expands more than"):
        _extract(tmp_path, archive, Limits(max_ratio=int(ratio) - 1, ratio_floor=floor))


def test_member_size_cap_at_the_byte(tmp_path):
    archive = _zip(tmp_path / "s.zip", {"a.bin": os.urandom(5_000)}, zipfile.ZIP_STORED)
    assert _extract(tmp_path, archive, Limits(max_entry_bytes=5_000)) == {}
    with pytest.raises(InputError, match="beyond the size limit"):
        _extract(tmp_path, archive, Limits(max_entry_bytes=4_999))


def test_total_size_cap_over_all_members(tmp_path):
    archive = _zip(tmp_path / "t.zip", {f"m{i}.bin": os.urandom(1_000) for i in range(4)}, zipfile.ZIP_STORED)
    assert _extract(tmp_path, archive, Limits(max_total_bytes=4_000)) == {}
    with pytest.raises(InputError, match="beyond the size limit"):
        _extract(tmp_path, archive, Limits(max_total_bytes=3_999))


def test_many_small_bombs_below_the_member_floor_hit_the_archive_ratio(tmp_path):
    """Members of exactly the per-member floor skip the member ratio; the archive's own ratio catches them."""
    floor = 256 * 1024
    archive = _zip(tmp_path / "many.zip", {f"m{i}.bin": bytes(floor) for i in range(40)})
    size = archive.stat().st_size
    limits = Limits(ratio_floor=floor, total_ratio_floor=1024 * 1024, max_ratio=200)
    assert 40 * floor > 200 * size  # the whole archive expands far more than 200:1
    with pytest.raises(InputError, match="beyond the size limit"):
        _extract(tmp_path, archive, limits)
    # the same members, few enough to stay under the archive's allowance, are read
    small = _zip(tmp_path / "few.zip", {f"m{i}.bin": bytes(floor) for i in range(3)})
    assert _extract(tmp_path, small, limits) == {}


def _corrupt_stream(archive: Path, name: str) -> None:
    """Overwrite bytes in the middle of a member's compressed stream (its local header left intact)."""
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo(name)
    raw = bytearray(archive.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 10, start + min(info.compress_size - 2, 60)):
        raw[i] ^= 0x5A
    archive.write_bytes(bytes(raw))


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_damaged_stream_is_a_damaged_member_and_the_rest_is_read(tmp_path, method):
    body = b"".join(b"line %d of a log that compresses\n" % i for i in range(5_000))
    archive = _zip(tmp_path / "d.zip", {"bad.bin": body, "good.txt": b"kept"}, method)
    _corrupt_stream(archive, "bad.bin")
    damaged = _extract(tmp_path, archive)
    assert list(damaged) == ["bad.bin"] and damaged["bad.bin"].startswith("cannot be decompressed")
    assert (tmp_path / "out" / "good.txt").read_bytes() == b"kept"
    assert not (tmp_path / "out" / "bad.bin").exists()


def test_an_encrypted_member_is_named_and_skipped(tmp_path):
    archive = _zip(tmp_path / "e.zip", {"secret.evtx": b"x" * 100, "good.txt": b"kept"}, zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    raw[6] |= 0x1  # the encrypted flag of the first member, in its local header (offset 0) ...
    raw[raw.find(b"PK\x01\x02") + 8] |= 0x1  # ... and in its central directory entry
    archive.write_bytes(bytes(raw))
    damaged = _extract(tmp_path, archive)
    assert damaged == {"secret.evtx": "encrypted; wmidoctor does not read encrypted members"}
    assert (tmp_path / "out" / "good.txt").read_bytes() == b"kept"


def test_a_member_a_thousand_folders_deep_is_damaged_not_a_crash(tmp_path):
    deep = "/".join(["d"] * 1_000) + "/x.evtx"
    archive = _zip(tmp_path / "deep.zip", {deep: b"x", "manifest.json": b"{}"})
    damaged = _extract(tmp_path, archive)
    ((_name, reason),) = damaged.items()
    assert reason.startswith("nested 1000 folders deep")
    assert (tmp_path / "out" / "manifest.json").exists()


def test_logs_on_a_zip_with_an_encrypted_member_reads_the_rest(tmp_path, corpus):
    """`logs` names the encrypted member as damaged and still reads the other logs of the zip (was exit 3)."""
    import subprocess
    import sys

    system = (corpus / "evtx" / "omerbenamram-evtx__system.evtx").read_bytes()
    archive = _zip(tmp_path / "logs.zip", {"secret.evtx": system[:4096], "System.evtx": system}, zipfile.ZIP_STORED)
    raw = bytearray(archive.read_bytes())
    raw[6] |= 0x1
    raw[raw.find(b"PK\x01\x02") + 8] |= 0x1
    archive.write_bytes(bytes(raw))
    result = subprocess.run(
        [sys.executable, "-m", "wmidoctor", "logs", str(archive), "--json"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode in (0, 1), result.stderr
    assert "encrypted" in result.stdout and "System.evtx" in result.stdout
