"""What the collector's manifest says about a step decides how the loader reads its file (issue 22): a file left
by a step that timed out or failed may be cut short, so it is damaged evidence and is not read; an HRESULT exit
code stored signed by older collectors is read as the unsigned code Windows documents. Bundles are the example
bundles with a manifest edited by the test (no real collector run exists here)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from wmidoctor.sources.bundle import load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bundles"


def _bundle_with(tmp_path: Path, name: str, status: str, error: str = "", exit_code: int | None = None) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(EXAMPLES / "dcom-remote-launch-denied", bundle)
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["artifacts"]:
        if entry["name"] == name:
            entry["status"], entry["error"] = status, error
            if exit_code is not None:
                entry["exit_code"] = exit_code
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return bundle


def test_a_log_export_whose_step_timed_out_is_damaged_not_read(tmp_path: Path) -> None:
    name = next(
        e["name"]
        for e in json.loads((EXAMPLES / "dcom-remote-launch-denied" / "manifest.json").read_text())["artifacts"]
        if e["name"].startswith("logs/")
    )
    evidence = load(_bundle_with(tmp_path, name, "timeout", "timeout: wevtutil did not finish within 120 s"))
    (status,) = [a for a in evidence.collection.artifacts if a.path == name]
    assert status.status == "damaged" and "may be incomplete" in status.reason
    assert not any(name.rsplit("/", 1)[1] in log.path for log in evidence.events.logs)


def test_the_same_export_with_an_ok_step_is_read(tmp_path: Path) -> None:
    name = next(
        e["name"]
        for e in json.loads((EXAMPLES / "dcom-remote-launch-denied" / "manifest.json").read_text())["artifacts"]
        if e["name"].startswith("logs/")
    )
    evidence = load(_bundle_with(tmp_path, name, "ok"))
    (status,) = [a for a in evidence.collection.artifacts if a.path == name]
    assert status.status == "parsed"


def test_a_signed_hresult_exit_code_is_read_unsigned(tmp_path: Path) -> None:
    from wmidoctor.sources.manifest import read_manifest

    bundle = _bundle_with(tmp_path, "commands/winmgmt-verifyrepository.txt", "ok", exit_code=-2147217406)
    entry = read_manifest(bundle / "manifest.json").entry(["commands/winmgmt-verifyrepository.txt"])
    assert entry is not None and entry.exit_code == 0x80041002


def test_host_identity_comes_from_the_registry_when_wmi_is_dead(tmp_path: Path) -> None:
    """The example bundle without its WMI identity, with the host-identity.reg the collector writes from the
    registry (made by the test in that format: no Windows host here)."""
    bundle = tmp_path / "bundle"
    shutil.copytree(EXAMPLES / "dcom-remote-launch-denied", bundle)
    (bundle / "wmi" / "identity.json").unlink()
    services_before = load(bundle).services.status
    text = (
        "Windows Registry Editor Version 5.00\r\n\r\n"
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\r\n"
        '"ProductName"="Windows Server 2022 Standard"\r\n"EditionID"="ServerStandard"\r\n'
        '"InstallationType"="Server"\r\n"CurrentBuild"="20348"\r\n"UBR"=dword:00000a2c\r\n'
        '"CurrentMajorVersionNumber"=dword:0000000a\r\n"CurrentMinorVersionNumber"=dword:00000000\r\n\r\n'
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\ComputerName\\ComputerName]\r\n"
        '"ComputerName"="SRV-DB01"\r\n\r\n'
        "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\ProductOptions]\r\n"
        '"ProductType"="ServerNT"\r\n'
    )
    (bundle / "registry" / "host-identity.reg").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    evidence = load(bundle)
    identity = evidence.identity
    # the host name is the manifest's (the collector's own COMPUTERNAME, read first); the rest is the registry's
    assert (identity.host, identity.os_build, identity.os_version, identity.edition) == (
        "PC-0417",
        "20348",
        "10.0.20348",
        "server",
    )
    assert identity.edition_id == "ServerStandard" and "InstallationType" in identity.edition_source
    assert evidence.services.status == services_before  # a few named values vouch for no other key


def test_a_32_bit_provider_registered_under_wow6432node_is_registered(tmp_path: Path) -> None:
    """The provider-clsid-missing example, with its provider's CLSID added to the export under the 32-bit view
    of the class table (as the collector now exports it): the provider is registered, no longer an error."""
    bundle = tmp_path / "bundle"
    shutil.copytree(EXAMPLES.parent / "bundles" / "provider-clsid-missing", bundle)
    export = bundle / "registry" / "provider-clsids.reg"
    text = export.read_bytes().decode("utf-16")
    clsid = "{4F2E8C1A-7B3D-4E59-9A61-2C0D5B7E8F13}"
    text += (
        f"\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Classes\\WOW6432Node\\CLSID\\{clsid}]\r\n\r\n"
        f"[HKEY_LOCAL_MACHINE\\SOFTWARE\\Classes\\WOW6432Node\\CLSID\\{clsid}\\InprocServer32]\r\n"
        '@="C:\\\\Program Files (x86)\\\\Contoso\\\\inventory.dll"\r\n'
    )
    export.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    server = load(bundle).providers.com_servers[clsid]
    assert server.registered and "WOW6432Node" in server.source
    assert server.inproc_server == "C:\\Program Files (x86)\\Contoso\\inventory.dll"
    assert not load(EXAMPLES.parent / "bundles" / "provider-clsid-missing").providers.com_servers[clsid].registered
