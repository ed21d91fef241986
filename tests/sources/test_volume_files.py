"""Registry paths resolved on a volume (COM server binaries, Autorecover MOFs), the collector's binaries
listing, and the Autorecover MOFs read through the MOF parser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from wmidoctor.checks import CHECKS
from wmidoctor.checks.runner import run_one
from wmidoctor.evidence.model import AutorecoverMof, ComServer, Providers, Repository
from wmidoctor.sources.bundle import load
from wmidoctor.sources.mofs import parse_autorecover
from wmidoctor.sources.volume import autorecover_files, server_binaries
from wmidoctor.sources.winpaths import server_file, server_relative, volume_relative

GOOD_MOF = (
    '#pragma autorecover\n#pragma namespace("\\\\\\\\.\\\\root\\\\Fabrikam")\nclass Fabrikam_Job\n{\n'
    "    [key] string Id;\n};\n"
)
BROKEN_MOF = (
    '#pragma namespace("\\\\\\\\.\\\\root\\\\Fabrikam")\nclass Fabrikam_Job\n{\n    [key] string Id\n'
    "    uint32 State;\n};\n"
)


@pytest.mark.parametrize(
    ("command", "file", "relative"),
    [
        (
            "%SystemRoot%\\system32\\wbem\\cimwin32.dll",
            "%SystemRoot%\\system32\\wbem\\cimwin32.dll",
            "Windows/system32/wbem/cimwin32.dll",
        ),
        (
            '"C:\\Program Files\\Vendor A\\agent.exe" -Embedding',
            "C:\\Program Files\\Vendor A\\agent.exe",
            "Program Files/Vendor A/agent.exe",
        ),
        (
            "C:\\Program Files\\Vendor A\\agent.exe /automation",
            "C:\\Program Files\\Vendor A\\agent.exe",
            "Program Files/Vendor A/agent.exe",
        ),
        (
            "%ProgramFiles(x86)%\\Old\\prov.dll",
            "%ProgramFiles(x86)%\\Old\\prov.dll",
            "Program Files (x86)/Old/prov.dll",
        ),
        ("wbemprox.dll", "wbemprox.dll", "Windows/System32/wbemprox.dll"),
        ("\\SystemRoot\\system32\\x.dll", "\\SystemRoot\\system32\\x.dll", "Windows/system32/x.dll"),
        ("C:\\PROGRA~1\\Vendor\\prov.dll", "C:\\PROGRA~1\\Vendor\\prov.dll", None),  # 8.3: cannot be matched
        ("D:\\Apps\\prov.dll", "D:\\Apps\\prov.dll", None),
        ("\\\\server\\share\\prov.dll", "\\\\server\\share\\prov.dll", None),
        ("%VENDOR_HOME%\\prov.dll", "%VENDOR_HOME%\\prov.dll", None),
    ],
)
def test_server_paths(command: str, file: str, relative: str | None) -> None:
    assert server_file(command) == file
    assert server_relative(command) == relative


def test_volume_relative_paths() -> None:
    assert volume_relative("%windir%\\system32\\wbem\\x.mof") == "Windows/system32/wbem/x.mof"
    assert volume_relative("\\\\?\\C:\\Windows\\x.mof") == "Windows/x.mof"
    assert volume_relative("%SystemDrive%\\Tools\\x.mof") == "Tools/x.mof"
    assert volume_relative("relative\\x.mof") is None


def _volume(tmp_path: Path) -> Path:
    root = tmp_path / "vol"
    for name in (
        "WINDOWS/System32/wbem/cimwin32.dll",
        "Program Files/Fabrikam/FABRIKAM.DLL",
        "WINDOWS/System32/wbemprox.dll",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"MZ")
    (root / "Program Files" / "Fabrikam" / "bin").mkdir()
    return root


def test_server_binaries_on_a_volume(tmp_path: Path) -> None:
    root = _volume(tmp_path)
    section = Providers()
    servers = {
        "present": ComServer("{1}", True, inproc_server="%SystemRoot%\\system32\\wbem\\cimwin32.dll"),
        "case": ComServer("{2}", True, local_server='"C:\\program files\\fabrikam\\fabrikam.dll" -Embedding'),
        "bare": ComServer("{3}", True, inproc_server="wbemprox.dll"),
        "gone": ComServer("{4}", True, inproc_server="%ProgramFiles%\\Contoso\\gone.dll"),
        "folder": ComServer("{5}", True, inproc_server="C:\\Program Files\\Fabrikam\\bin"),
        "one of two gone": ComServer("{6}", True, inproc_server="wbemprox.dll", local_server="C:\\gone.exe"),
        "other drive": ComServer("{7}", True, inproc_server="D:\\prov.dll"),
        "unregistered": ComServer("{8}", False),
    }
    section.com_servers = {s.clsid: s for s in servers.values()}
    assert server_binaries(section, root) == 6
    assert {name: s.binary_exists for name, s in servers.items()} == {
        "present": True,
        "case": True,
        "bare": True,
        "gone": False,
        "folder": False,
        "one of two gone": False,
        "other drive": None,
        "unregistered": None,
    }


def test_autorecover_files_on_a_volume(tmp_path: Path) -> None:
    root = _volume(tmp_path)
    (root / "WINDOWS" / "System32" / "wbem" / "CIMWIN32.MOF").write_text(GOOD_MOF)
    section = Repository(
        autorecover_mofs=[
            AutorecoverMof("%SystemRoot%\\system32\\wbem\\cimwin32.mof"),
            AutorecoverMof("%SystemRoot%\\system32\\wbem\\gone.mof"),
            AutorecoverMof("E:\\other\\x.mof"),
        ]
    )
    assert autorecover_files(section, root) == 2
    assert [m.exists for m in section.autorecover_mofs] == [True, False, None]


def test_autorecover_mofs_parsed_on_a_volume(tmp_path: Path) -> None:
    root = _volume(tmp_path)
    (root / "Program Files" / "Fabrikam" / "Fabrikam.mof").write_text(GOOD_MOF)
    (root / "Program Files" / "Fabrikam" / "broken.mof").write_text(BROKEN_MOF)
    (root / "WINDOWS" / "System32" / "wbem" / "big.mof").write_text("// padding\n" * 2000)
    section = Repository(
        autorecover_mofs=[
            AutorecoverMof("%SystemRoot%\\system32\\wbem\\big.mof"),
            AutorecoverMof("%ProgramFiles%\\Fabrikam\\fabrikam.mof"),
            AutorecoverMof("C:\\Program Files\\Fabrikam\\broken.mof"),
            AutorecoverMof("%SystemRoot%\\system32\\wbem\\absent.mof"),
        ]
    )
    big, good, broken, absent = section.autorecover_mofs
    # the budget covers the two third-party files, which go first, and not the Windows one
    assert parse_autorecover(section, root, volume=True, budget=1000) == 2
    assert (good.parsed, good.autorecover_pragma, good.problems) == (True, True, [])
    assert broken.parsed is False and broken.autorecover_pragma is False
    assert broken.problems and broken.problems[0].startswith("4:") and "missing ';'" in broken.problems[0]
    assert big.parsed is None and "parse budget" in big.problems[0]
    assert absent.parsed is None and absent.problems == []
    quick = Repository(autorecover_mofs=[AutorecoverMof("%ProgramFiles%\\Fabrikam\\fabrikam.mof")])
    assert parse_autorecover(quick, root, volume=True, quick=True) == 0
    assert quick.autorecover_mofs[0].problems == ["not parsed with --quick"]


def _findings(evidence) -> dict:
    return {
        check: run_one(CHECKS[check], evidence).finding
        for check in CHECKS
        if check.startswith(("autorecover.", "providers."))
    }


def test_broken_mof_copy_in_a_bundle_fails_the_parse_check(examples: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(examples / "wmi-firewall-disabled", bundle)
    copy = next((bundle / "files" / "autorecover").iterdir())
    copy.write_text(BROKEN_MOF, encoding="utf-8")
    finding = _findings(load(bundle))["autorecover.parse"]
    assert finding.status == "warn" and "do not compile" in finding.summary
    assert "FabrikamBackup.mof: 4:" in finding.evidence[0].detail
    assert finding.fixes[0].command.startswith("mofcomp -check ") and finding.fixes[-1].undo.startswith("reg import")
    assert load(bundle, quick=True).repository.autorecover_mofs[-1].problems == ["not parsed with --quick"]


def test_without_copies_the_parse_check_is_skipped(examples: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(examples / "wmi-firewall-disabled", bundle)
    shutil.rmtree(bundle / "files" / "autorecover")
    finding = _findings(load(bundle))["autorecover.parse"]
    assert finding.status == "skipped" and "holds none of the files" in finding.summary


def test_binaries_listing_fills_the_com_servers(examples: Path, tmp_path: Path) -> None:
    servers = load(examples / "provider-clsid-missing").providers.com_servers
    assert servers["{9C3B51D7-2E64-4A8F-B0C5-71E2D94A6F08}"].binary_exists is False
    registered = [s for s in servers.values() if s.registered]
    assert sum(1 for s in registered if s.binary_exists) == len(registered) - 1
    bundle = tmp_path / "b"
    shutil.copytree(examples / "provider-clsid-missing", bundle)
    (bundle / "files" / "provider-binaries.json").write_text(json.dumps({"servers": [], "errors": ["denied"]}))
    evidence = load(bundle)
    assert all(s.binary_exists is None for s in evidence.providers.com_servers.values())
    findings = _findings(evidence)
    assert findings["providers.binary"].status == "skipped"
    assert findings["providers.com-registration"].status == "fail"
