"""Host identity in the Evidence: name, domain, OS build and edition, and where each came from.

The CurrentVersion export is hand-made here (the corpus holds no HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion
export); its values are those a Windows Server 2019 host writes. Everything else is real corpus evidence."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wmidoctor.sources.bundle import load

CURRENT_VERSION = (
    "Windows Registry Editor Version 5.00\r\n\r\n"
    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\r\n"
    '"ProductName"="Windows Server 2019 Standard"\r\n'
    '"EditionID"="ServerStandard"\r\n'
    '"InstallationType"="Server"\r\n'
    '"CurrentBuild"="17763"\r\n'
    '"CurrentMajorVersionNumber"=dword:0000000a\r\n'
    '"CurrentMinorVersionNumber"=dword:00000000\r\n'
)


def test_a_currentversion_export_in_the_bundle_gives_os_and_edition(examples: Path, tmp_path: Path) -> None:
    """The collector's new export (any .reg name in registry/) is read: the edition comes from InstallationType
    and beats the weaker guess from the WMI identity's domain role."""
    bundle = tmp_path / "bundle"
    shutil.copytree(examples / "wmi-firewall-disabled", bundle)
    (bundle / "registry" / "current-version.reg").write_text(CURRENT_VERSION, encoding="utf-16")
    evidence = load(bundle)
    identity = evidence.identity
    assert identity.host == "PC-0417", "the WMI identity query still names the host"
    assert identity.edition == "server" and identity.edition_source.endswith("!InstallationType = Server")
    assert identity.edition_id == "ServerStandard"
    statuses = {a.name: a.status for a in evidence.collection.artifacts}
    assert statuses["registry/current-version.reg"] == "parsed"


def test_without_the_export_the_edition_comes_from_the_domain_role(examples: Path) -> None:
    identity = load(examples / "wmi-firewall-disabled").identity
    assert (identity.edition, identity.edition_source) == ("client", "domain role member-workstation")


def test_the_export_alone_names_os_build_and_edition(tmp_path: Path) -> None:
    export = tmp_path / "currentversion.reg"
    export.write_text(CURRENT_VERSION, encoding="utf-16")
    identity = load(export).identity
    assert (identity.os_caption, identity.os_build, identity.os_version) == (
        "Windows Server 2019 Standard",
        "17763",
        "10.0.17763",
    )
    assert identity.edition == "server" and not identity.host


@pytest.mark.corpus
def test_system_hive_gives_name_domain_and_edition(corpus: Path) -> None:
    identity = load(corpus / "registry" / "SYSTEM").identity
    assert (identity.host, identity.domain, identity.edition) == ("WKS-WIN732BITA", "shieldbase.local", "client")
    assert identity.host_source.endswith("ComputerName!ComputerName")


@pytest.mark.corpus
def test_event_records_name_the_host_when_nothing_else_does(corpus: Path) -> None:
    identity = load(corpus / "evtx" / "hosts" / "fukusuket-win10").identity
    assert identity.host == "FUKUSUKE16E9" and identity.host_source.startswith("evtx:")
    assert identity.edition == "" and identity.status == "partial"


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("host", "name", "domain", "earlier"),
    [
        ("dfirmuseum-win10-aptsimulator", "DESKTOP-TMKU40H", "", "WIN-C89CFTIHC0I"),
        ("dfirmuseum-server2012r2-stolenszechuan", "CITADEL-DC01", "C137.local", "WIN-E0PO207ERMD"),
        ("fukusuket-win10", "FUKUSUKE16E9", "", "FUKUSUK-K0TUHAN"),
    ],
)
def test_a_renamed_host_is_named_by_its_newest_records(
    corpus: Path, host: str, name: str, domain: str, earlier: str
) -> None:
    """Real logs of hosts renamed after set-up (the verdicts under ../shared/verdicts say so): their first
    records carry the set-up name, the newest the name the host has."""
    evidence = load(corpus / "evtx" / "hosts" / host)
    assert (evidence.identity.host, evidence.identity.domain) == (name, domain)
    assert "newest event record" in evidence.identity.reason and earlier in evidence.identity.reason
