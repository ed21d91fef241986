"""The bundle loader: folders, zips, volumes and saved evidence into Evidence, with per-artifact status."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from wmidoctor.errors import InputError
from wmidoctor.evidence import Evidence
from wmidoctor.sources.bundle import load, volume_relative


def statuses(evidence: Evidence) -> dict[str, tuple[str, str]]:
    return {a.name: (a.status, a.reason) for a in evidence.collection.artifacts}


def test_example_bundle_fills_every_section_it_can(examples: Path) -> None:
    evidence = load(examples / "dcom-remote-launch-denied")
    collection = evidence.collection
    assert collection.kind == "folder" and collection.collector_version == "0.1.0"
    assert "IP addresses" in collection.personal_data
    summary = {s["section"]: s["status"] for s in evidence.summary()}
    assert summary.pop("connectivity") == "not_collected"
    assert summary.pop("trace") == "not_collected"  # the example was collected without -TraceSeconds
    assert set(summary.values()) == {"collected"}, summary
    assert evidence.identity.host == "PC-0417" and evidence.identity.domain_role == "member-workstation"
    winmgmt = evidence.services.get("winmgmt")
    assert winmgmt and winmgmt.state == "running" and winmgmt.pid == 1168 and winmgmt.start_type == "auto"
    assert winmgmt.sddl and winmgmt.sddl.startswith("D:")
    assert evidence.dcom.machine_launch_restriction is not None
    assert evidence.namespaces.get("root\\cimv2").security.dacl
    assert evidence.repository.verifications[0].verdict == "consistent"
    assert evidence.repository.autorecover_mofs and all(m.exists for m in evidence.repository.autorecover_mofs)
    assert evidence.events.of(10016) and evidence.events.of(5858)
    # locators are relative to the bundle, whatever folder it was read from
    assert all(
        not s.startswith("/")
        for section in evidence.sections().values()
        for s in section.sources
        if section is not collection
    )
    absent = statuses(evidence)["registry/rpc-policy.reg"]
    assert absent[0] == "missing" and "absent on the host" in absent[1]
    assert evidence.rpc_policy.collected and evidence.rpc_policy.restrict_remote_clients is None


def test_zip_loads_like_the_folder(examples: Path, tmp_path: Path) -> None:
    folder = examples / "wmi-firewall-disabled"
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file():  # a top folder inside the zip, Windows separators: as .NET 4.5 writes them
                out.write(path, "WMI-BUNDLE\\" + str(path.relative_to(folder)).replace("/", "\\"))
    from_zip, from_folder = load(archive), load(folder)
    assert from_zip.collection.kind == "zip" and from_zip.collection.path == str(archive)
    for name in ("services", "firewall", "events", "dcom", "providers"):
        assert getattr(from_zip, name).to_data() if hasattr(getattr(from_zip, name), "to_data") else True
        assert Evidence.to_data(from_zip)[name] == Evidence.to_data(from_folder)[name]
    assert not any("wmidoctor-bundle-" in s for s in from_zip.to_json().split('"'))


def test_damaged_artifacts_are_reported_and_the_rest_loads(examples: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(examples / "provider-clsid-missing", bundle)
    (bundle / "wmi" / "providers.json").write_text("{not json", encoding="utf-8")
    (bundle / "commands" / "sc-qc-winmgmt.txt").write_text("[SC] OpenService FAILED 5:\n\nAccess is denied.\n")
    (bundle / "logs" / "System.xml").unlink()
    manifest = json.loads((bundle / "manifest.json").read_text())
    for entry in manifest["artifacts"]:
        if entry["name"] == "logs/System.xml":
            entry.update(status="timeout", error="wevtutil epl did not finish within 120 s")
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    evidence = load(bundle)
    found = statuses(evidence)
    assert found["wmi/providers.json"][0] == "damaged" and "JSONDecodeError" in found["wmi/providers.json"][1]
    assert found["commands/sc-qc-winmgmt.txt"] == ("damaged", "OpenService failed with 5: Access is denied.")
    assert found["logs/System.xml"] == ("missing", "collector step timeout: wevtutil epl did not finish within 120 s")
    assert found["wmi/namespaces.json"][0] == "parsed"
    assert not evidence.providers.providers and evidence.events.collected and evidence.services.collected
    assert evidence.collection.status == "partial"


def test_case_insensitive_names(examples: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "B"
    shutil.copytree(examples / "repository-inconsistent", bundle)
    (bundle / "commands").rename(bundle / "COMMANDS")
    (bundle / "COMMANDS" / "winmgmt-verifyrepository.txt").rename(bundle / "COMMANDS" / "WinMgmt-VerifyRepository.TXT")
    evidence = load(bundle)
    assert [v.verdict for v in evidence.repository.verifications] == ["inconsistent"]
    assert evidence.repository.corrupted_rec is True


def test_saved_evidence_json_round_trips(examples: Path, tmp_path: Path) -> None:
    evidence = load(examples / "wmiprvse-quota-kill")
    saved = tmp_path / "evidence.json"
    saved.write_text(evidence.to_json(), encoding="utf-8")
    assert load(saved) == evidence
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(InputError, match="not a wmidoctor evidence file"):
        load(other)


def test_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="holds no WMI evidence"):
        load(tmp_path)
    with pytest.raises(InputError, match="not a bundle"):
        load(tmp_path / "notes.txt")
    with pytest.raises(InputError, match="no such file"):
        load(tmp_path / "absent")


def test_locators_are_relative_also_under_a_folder_named_beyond_ascii(examples: Path, tmp_path: Path) -> None:
    """Paths of other languages were missed before: the folder was looked for in its ASCII-escaped spelling."""
    folder = tmp_path / "Données José 証拠" / "bundle"
    shutil.copytree(examples / "dcom-remote-launch-denied", folder)
    evidence = load(folder)
    sources = [
        s for section in evidence.sections().values() if section is not evidence.collection for s in section.sources
    ]
    assert sources and not [s for s in sources if "José" in s or "証拠" in s]


def test_volume_relative_paths() -> None:
    assert volume_relative("%SystemRoot%\\system32\\wbem\\cimwin32.mof") == "Windows/system32/wbem/cimwin32.mof"
    assert volume_relative("C:\\Program Files\\Vendor\\x.mof") == "Program Files/Vendor/x.mof"
    assert volume_relative("D:\\Apps\\x.mof") is None


@pytest.mark.corpus
def test_mounted_volume_from_real_artifacts(volume: Path) -> None:
    evidence = load(volume)
    assert evidence.collection.kind == "volume"
    assert evidence.identity.host and evidence.identity.sources == ["registry:SYSTEM"]
    found = statuses(evidence)
    assert found["Windows/System32/config/SYSTEM"][0] == "parsed"
    assert found["Windows/System32/config/SOFTWARE"] == ("missing", "not on the volume")
    assert found["Windows/System32/wbem/Repository"][0] == "parsed"
    assert all(
        found[f"Windows/System32/winevt/Logs/{n}.evtx"][0] == "parsed"
        for n in ("Application", "System", "Microsoft-Windows-WMI-Activity%4Operational")
    )
    assert {"Winmgmt", "RpcSs", "DcomLaunch", "RpcEptMapper"} <= set(evidence.services.services)
    assert len(evidence.providers.providers) > 50 and evidence.namespaces.get("root\\cimv2") is not None
    assert evidence.subscriptions.bindings and evidence.quotas.collected
    assert evidence.events.groups and len(evidence.events.logs) == 3
    assert evidence.repository.verifications[0].method == "offline reader"
    assert not evidence.dcom.collected and "SOFTWARE missing" in evidence.dcom.reason
    # the repository copy gives providers, but their COM registrations live in the absent SOFTWARE hive
    assert found["Windows/System32"][0] == "present" and "SOFTWARE" in found["Windows/System32"][1]
    assert all(s.binary_exists is None for s in evidence.providers.com_servers.values())


@pytest.mark.corpus
def test_volume_without_software_hive_says_so(volume: Path) -> None:
    """A volume with SYSTEM only: what comes from SOFTWARE is not collected, and the reason names the hive;
    a .reg export lying on the volume is not taken for the hive."""
    (volume / "registry").mkdir()
    (volume / "registry" / "ole.reg").write_text(
        "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Ole]\r\n"
        '"EnableDCOM"="Y"\r\n',
        encoding="utf-8",
    )
    from wmidoctor.checks import CHECKS
    from wmidoctor.checks.runner import run_one

    evidence = load(volume)
    assert statuses(evidence)["Windows/System32/config/SOFTWARE"] == ("missing", "not on the volume")
    assert not any(a.name.startswith("registry/") for a in evidence.collection.artifacts)
    for name in ("dcom", "remote_uac", "rpc_policy"):
        section = getattr(evidence, name)
        assert section.status == "not_collected"
        assert "Windows/System32/config/SOFTWARE missing (not on the volume)" in section.reason, (name, section.reason)
    assert evidence.dcom.enable_dcom is None
    assert evidence.repository.collected and not evidence.repository.autorecover_mofs
    for check in ("autorecover.files", "autorecover.duplicates", "autorecover.parse"):
        finding = run_one(CHECKS[check], evidence).finding
        assert finding.status == "skipped"
        assert "Windows/System32/config/SOFTWARE missing: not on the volume" in finding.summary, finding.summary


@pytest.mark.corpus
def test_quick_skips_the_repository(volume: Path) -> None:
    evidence = load(volume, quick=True)
    assert statuses(evidence)["Windows/System32/wbem/Repository"] == (
        "skipped",
        "not read with --quick (only its event subscriptions were)",
    )
    assert not evidence.providers.collected
    # the security checks still judge the repository's subscriptions (a targeted read of those classes)
    assert evidence.subscriptions.collected and len(evidence.subscriptions.consumers) == 2
    # the corpus logs (1-2 MB) are within the quick bound: read whole, and not called partial
    assert evidence.events.status == "collected"


@pytest.mark.corpus
def test_quick_reads_only_the_newest_chunks_of_large_logs(volume: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wmidoctor.sources import quicklogs

    full = load(volume)
    monkeypatch.setattr(quicklogs, "QUICK_LOG_BYTES", quicklogs.HEADER_BYTES + 4 * quicklogs.CHUNK_BYTES)
    quick = load(volume, quick=True)
    assert quick.events.status == "partial" and "--quick read the newest 4 of" in quick.events.reason
    read = {log.path.rsplit("/", 1)[-1]: log.records_read for log in quick.events.logs}
    whole = {log.path.rsplit("/", 1)[-1]: log.records_read for log in full.events.logs}
    assert read.keys() == whole.keys() and all(0 < read[n] <= whole[n] for n in read), (read, whole)
    assert read["Application.evtx"] < whole["Application.evtx"] and read["System.evtx"] < whole["System.evtx"]
    # the newest records are the ones kept
    assert all(q.last_seen == f.last_seen for q, f in zip(quick.events.logs, full.events.logs, strict=True))
    application = statuses(quick)["Windows/System32/winevt/Logs/Application.evtx"]
    assert application[0] == "parsed" and application[1].startswith("--quick read the newest 4 of")


@pytest.mark.corpus
def test_volume_server_binaries_are_looked_up(volume: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With COM registrations read (a SOFTWARE hive: the corpus has none, so the registry step is given
    two), each server file is looked up on the volume and the binary check can pass and fail."""
    from wmidoctor.checks import CHECKS
    from wmidoctor.checks.runner import run_one
    from wmidoctor.evidence.model import ComServer
    from wmidoctor.sources import registry

    real = registry.fill_evidence

    def with_com_servers(hive, evidence=None, clsids=()):
        filled = real(hive, evidence, clsids)
        by_name = {p.name.lower(): p.clsid for p in filled.providers.providers if p.clsid}
        for name, server in (
            ("cimwin32", "%SystemRoot%\\system32\\wbem\\cimwin32.dll"),
            ("regprov", '"C:\\Program Files\\Gone\\stdprov.exe" -Embedding'),
        ):
            clsid = by_name[name].upper()
            filled.providers.com_servers[clsid] = ComServer(
                clsid, True, inproc_server=server, source=f"registry:test\\{clsid}"
            )
        return filled

    monkeypatch.setattr(registry, "fill_evidence", with_com_servers)
    wbem = next(p for p in (volume / "WINDOWS" / "system32").iterdir() if p.name == "WBEM")
    (wbem / "CimWin32.dll").write_bytes(b"MZ")
    evidence = load(volume)
    assert statuses(evidence)["Windows/System32"] == ("parsed", "")
    exists = {s.inproc_server.rsplit("\\", 1)[-1]: s.binary_exists for s in evidence.providers.com_servers.values()}
    assert exists == {"cimwin32.dll": True, 'stdprov.exe" -Embedding': False}
    finding = run_one(CHECKS["providers.binary"], evidence).finding
    assert finding.status == "fail" and "stdprov.exe" in finding.evidence[0].detail
