"""Security descriptors: binary and SDDL decoding against real and documented vectors, round trips, damage."""

from __future__ import annotations

import pytest

from wmidoctor.artifacts.registry import security
from wmidoctor.artifacts.registry.regfile import read_reg_file
from wmidoctor.artifacts.registry.security import SecurityDescriptorError, parse_binary, parse_sddl, to_binary, to_sddl
from wmidoctor.knowledge.rights import COM, NAMESPACE, rights_names

OLE = "HKLM\\SOFTWARE\\Microsoft\\Ole"
# Documented default of HKLM\SOFTWARE\Microsoft\Ole!MachineLaunchRestriction as SDDL (wmi-facts c.2; the
# same ACEs the real export in the corpus holds, apart from Performance Log Users added by an update).
MACHINE_LAUNCH_DEFAULT = "O:BAG:BAD:(A;;CCDCLCSWRP;;;BA)(A;;CCDCSW;;;WD)(A;;CCDCLCSWRP;;;S-1-5-32-562)"
# The security descriptor root\cimv2 has on a fresh install (wmi-facts c.4).
CIMV2_DEFAULT = "O:BAG:BAD:(A;CI;CCDCLCSWRPWPRCWD;;;BA)(A;CI;CCDCRP;;;NS)(A;CI;CCDCRP;;;LS)(A;CI;CCDCRP;;;AU)"


@pytest.fixture(scope="module")
def ole(corpus):
    return read_reg_file(corpus / "registry" / "HKLM_SOFTWARE_Microsoft_Ole.reg").key(OLE)


def test_machine_launch_restriction_from_real_export(ole):
    sd = parse_binary(ole.data("MachineLaunchRestriction"), COM)
    assert sd.owner == sd.group == "S-1-5-32-544"
    assert sd.sddl == (
        "O:BAG:BAD:(A;;CCDCLCSWRP;;;BA)(A;;CCDCSW;;;WD)(A;;CCDCLCSWRP;;;S-1-5-32-562)(A;;CCDCLCSWRP;;;LU)"
    )
    everyone = sd.aces_for("S-1-1-0")[0]
    assert everyone.account == "Everyone"
    assert everyone.rights == ["execute", "execute-local", "activate-local"]
    assert sd.allowed_mask("S-1-5-32-544") == 0x1F
    assert sd.aces_for("S-1-5-32-562")[0].account == "BUILTIN\\Distributed COM Users"


def test_machine_access_restriction_from_real_export(ole):
    sd = parse_binary(ole.data("MachineAccessRestriction"), COM)
    assert [(a.account, a.mask) for a in sd.dacl] == [
        ("Everyone", 7),
        ("NT AUTHORITY\\ANONYMOUS LOGON", 3),
        ("BUILTIN\\Distributed COM Users", 7),
        ("BUILTIN\\Performance Log Users", 7),
    ]
    assert "execute-remote" not in sd.aces_for("S-1-5-7")[0].rights


@pytest.mark.parametrize("name", ["MachineLaunchRestriction", "MachineAccessRestriction", "DefaultLaunchPermission"])
def test_binary_to_sddl_to_binary_is_byte_exact(ole, name):
    blob = ole.data(name)
    sd = parse_binary(blob, COM)
    assert to_binary(sd) == blob
    again = parse_sddl(sd.sddl, COM)
    assert to_binary(again) == blob


def test_documented_machine_launch_default():
    sd = parse_sddl(MACHINE_LAUNCH_DEFAULT, COM)
    assert to_sddl(sd) == MACHINE_LAUNCH_DEFAULT
    assert "activate-remote" in sd.aces_for("S-1-5-32-544")[0].rights
    assert "activate-remote" not in sd.aces_for("S-1-1-0")[0].rights
    assert parse_binary(to_binary(sd), COM).sddl == MACHINE_LAUNCH_DEFAULT


