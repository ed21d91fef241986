"""Evidence as people have it: real corpus files arranged (as links in tmp_path) into the layouts triage tools
write - Windows, KAPE, Velociraptor, flat, zipped, one file - each loads, and `bundle inspect` names the layout
and what is missing."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from tests.corpus_volume import APTSIM_EVTX, APTSIM_REPOSITORY

from wmidoctor.sources.bundle import load

pytestmark = pytest.mark.corpus

WMI_LOG = "Microsoft-Windows-WMI-Activity%4Operational.evtx"


def _triage(
    root: Path, corpus: Path, *, windows: str = "Windows", with_config: bool = False, encode: bool = False
) -> Path:
    """Logs and repository under `root/<windows>/System32` (no config/ unless asked): what KAPE's and
    Velociraptor's WMI targets collect. `encode` spells names as Velociraptor does (% as %25)."""
    system32 = root / windows / "System32"
    logs = system32 / "winevt" / "Logs"
    logs.mkdir(parents=True)
    for log in (corpus / APTSIM_EVTX).iterdir():
        name = log.name.replace("%", "%25") if encode else log.name
        (logs / name).symlink_to(log)
    (system32 / "wbem").mkdir()
    (system32 / "wbem" / "Repository").symlink_to(corpus / APTSIM_REPOSITORY, target_is_directory=True)
    if with_config:
        (system32 / "config").mkdir()
        (system32 / "config" / "SYSTEM").symlink_to(corpus / "registry" / "SYSTEM")
    return root


def _status(evidence) -> dict[str, str]:
    return {a.name: a.status for a in evidence.collection.artifacts}


def _loaded_like_a_host(evidence) -> None:
    found = _status(evidence)
    assert found["Windows/System32/wbem/Repository"] == "parsed"
    assert found[f"Windows/System32/winevt/Logs/{WMI_LOG}"] == "parsed"
    assert evidence.subscriptions.collected and evidence.events.groups
    # the name on the newest records: the machine was renamed from its set-up name WIN-C89CFTIHC0I
    # (../shared/verdicts/host-dfirmuseum-win10-aptsimulator.md)
    assert evidence.identity.host == "DESKTOP-TMKU40H", "the host name comes from the newest event records"
    assert evidence.identity.host_source.startswith("evtx:")


@pytest.mark.parametrize(
    "prefix, layout",
    [
        ("", "Windows volume"),
        ("C", "KAPE collection (C)"),
        ("C%3A", "KAPE collection (C%3A)"),
        ("uploads/auto/C%3A", "Velociraptor collection (uploads/auto/C%3A)"),
        ("uploads/ntfs/%5C%5C.%5CC%3A", "Velociraptor collection (uploads/ntfs/%5C%5C.%5CC%3A)"),
    ],
)
def test_triage_layouts_without_config_load(corpus: Path, tmp_path: Path, prefix: str, layout: str) -> None:
    top = tmp_path / "collection"
    _triage(top / prefix if prefix else top, corpus, encode="uploads" in prefix)
    evidence = load(top)
    assert evidence.collection.kind == "volume" and evidence.collection.layout == layout
    _loaded_like_a_host(evidence)
    assert _status(evidence)["Windows/System32/config/SYSTEM"] == "missing"
    assert not evidence.services.collected and "config/SYSTEM missing" in evidence.services.reason


def test_folder_named_windows_or_system32_is_the_volume(corpus: Path, tmp_path: Path) -> None:
    _triage(tmp_path, corpus, windows="WINDOWS", with_config=True)
    for given in (tmp_path / "WINDOWS", tmp_path / "WINDOWS" / "System32"):
        evidence = load(given)
        assert evidence.collection.layout == "Windows volume"
        assert evidence.identity.host == "WKS-WIN732BITA", "the hive's ComputerName wins over event records"
        assert evidence.identity.edition == "client" and "ProductType = WinNT" in evidence.identity.edition_source


def test_zipped_velociraptor_collection(corpus: Path, tmp_path: Path) -> None:
    archive = tmp_path / "Collection-WIN-C89.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("collection_context.json", "{}")
        logs = "uploads/auto/C%3A/Windows/System32/winevt/Logs"
        for name in ("System.evtx", WMI_LOG):
            zipped.write(corpus / APTSIM_EVTX / name, f"{logs}/{name.replace('%', '%25')}")
    evidence = load(archive)
    assert evidence.collection.kind == "zip"
    assert evidence.collection.layout == "Velociraptor collection (uploads/auto/C%3A)"
    assert _status(evidence)[f"Windows/System32/winevt/Logs/{WMI_LOG}"] == "parsed"
    assert evidence.identity.host == "DESKTOP-TMKU40H"


