"""The known-harmless client failure table (knowledge/benign_failures.tsv): every row has codes, a reason and a
public source, and a row matches its own code, method, namespace, class and edition, not anything near it."""

from __future__ import annotations

import pytest

from wmidoctor.knowledge.benign import benign_failures, known_benign

NOT_FOUND, INVALID_CLASS, NOT_SUPPORTED, CANCELLED, ACCESS_DENIED = (
    0x80041002,
    0x80041010,
    0x8004100C,
    0x80041032,
    0x80041003,
)


def test_every_row_has_a_reason_and_a_public_source():
    rows = benign_failures()
    assert len(rows) >= 8 and len({r.id for r in rows}) == len(rows)
    assert all(r.why and r.source.startswith("https://") and r.codes for r in rows)


@pytest.mark.parametrize(
    ("code", "method", "namespace", "klass", "edition", "row"),
    [
        (CANCELLED, "ExecQuery", "root\\cimv2", "Win32_Process", "", "cancelled"),
        (NOT_FOUND, "DeleteInstance", "Root\\Rsop\\Computer", "RSOP_ExtensionStatus", "", "rsop-cleanup"),
        (
            NOT_FOUND,
            "DeleteInstance",
            "root/rsop/computer",
            "RSOP_ExtensionStatus",
            "",
            "rsop-cleanup",
        ),  # WMI paths use /
        (NOT_FOUND, "DeleteInstance", "root\\SecurityCenter2", "AntiVirusProduct", "client", "securitycenter-cleanup"),
        (NOT_SUPPORTED, "CreateInstanceEnum", "root\\wmi", "MSiSCSI_PortalInfoClass", "", "storage-hba-probe"),
        (INVALID_CLASS, "ExecQuery", "root\\wmi", "BatteryStaticData", "", "battery-probe"),
        (INVALID_CLASS, "ExecQuery", "root\\cimv2", "Win32_ServerFeature", "client", "server-feature-on-client"),
        (INVALID_CLASS, "ExecQuery", "root\\cimv2", "Win32_ServerFeature", "", "server-feature-on-client"),
        (0x80041007, "ExecMethod", "ROOT\\Microsoft\\Windows\\Smb", "MSFT_SmbShare", "server", "smb-share-change"),
    ],
)
def test_a_known_pattern_is_recognised(code, method, namespace, klass, edition, row):
    match = known_benign(code, method, namespace, klass, edition)
    assert match is not None and match.id == row


@pytest.mark.parametrize(
    ("code", "method", "namespace", "klass", "edition"),
    [
        (NOT_FOUND, "GetObject", "Root\\Rsop\\Computer", "RSOP_ExtensionStatus", ""),  # not a delete
        (ACCESS_DENIED, "DeleteInstance", "Root\\Rsop\\Computer", "RSOP_ExtensionStatus", ""),  # another code
        (INVALID_CLASS, "ExecQuery", "root\\cimv2", "Win32_ServerFeature", "server"),  # the class exists on servers
        (INVALID_CLASS, "ExecQuery", "root\\cimv2", "Win32_Battery", ""),  # the cimv2 class always exists
        (NOT_SUPPORTED, "ExecQuery", "root\\cimv2", "MSiSCSI_PortalInfoClass", ""),  # HBA classes live in root\wmi
        (INVALID_CLASS, "ExecQuery", "root\\vendor", "Vendor_Thing", ""),
    ],
)
def test_near_misses_are_not_benign(code, method, namespace, klass, edition):
    assert known_benign(code, method, namespace, klass, edition) is None


@pytest.mark.parametrize(
    ("sid", "sandboxed"),
    [
        ("S-1-15-2-350187224-1905355452-1037786396-3028148496-2624191407-3283318427-1255436723", True),
        ("s-1-15-2-350187224-1905355452-1037786396-3028148496-2624191407-3283318427-1255436723", True),
        ("S-1-15-2-1", False),  # ALL APPLICATION PACKAGES, a group, not an app
        ("S-1-15-2-2", False),
        ("S-1-5-21-1769714682-2803786108-491265710-500", False),
        ("", False),
    ],
)
def test_an_appcontainer_is_told_by_its_package_sid(sid: str, sandboxed: bool) -> None:
    """DCOM 10016 refusals of WMI to an AppContainer are by design (knowledge/sids.py)."""
    from wmidoctor.knowledge.sids import is_appcontainer

    assert is_appcontainer(sid) is sandboxed
