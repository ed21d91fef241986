"""Offline hives from the corpus: targeted reads, CurrentControlSet, log replay on a copy, damage."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from wmidoctor.artifacts.registry import Registry
from wmidoctor.artifacts.registry.hive import Hive, HiveError, header_checksum, transaction_logs
from wmidoctor.artifacts.registry.model import REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ

WINMGMT = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Winmgmt"


def _fingerprint(path):
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns, stat.st_size


def test_service_settings_from_clean_system_hive(corpus):
    registry = Registry.open([corpus / "registry" / "SYSTEM"])
    assert registry.hives[0].mount == "HKLM\\SYSTEM" and not registry.hives[0].dirty
    key = registry.key(WINMGMT)
    assert key.source == "SYSTEM" and key.path == WINMGMT
    assert key.data("Start") == 2 and key.value("Start").type == REG_DWORD
    assert key.data("Type") == 0x20
    assert key.data("ImagePath") == "%systemroot%\\system32\\svchost.exe -k netsvcs"
    assert key.value("ImagePath").type == REG_EXPAND_SZ
    assert key.data("ObjectName") == "localSystem"
    assert key.data("DependOnService") == ["RPCSS"] and key.value("DependOnService").type == REG_MULTI_SZ
    assert key.last_written.startswith("20")
    assert "Parameters" in key.subkeys
    assert registry.key("HKLM\\SYSTEM\\ControlSet001\\Services\\Winmgmt").values == key.values
    assert registry.problems == []


def test_current_control_set_follows_select(corpus, tmp_path):
    """A hive whose Select\\Current names another set is resolved to that set (export side of the view)."""
    registry = Registry.open([corpus / "registry" / "SYSTEM"])
    assert registry.data("HKLM\\SYSTEM\\Select", "Current") == 1
    export = tmp_path / "cs.reg"
    export.write_text(
        "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n"
        '"Current"=dword:00000002\n\n'
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Services\\Winmgmt]\n"
        '"Start"=dword:00000004\n',
        encoding="utf-8",
    )
    alone = Registry.open([export])
    assert alone.data(WINMGMT, "Start") == 4
    assert alone.covers(WINMGMT)
    assert not alone.covers("HKLM\\SOFTWARE\\Microsoft\\Ole")


def test_dirty_hive_is_replayed_on_a_copy(corpus):
    folder = corpus / "registry"
    inputs = [folder / "SYSTEM_B", folder / "SYSTEM_B.LOG1", folder / "SYSTEM_B.LOG2"]
    before = [_fingerprint(p) for p in inputs]
    assert transaction_logs(folder / "SYSTEM_B") == inputs[1:]

    from regipy.registry import RegistryHive

    unreplayed = {k.name for k in RegistryHive(str(inputs[0])).get_key("\\ControlSet001\\Services").iter_subkeys()}
    hive = Hive(inputs[0])
    assert hive.dirty and hive.replayed_pages == 315 and hive.problems == []
    replayed = Registry.open([inputs[0]])
    services = replayed.subkeys("HKLM\\SYSTEM\\CurrentControlSet\\Services")
    assert len(unreplayed) == 655 and len(services) == 656
    assert set(services) - unreplayed == {"ad_driver"}
    assert replayed.key("HKLM\\SYSTEM\\CurrentControlSet\\Services\\ad_driver") is not None
    # the restored copy carries a valid header checksum
    restored_header = hive._hive._stream.getvalue()[:512]
    assert int.from_bytes(restored_header[508:512], "little") == header_checksum(restored_header)
    assert [_fingerprint(p) for p in inputs] == before


def test_dirty_hive_without_logs_is_read_with_a_problem(corpus, tmp_path):
    lonely = tmp_path / "SYSTEM"
    shutil.copyfile(corpus / "registry" / "SYSTEM_B", lonely)
    hive = Hive(lonely)
    assert hive.dirty and hive.replayed_pages == 0
    assert "no .LOG1/.LOG2" in hive.problems[0]
    assert Registry.open([lonely]).key(WINMGMT) is not None


def test_header_checksum_matches_clean_hive(corpus):
    header = (corpus / "registry" / "SYSTEM").read_bytes()[:512]
    assert header_checksum(header) == int.from_bytes(header[508:512], "little")


def test_corrupted_hive_degrades_gracefully(corpus):
    registry = Registry.open([corpus / "registry" / "corrupted_system_hive"])
    assert registry.key(WINMGMT).data("ImagePath") == "%systemroot%\\system32\\svchost.exe -k netsvcs"
    services = registry.subkeys("HKLM\\SYSTEM\\CurrentControlSet\\Services")
    for name in services:
        registry.key(f"HKLM\\SYSTEM\\CurrentControlSet\\Services\\{name}")
    problems = registry.all_problems()
    assert problems and all(p.startswith("corrupted_system_hive: ") for p in problems)
    assert any("unreadable" in p for p in problems)
    assert all(p.isprintable() for p in problems)


def test_partial_hive_of_unknown_kind(corpus):
    registry = Registry.open([corpus / "registry" / "ntuser_software_partial"])
    hive = registry.hives[0]
    assert hive.mount == "HKU\\ntuser_software_partial"
    assert "not recognised" in registry.problems[0]
    assert "Microsoft" in registry.subkeys("HKU\\ntuser_software_partial")


def test_not_a_hive(tmp_path):
    bogus = tmp_path / "SYSTEM"
    bogus.write_bytes(b"regf" + b"\x00" * 100)
    with pytest.raises(HiveError):
        Hive(bogus)
    registry = Registry.open([bogus])
    assert registry.hives == [] and "cannot open" in registry.problems[0]


def test_folder_scan_finds_machine_hives_and_exports(corpus, tmp_path):
    config = tmp_path / "Windows" / "System32" / "config"
    config.mkdir(parents=True)
    (config / "SYSTEM").symlink_to(corpus / "registry" / "SYSTEM")
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "ole.reg").symlink_to(corpus / "registry" / "HKLM_SOFTWARE_Microsoft_Ole.reg")
    (tmp_path / "notes.txt").write_text("not registry")
    registry = Registry.open([tmp_path])
    assert [h.name for h in registry.hives] == ["SYSTEM"]
    assert [p.name for p in registry.export_files] == ["ole.reg"]
    assert registry.data("HKLM\\SOFTWARE\\Microsoft\\Ole", "EnableDCOM") == "Y"
    assert registry.data(WINMGMT, "Start") == 2