def test_flat_folder_of_artifacts(corpus: Path, tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in ("System.evtx", WMI_LOG):
        (flat / name).symlink_to(corpus / APTSIM_EVTX / name)
    (flat / "SYSTEM").symlink_to(corpus / "registry" / "SYSTEM")
    (flat / "ole.reg").symlink_to(corpus / "registry" / "HKLM_SOFTWARE_Microsoft_Ole.reg")
    (flat / "Repository").symlink_to(corpus / APTSIM_REPOSITORY, target_is_directory=True)
    evidence = load(flat)
    found = _status(evidence)
    assert evidence.collection.layout == "flat folder"
    assert found == {
        "SYSTEM": "parsed",
        "SOFTWARE": "missing",
        WMI_LOG: "parsed",
        "Application.evtx": "missing",
        "System.evtx": "parsed",
        "Repository": "parsed",
        "wbem": "missing",
        "ole.reg": "parsed",
    }
    assert evidence.services.collected and evidence.dcom.collected and evidence.subscriptions.collected


def test_repository_folder_alone(corpus: Path) -> None:
    evidence = load(corpus / "repository" / "win10-dissect-cim")
    assert evidence.collection.layout == "flat folder"
    assert _status(evidence)["Repository"] == "parsed" and evidence.namespaces.collected


@pytest.mark.parametrize(
    "relative, key_section",
    [
        ("registry/SYSTEM", "services"),
        ("registry/HKLM_SOFTWARE_Microsoft_Ole.reg", "dcom"),
        (f"{APTSIM_EVTX}/{WMI_LOG}", "events"),
        ("repository/xp-libyal-dtformats/OBJECTS.DATA", "repository"),
    ],
)
def test_single_artifact_files(corpus: Path, relative: str, key_section: str) -> None:
    evidence = load(corpus / relative)
    assert evidence.collection.layout == "single file"
    assert getattr(evidence, key_section).collected
    assert all(a.status != "missing" for a in evidence.collection.artifacts)


def test_a_folder_without_wmi_evidence_is_refused(tmp_path: Path, cli) -> None:
    (tmp_path / "notes.txt").write_text("nothing here", encoding="utf-8")
    result = cli("bundle", "inspect", str(tmp_path))
    assert result.returncode == 2 and "holds no WMI evidence" in result.stderr
    assert "Traceback" not in result.stderr


def test_inspect_names_the_layout_and_what_is_missing(corpus: Path, tmp_path: Path, cli) -> None:
    _triage(tmp_path / "kape" / "C", corpus)
    result = cli("bundle", "inspect", str(tmp_path / "kape"))
    assert result.returncode == 0, result.stderr
    head = result.stdout.splitlines()[:2]
    assert "(KAPE collection (C), host DESKTOP-TMKU40H)" in head[0]
    assert (
        "Missing (4): Windows/System32/config/SYSTEM, Windows/System32/config/SOFTWARE, "
        "Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx, "
        "Windows/System32/winevt/Logs/Security.evtx"
    ) in result.stdout  # the triage copy has neither
    data = json.loads(cli("bundle", "inspect", str(tmp_path / "kape"), "--json").stdout)
    assert data["layout"] == "KAPE collection (C)"
    assert data["identity"]["host_source"].startswith("evtx:") and data["identity"]["edition"] == ""


DRIVER_MOFS = ("general_pcidrv_kmdf_PCIDRV.mof", "hid_firefly_driver_firefly.mof")


def _autorecover_export(paths: list[str]) -> str:
    """A HKLM\\SOFTWARE\\Microsoft\\Wbem\\CIMOM export listing `paths` (hand-made: the corpus holds no export of
    this key; REG_MULTI_SZ written as regedit writes it)."""
    data = "\0".join(paths).encode("utf-16-le") + b"\0\0\0\0"
    return (
        "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Wbem\\CIMOM]\r\n"
        '"Autorecover MOFs"=hex(7):' + ",".join(f"{b:02x}" for b in data) + "\r\n"
    )


def test_flat_folder_of_mofs_matched_to_the_autorecover_list(corpus: Path, tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    (flat / "wbem").mkdir(parents=True)
    for name in DRIVER_MOFS:
        (flat / "wbem" / name).symlink_to(corpus / "mof" / "windows-driver-samples" / name)
    listed = [
        f"C:\\Program Files\\Vendor\\{DRIVER_MOFS[0]}",
        f"%windir%\\system32\\wbem\\{DRIVER_MOFS[1]}",
        "%windir%\\system32\\wbem\\cimwin32.mof",
    ]
    (flat / "wbem.reg").write_text(_autorecover_export(listed), encoding="utf-16")
    evidence = load(flat)
    artifact = next(a for a in evidence.collection.artifacts if a.name == "wbem")
    assert (artifact.path, artifact.status) == ("wbem", "parsed")
    assert artifact.reason == "2 of the 3 listed MOFs found by file name"
    by_path = {m.path: m for m in evidence.repository.autorecover_mofs}
    assert all(by_path[p].parsed is True for p in listed[:2]), [by_path[p].problems for p in listed[:2]]
    assert by_path[listed[2]].parsed is None and by_path[listed[2]].exists is None, "absent from a copy: not known"


def test_mofs_without_a_list_still_load_and_say_what_is_missing(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "mofs").mkdir()
    (tmp_path / "mofs" / DRIVER_MOFS[0]).symlink_to(corpus / "mof" / "windows-driver-samples" / DRIVER_MOFS[0])
    evidence = load(tmp_path / "mofs")
    artifact = next(a for a in evidence.collection.artifacts if a.name == "wbem")
    assert artifact.path == "." and artifact.status == "present" and "no Autorecover MOFs list" in artifact.reason
    assert "SOFTWARE missing" in artifact.reason
