"""Each lint rule on small hand-written MOFs: one that breaks it, and one that keeps it."""

from __future__ import annotations

from wmidoctor.artifacts.mof import parse_text
from wmidoctor.moflint import RULES, exit_code, lint_documents

HEADER = '#pragma autorecover\n#pragma namespace("\\\\\\\\.\\\\root\\\\Vendor")\n'
CLSID = "{12345678-1234-1234-1234-123456789ABC}"
GOOD_PROVIDER = f"""instance of __Win32Provider as $P
{{
    Name = "VendorProv";
    CLSID = "{CLSID}";
    HostingModel = "NetworkServiceHost";
}};
instance of __InstanceProviderRegistration
{{
    Provider = $P;
    SupportsGet = TRUE;
}};
"""
GOOD_CLASS = """[dynamic, provider("VendorProv")]
class Vendor_Thing
{
    [key] string Name;
    [implemented] uint32 Reset();
};
"""


def lint(*texts: str):
    documents = [parse_text(text, f"f{i}.mof") for i, text in enumerate(texts)]
    return lint_documents(documents)


def rules(*texts: str) -> list[str]:
    return [f.rule for f in lint(*texts)]


def test_a_correct_provider_mof_is_clean():
    findings = lint(HEADER + GOOD_PROVIDER + GOOD_CLASS)
    assert findings == []
    assert exit_code(findings) == 0


def test_every_finding_has_a_known_rule_severity_and_place():
    findings = lint("class A : Missing { };\ninstance of A { X = $nope; };\n")
    assert findings
    for f in findings:
        assert f.rule in RULES and f.severity == RULES[f.rule].severity and f.line >= 1 and f.column >= 1


def test_rule_table_is_read_whole():
    """rules.tsv: every rule has a known severity and both texts, and backslashes arrive as written."""
    assert len(RULES) >= 25 and all(rule.id.startswith("MOF-") for rule in RULES.values())
    assert {rule.severity for rule in RULES.values()} <= {"error", "warning", "info"}
    assert all(rule.short and len(rule.help) > len(rule.short) for rule in RULES.values())
    assert r"\\\\.\\root\\cimv2 reads as \\.\root\cimv2" in RULES["MOF-NAMESPACE-MALFORMED"].help


def test_provider_missing():
    findings = lint(HEADER + GOOD_CLASS)
    assert [f.rule for f in findings] == ["MOF-PROVIDER-MISSING"]
    assert (findings[0].line, findings[0].column) == (4, 7) and "VendorProv" in findings[0].message


def test_provider_in_another_namespace_does_not_count():
    other = '#pragma autorecover\n#pragma namespace("\\\\\\\\.\\\\root\\\\Other")\n'
    assert "MOF-PROVIDER-MISSING" in rules(HEADER + GOOD_CLASS, other + GOOD_PROVIDER)


def test_provider_registered_in_another_linted_file_counts():
    assert rules(HEADER + GOOD_CLASS, HEADER + GOOD_PROVIDER) == []


def test_inbox_providers_need_no_registration():
    assert rules(HEADER + '[dynamic, provider("RegProv")] class Vendor_Reg { [key] string K; };') == []


def test_registration_missing():
    provider_only = GOOD_PROVIDER.split("instance of __InstanceProviderRegistration")[0]
    found = rules(HEADER + provider_only + GOOD_CLASS)
    assert "MOF-REGISTRATION-MISSING" in found and "MOF-PROVIDER-UNUSED" in found


def test_registration_by_object_path():
    by_path = GOOD_PROVIDER.replace("Provider = $P;", 'Provider = "__Win32Provider.Name=\\"VendorProv\\"";')
    assert rules(HEADER + by_path + GOOD_CLASS) == []
    shorthand = GOOD_PROVIDER.replace("Provider = $P;", 'Provider = "__Win32Provider=\\"VendorProv\\"";')
    assert rules(HEADER + shorthand + GOOD_CLASS) == []


