import dataclasses

from wmidoctor.evidence import Ace, Evidence, SecurityDescriptor, Setting
from wmidoctor.evidence.codec import change_strings
from wmidoctor.evidence.model import (
    COLLECTED,
    NOT_COLLECTED,
    PARTIAL,
    Binding,
    EventGroup,
    Namespace,
    Provider,
    Service,
)
from wmidoctor.findings import Finding, Fix, exit_code


def _sample() -> Evidence:
    e = Evidence()
    e.identity.host = "WS01"
    e.identity.mark_collected("manifest.json")
    e.dcom.enable_dcom = Setting("Y", r"registry:HKLM\SOFTWARE\Microsoft\Ole!EnableDCOM")
    e.dcom.machine_launch_restriction = SecurityDescriptor(
        sddl="O:BAG:BAD:(A;;CCDCLCSWRP;;;WD)",
        dacl=[Ace("allow", "S-1-1-0", "Everyone", 0xB, 0, ["execute", "execute-local", "activate-local"])],
    )
    e.dcom.hardening["RequireIntegrityActivationAuthenticationLevel"] = Setting(1, "registry:x")
    e.dcom.mark_collected("registry/Ole.reg")
    e.services.services["Winmgmt"] = Service("Winmgmt", state="running", depends_on=["RPCSS"])
    cimwin32 = "{D63A5850-8F16-11CF-9F47-00AA00BF345C}"
    e.providers.providers.append(Provider(r"root\cimv2", "CIMWin32", cimwin32))
    e.firewall.profiles["public"] = Setting(1)
    e.subscriptions.bindings.append(Binding("root\\subscription", '__EventFilter.Name="f"', 'X.Name="c"'))
    e.events.groups.append(
        EventGroup(
            "Microsoft-Windows-WMI-Activity/Operational",
            "Microsoft-Windows-WMI-Activity",
            5858,
            {"ResultCode": "0x80041003"},
            count=12,
        )
    )
    return e


def test_json_round_trip_gives_an_equal_object():
    e = _sample()
    again = Evidence.from_json(e.to_json())
    assert again == e
    assert isinstance(again.dcom.machine_launch_restriction, SecurityDescriptor)
    assert isinstance(again.dcom.machine_launch_restriction.dacl[0], Ace)
    assert again.dcom.hardening["RequireIntegrityActivationAuthenticationLevel"].value == 1


def test_sections_start_not_collected_with_a_reason():
    e = Evidence()
    assert all(s.status == NOT_COLLECTED and s.reason for s in e.sections().values())
    assert "connectivity" in e.sections() and "events" in e.sections()


def test_mark_collected_and_partial():
    e = Evidence()
    e.dcom.mark_collected("a.reg")
    assert e.dcom.status == COLLECTED and e.dcom.reason == ""
    e.dcom.mark_collected("b.reg", partial="AppID key not exported")
    assert e.dcom.status == PARTIAL and e.dcom.sources == ["a.reg", "b.reg"]
    assert {row["section"]: row["status"] for row in e.summary()}["dcom"] == PARTIAL


def test_lookups_are_case_insensitive():
    e = _sample()
    assert e.services.get("WINMGMT").state == "running"
    e.namespaces.namespaces.append(Namespace("ROOT\\CIMV2"))
    assert e.namespaces.get("root/cimv2") is not None


def test_allowed_mask_subtracts_deny():
    sd = SecurityDescriptor(dacl=[Ace("allow", "S-1-1-0", mask=0x1F), Ace("deny", "S-1-1-0", mask=0x4)])
    assert sd.allowed_mask("S-1-1-0") == 0x1B
    assert sd.allowed_mask("S-1-5-32-544") == 0


def test_not_a_document_is_rejected():
    import pytest

    with pytest.raises(ValueError):
        Evidence.from_data({"identity": {}})


def test_findings_exit_code_and_round_trip():
    ok = Finding("services.winmgmt", "pass", "info", "Winmgmt running")
    bad = Finding("dcom.enable", "fail", "critical", "DCOM disabled", fixes=[Fix("Enable DCOM", "reg add ...", "low")])
    info = Finding("events.tally", "info", "info", "tally")
    assert exit_code([ok, info]) == 0
    assert exit_code([ok, bad]) == 1
    assert Finding.from_data(bad.to_data()) == bad


def test_a_word_outside_the_vocabulary_is_refused_by_the_codec():
    """Statuses, severities and risks are Literal types: saved evidence or findings carrying another word are
    refused, naming the value, instead of reaching a renderer that has no class or colour for it."""
    import pytest

    from wmidoctor.evidence.codec import DecodeError

    data = Evidence().to_data()
    data["services"]["status"] = "mostly"
    with pytest.raises(DecodeError, match=r"services\.status"):
        Evidence.from_data(data)
    finding = Finding("rpc.dynamic-ports", "warn", "warning", "t", fixes=[Fix("Move the range", risk="high")])
    document = finding.to_data()
    document["fixes"][0]["risk"] = "medium"
    with pytest.raises(DecodeError, match="risk"):
        Finding.from_data(document)
    document["fixes"][0]["risk"] = "high"
    document["severity"] = "severe"
    with pytest.raises(DecodeError, match="severity"):
        Finding.from_data(document)


def test_change_strings_reaches_every_string_in_place() -> None:
    @dataclasses.dataclass(frozen=True)
    class Leaf:
        name: str
        count: int

    @dataclasses.dataclass
    class Tree:
        leaves: list[Leaf]
        index: dict[str, tuple[str, ...]]
        note: str | None = None

    tree = Tree([Leaf("/b/x", 1)], {"/b/key": ("/b/one", "two")})
    leaves = tree.leaves
    changed = change_strings(tree, lambda text: text.replace("/b/", ""))
    assert changed is tree and tree.leaves is leaves  # changed where it stands, not copied
    assert tree == Tree([Leaf("x", 1)], {"key": ("one", "two")})