def test_cimv2_namespace_default():
    sd = parse_sddl(CIMV2_DEFAULT, NAMESPACE)
    assert sd.sddl == CIMV2_DEFAULT
    admins = sd.aces_for("S-1-5-32-544")[0]
    assert admins.mask == 0x6003F
    assert admins.rights == [
        "enable",
        "method-execute",
        "full-write",
        "partial-write",
        "provider-write",
        "remote-enable",
        "read-security",
        "edit-security",
    ]
    users = sd.aces_for("S-1-5-11")[0]
    assert users.mask == 0x13 and users.flags == 0x2
    assert "remote-enable" not in users.rights
    assert sd.aces_for("S-1-5-20")[0].account == "NT AUTHORITY\\NETWORK SERVICE"


def test_sddl_variants():
    sd = parse_sddl("O:SYG:SYD:PAI(D;OICI;0x60003;;;S-1-5-21-1-2-3-500)(A;ID;GA;;;SY)S:(AU;SAFA;WD;;;WD)", NAMESPACE)
    assert sd.control & security.SE_DACL_PROTECTED and sd.control & security.SE_DACL_AUTO_INHERITED
    deny = sd.dacl[0]
    assert deny.type == "deny" and deny.mask == 0x60003 and deny.flags == 0x3
    assert deny.account == "(domain or machine)\\Administrator"
    assert sd.sacl[0].type == "audit" and sd.sacl[0].flags == 0xC0
    assert sd.sddl == "O:SYG:SYD:PAI(D;OICI;CCDCRCWD;;;S-1-5-21-1-2-3-500)(A;ID;GA;;;SY)S:(AU;SAFA;WD;;;WD)"
    assert parse_binary(to_binary(sd), NAMESPACE).sddl == sd.sddl


def test_null_and_empty_dacl_differ():
    null = parse_sddl("O:BAD:NO_ACCESS_CONTROL")
    empty = parse_sddl("O:BAD:")
    assert null.dacl is None and empty.dacl == []
    assert parse_binary(to_binary(null)).sddl == "O:BAD:NO_ACCESS_CONTROL"
    assert parse_binary(to_binary(empty)).dacl == []


def test_unknown_bits_named_in_hex():
    assert rights_names(0x1 | 0x200, COM) == ["execute", "0x200"]
    assert parse_sddl("D:(A;;0x200;;;BA)").sddl == "D:(A;;0x200;;;BA)"


@pytest.mark.parametrize(
    "text",
    ["O:XX", "D:(A;;CC;;;BA", "D:(Q;;CC;;;BA)", "D:(A;;ZZ;;;BA)", "D:(A;;CC;;BA)", "nonsense", "D:(A;;CC;;;S-1-5-x)"],
)
def test_malformed_sddl_rejected(text):
    with pytest.raises(SecurityDescriptorError):
        parse_sddl(text)


def _damaged(blob: bytes) -> list[bytes]:
    bad_ace_size = bytearray(blob)
    bad_ace_size[0x14 + 8 + 2] = 0xFF  # first ACE's size points past the ACL
    bad_owner = bytearray(blob)
    bad_owner[4:8] = (len(blob) + 10).to_bytes(4, "little")
    bad_revision = bytearray(blob)
    bad_revision[0] = 7
    bad_sid = bytearray(blob)
    bad_sid[0x14 + 8 + 8] = 9  # revision byte of the first ACE's SID
    return [
        blob[:10],
        blob[:40],
        bytes(bad_ace_size),
        bytes(bad_owner),
        bytes(bad_revision),
        bytes(bad_sid),
        blob[:2] + b"\x00" * (len(blob) - 2),
    ]


def test_damaged_blobs_become_problems(ole):
    blob = ole.data("MachineLaunchRestriction")
    for damaged in _damaged(blob):
        with pytest.raises(SecurityDescriptorError):
            parse_binary(damaged)
        problems: list[str] = []
        assert security.decode(damaged, COM, "registry:X!Y", problems) is None
        assert len(problems) == 1 and problems[0].startswith("registry:X!Y: damaged security descriptor")
    problems = []
    good = security.decode(blob, COM, "registry:X!Y", problems)
    assert good is not None and good.source == "registry:X!Y" and problems == []