def test_registration_dangling():
    to_nothing = GOOD_PROVIDER.replace("Provider = $P;", 'Provider = "__Win32Provider.Name=\\"Ghost\\"";')
    assert "MOF-REGISTRATION-DANGLING" in rules(HEADER + to_nothing)
    unknown_alias = GOOD_PROVIDER.replace("Provider = $P;", "Provider = $Q;")
    found = lint(HEADER + unknown_alias)
    dangling = [f for f in found if f.rule == "MOF-REGISTRATION-DANGLING"]
    assert dangling and "$Q" in dangling[0].message and dangling[0].line == 11
    assert [f.rule for f in found if "$Q" in f.message] == ["MOF-REGISTRATION-DANGLING"], "reported once"
    no_provider = GOOD_PROVIDER.replace("Provider = $P;", "")
    assert "MOF-REGISTRATION-DANGLING" in rules(HEADER + no_provider)


def test_dynamic_without_provider():
    assert rules(HEADER + "[dynamic] class Vendor_X { [key] string K; };") == ["MOF-DYNAMIC-NO-PROVIDER"]
    # The provider qualifier may come from a superclass declared in the linted files.
    inherited = HEADER + GOOD_PROVIDER + GOOD_CLASS + "[dynamic] class Vendor_Child : Vendor_Thing { };"
    assert rules(inherited) == []
    # Event trace classes are descriptions of events: no provider serves them.
    assert rules(HEADER + "[dynamic] class Vendor_Trace : EventTrace { };") == []


def test_clsid_missing_and_malformed():
    missing = GOOD_PROVIDER.replace(f'CLSID = "{CLSID}";', "")
    assert rules(HEADER + missing + GOOD_CLASS) == ["MOF-CLSID-MISSING"]
    for bad in ("12345678-1234-1234-1234-123456789ABC", "{1234-5678}", "{12345678-1234-1234-1234-123456789ABZ}"):
        found = lint(HEADER + GOOD_PROVIDER.replace(CLSID, bad) + GOOD_CLASS)
        assert [f.rule for f in found] == ["MOF-CLSID-MALFORMED"]
        assert found[0].line == 6  # the CLSID assignment
    lower_case = GOOD_PROVIDER.replace(CLSID, CLSID.lower())
    assert rules(HEADER + lower_case + GOOD_CLASS) == []


def _hosting(model: str | None) -> str:
    text = GOOD_PROVIDER.replace(
        'HostingModel = "NetworkServiceHost";', "" if model is None else f'HostingModel = "{model}";'
    )
    return HEADER + text + GOOD_CLASS


def test_hosting_models():
    for fine in (
        "NetworkServiceHost",
        "LocalServiceHost",
        "NetworkServiceHostOrSelfHost",
        "SelfHost",
        "NetworkServiceHost:MySharedHost",
        "localservicehost",
    ):
        assert rules(_hosting(fine)) == [], fine
    assert rules(_hosting("NetworkServiceHost:")) == []
    assert rules(_hosting("NetworkSvcHost")) == ["MOF-HOSTING-UNKNOWN"]
    assert rules(_hosting("NetworkServiceHost:bad group")) == ["MOF-HOSTING-UNKNOWN"]
    assert rules(_hosting("WmiCore")) == ["MOF-HOSTING-RESERVED"]
    assert rules(_hosting(None)) == ["MOF-HOSTING-DEFAULT"]


def test_privileged_hosting_is_flagged_with_the_reason():
    for model in ("LocalSystemHost", "LocalSystemHostOrSelfHost", "LocalSystemHost:Group"):
        findings = lint(_hosting(model))
        assert [f.rule for f in findings] == ["MOF-HOSTING-PRIVILEGED"], model
        assert "LocalSystem" in findings[0].message and findings[0].severity == "warning"


def test_decoupled_providers_need_no_clsid():
    decoupled = GOOD_PROVIDER.replace(f'CLSID = "{CLSID}";', "").replace("NetworkServiceHost", "Decoupled:Com")
    assert rules(HEADER + decoupled + GOOD_CLASS) == []
    folded = decoupled.replace("Decoupled:Com", "Decoupled:Com:FoldIdentity(FALSE)")
    assert rules(HEADER + folded + GOOD_CLASS) == ["MOF-HOSTING-PRIVILEGED"]
    typo = decoupled.replace("Decoupled:Com", "Decoupled:Com:FoldIdentity(FALSE}")
    assert rules(HEADER + typo + GOOD_CLASS) == ["MOF-HOSTING-UNKNOWN"]


def test_provider_instance_of_a_derived_class_uses_class_defaults():
    derived = (
        HEADER
        + f"""class Vendor_Decoupled : __Win32Provider
{{
    string Clsid = "{CLSID}";
    string HostingModel = "Decoupled:Com";
}};
instance of Vendor_Decoupled as $D {{ Name = "VendorProv"; }};
instance of __MethodProviderRegistration {{ Provider = $D; }};
"""
        + GOOD_CLASS
    )
    assert rules(derived) == []


def test_autorecover_missing():
    without = HEADER.replace("#pragma autorecover\n", "")
    findings = lint(without + GOOD_PROVIDER + GOOD_CLASS)
    assert [f.rule for f in findings] == ["MOF-AUTORECOVER-MISSING"]
    assert (findings[0].line, findings[0].column) == (1, 1) and "rebuild" in findings[0].message
    # A MOF that only creates instances (say, an event subscription) is not asked for it.
    assert rules(without + 'instance of __EventFilter { Name = "f"; };') == []


def test_namespace_missing():
    findings = lint("#pragma autorecover\n" + GOOD_PROVIDER + GOOD_CLASS)
    assert [f.rule for f in findings] == ["MOF-NAMESPACE-MISSING"]
    assert findings[0].line == 2 and "root\\default" in findings[0].message


def test_wdm_driver_mofs_need_neither_pragma():
    wdm = (
        '[WMI, Dynamic, Provider("WMIProv"), guid("{12345678-1234-1234-1234-123456789ABC}")]\n'
        "class Vendor_Driver { [key, read] string InstanceName; [read] boolean Active; };"
    )
    assert rules(wdm) == []


def test_malformed_namespace_paths():
    def ns(path: str) -> list[str]:
        return rules(f'#pragma autorecover\n#pragma namespace("{path}")\nclass A {{ [key] string K; }};')

    for good in ("\\\\\\\\.\\\\root\\\\cimv2", "\\\\\\\\SERVER\\\\root\\\\x", "root\\\\cimv2", "child", "root/cimv2"):
        assert ns(good) == [], good
    for bad in (
        "\\\\.\\root\\cimv2",
        "\\\\\\\\.\\\\root\\\\\\\\cimv2",
        "\\\\root\\\\x",
        "[Namespace]",
        "",
        "\\\\\\\\.\\\\cimv2",
        "\\\\\\\\.\\\\",
    ):
        assert "MOF-NAMESPACE-MALFORMED" in ns(bad), bad
    assert rules("#pragma namespace(1)\n") == ["MOF-NAMESPACE-MALFORMED"]


def test_single_backslash_message_says_how_to_write_it():
    (finding,) = [f for f in lint('#pragma namespace("\\\\.\\root\\cimv2")\n') if f.rule == "MOF-NAMESPACE-MALFORMED"]
    assert "single backslash" in finding.message and finding.line == 1


def test_duplicate_class_and_alias():
    twice = HEADER + "class A { [key] string K; };\nclass a { [key] string K; };\n"
    findings = lint(twice)
    assert [f.rule for f in findings] == ["MOF-DUPLICATE-CLASS"] and findings[0].line == 4
    across = lint(HEADER + "class A { [key] string K; };", HEADER + "class A { [key] string K; };")
    assert [f.path for f in across] == ["f1.mof"]
    other_ns = HEADER + 'class A { [key] string K; };\n#pragma namespace("sub")\nclass A { [key] string K; };'
    assert rules(other_ns) == []
    aliases = HEADER + (
        'instance of __EventFilter as $F { Name = "a"; };\ninstance of __EventFilter as $F { Name = "b"; };'
    )
    findings = lint(aliases)
    assert [f.rule for f in findings] == ["MOF-DUPLICATE-ALIAS"] and findings[0].line == 4


def test_key_missing_on_classes_with_instances():
    keyless = HEADER + 'class A { string V; };\ninstance of A { V = "x"; };\n'
    findings = lint(keyless)
    assert [f.rule for f in findings] == ["MOF-KEY-MISSING"] and findings[0].line == 4
    assert rules(HEADER + 'class A { [key] string V; };\ninstance of A { V = "x"; };\n') == []
    assert rules(HEADER + '[singleton] class A { string V; };\ninstance of A { V = "x"; };\n') == []
    inherited = HEADER + 'class B { [key] string K; };\nclass A : B { string V; };\ninstance of A { K = "k"; };'
    assert rules(inherited) == []
    assert rules(HEADER + "class A { string V; };\n") == []  # no instances, no need
    assert rules(HEADER + 'class A { [key(false)] string V; };\ninstance of A { V = "x"; };') == ["MOF-KEY-MISSING"]


def test_undeclared_classes():
    findings = lint(
        HEADER + "class A : Vendor_Base { [key] string K; Vendor_Other ref R; };\n"
        'instance of Vendor_Missing { K = "x"; };\n'
    )
    assert [(f.rule, f.line) for f in findings] == [
        ("MOF-UNDECLARED-CLASS", 3),
        ("MOF-UNDECLARED-CLASS", 3),
        ("MOF-UNDECLARED-CLASS", 4),
    ]
    standard = HEADER + (
        "class A : CIM_LogicalElement { [key] string K; Win32_Process ref P; };\n"
        'instance of __EventFilter as $F { Name = "f"; };\n'
        'instance of CommandLineEventConsumer as $C { Name = "c"; };\n'
        "instance of __FilterToConsumerBinding { Filter = $F; Consumer = $C; };\n"
    )
    assert rules(standard) == []
    assert rules(HEADER + "class Base { [key] string K; };", HEADER + "class A : Base { };") == []


def test_undeclared_class_in_another_namespace_says_so():
    text = HEADER + 'class Base { [key] string K; };\n#pragma namespace("sub")\nclass A : Base { };'
    (finding,) = lint(text)
    assert finding.rule == "MOF-UNDECLARED-CLASS" and "another namespace" in finding.message


def test_undeclared_alias():
    text = HEADER + "instance of __FilterToConsumerBinding { Filter = $F; Consumer = { $C }; };"
    findings = lint(text)
    assert sorted(f.message.split()[1] for f in findings if f.rule == "MOF-UNDECLARED-ALIAS") == ["$C", "$F"]
    declared = HEADER + (
        'instance of __EventFilter as $F { Name = "f"; };\n'
        'instance of CommandLineEventConsumer as $C { Name = "c"; };\n'
        "instance of __FilterToConsumerBinding { Filter = $F; Consumer = $C; };"
    )
    assert rules(declared) == []


def test_flavor_conflicts():
    assert rules(HEADER + '[Description("x") : ToSubclass Restricted] class A { [key] string K; };') == [
        "MOF-FLAVOR-CONFLICT"
    ]
    assert rules(HEADER + "class A { [key : EnableOverride DisableOverride] string K; };") == ["MOF-FLAVOR-CONFLICT"]
    assert rules(HEADER + '[Description("x") : ToSubclass Amended] class A { [key] string K; };') == []


def test_methods_of_dynamic_classes_must_be_implemented():
    unimplemented = GOOD_CLASS.replace("[implemented] uint32 Reset();", "uint32 Reset();")
    findings = lint(HEADER + GOOD_PROVIDER + unimplemented)
    assert [f.rule for f in findings] == ["MOF-METHOD-NOT-IMPLEMENTED"] and findings[0].line == 18
    static = HEADER + "class Vendor_Static { [key] string K; uint32 Reset(); };"
    assert rules(static) == []


def test_reader_diagnostics_become_findings():
    findings = lint('#pragma autorecover\n#include "x.h"\nclass A { uint32 = 1; };\n')
    assert [f.rule for f in findings][:2] == ["MOF-PREPROCESSOR", "MOF-SYNTAX"]
    syntax = findings[1]
    assert syntax.caret.endswith("^") and syntax.source_line == "class A { uint32 = 1; };"
    assert exit_code(findings) == 1


def test_info_alone_exits_zero():
    findings = lint(_hosting(None))
    assert [f.severity for f in findings] == ["info"] and exit_code(findings) == 0


def test_file_without_namespace_pragma_may_use_a_class_of_any_namespace():
    wdm = '[WMI, guid("{12345678-1234-1234-1234-123456789ABC}")] class Holder { [key] string K; Vendor_Base B; };'
    assert "MOF-UNDECLARED-CLASS" not in rules(HEADER + "class Vendor_Base { [key] string K; };", wdm)
    assert "MOF-UNDECLARED-CLASS" in rules(wdm)


def test_missing_provider_without_namespace_pragma_reads_as_a_sentence():
    (finding,) = [f for f in lint(GOOD_CLASS) if f.rule == "MOF-PROVIDER-MISSING"]
    assert finding.message.endswith("declared in the same namespace (none set by #pragma namespace)")
