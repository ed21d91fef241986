"""The default tables the checks (and the synthetic healthy host) use, cross-checked against real evidence:
the SYSTEM hives of a Windows 7 and a Windows 10 workstation, the real HKLM\\SOFTWARE\\Microsoft\\Ole export,
and a Windows 10 and a Windows XP repository. A default that real clean machines do not have would turn every
healthy host into a false alarm."""

from __future__ import annotations

from pathlib import Path

import pytest
from diagnose_factories import healthy

from wmidoctor.checks.acl import compare
from wmidoctor.checks.host import PRE_VISTA, VISTA_OR_LATER, generation
from wmidoctor.knowledge import defaults as d
from wmidoctor.sources.bundle import load

pytestmark = pytest.mark.corpus


@pytest.mark.parametrize("hive, host", [("SYSTEM", "WKS-WIN732BITA"), ("SYSTEM_B", "DESKTOP-PM6C56D")])
def test_workstation_hives_hold_the_service_defaults_and_the_client_firewall_default(
    corpus: Path, hive: str, host: str
) -> None:
    evidence = load(corpus / "registry" / hive)
    assert evidence.identity.host == host
    assert evidence.identity.edition == d.CLIENT and "ProductType = WinNT" in evidence.identity.edition_source
    for default in d.SERVICES:
        service = evidence.services.get(default.name)
        assert service is not None and service.start_type == default.start_type, default.name
        assert service.object_name.lower() == default.account.lower(), default.name
        assert service.svchost_group.lower() == default.svchost_group.lower(), default.name
    wmi_rules = [r for r in evidence.firewall.rules if r.group == d.WMI_RULE_GROUP]
    assert len(wmi_rules) == 8
    assert all(not r.enabled for r in wmi_rules), "the client default of EDITION_DEFAULTS: disabled"
    assert d.EDITION_DEFAULTS["wmi-firewall-rules"].client == "disabled"


def test_the_real_ole_export_is_the_dcom_default_of_the_tables_and_of_the_healthy_host(corpus: Path) -> None:
    real = load(corpus / "registry" / "HKLM_SOFTWARE_Microsoft_Ole.reg").dcom
    synthetic = healthy().dcom
    for attribute, table in (
        ("machine_launch_restriction", d.MACHINE_LAUNCH_RESTRICTION),
        ("machine_access_restriction", d.MACHINE_ACCESS_RESTRICTION),
        ("default_launch_permission", d.DEFAULT_LAUNCH_PERMISSION),
    ):
        assert not compare(getattr(real, attribute), table).changed, attribute
        assert not compare(getattr(synthetic, attribute), table).changed, attribute
    assert real.legacy_authentication_level.value == synthetic.legacy_authentication_level.value == 2
    assert real.legacy_impersonation_level.value == synthetic.legacy_impersonation_level.value == 2
    assert real.enable_dcom.value == synthetic.enable_dcom.value == "Y"


@pytest.mark.parametrize(
    "repository, era, quotas, namespace_default",
    [
        ("win10-dissect-cim", VISTA_OR_LATER, d.QUOTA_DEFAULTS, d.NAMESPACE_DEFAULT),
        ("xp-libyal-dtformats", PRE_VISTA, d.PRE_VISTA_QUOTA_DEFAULTS, d.PRE_VISTA_NAMESPACE_DEFAULT),
    ],
)
def test_repositories_hold_the_defaults_of_their_generation(
    corpus: Path, repository: str, era: str, quotas: dict, namespace_default: tuple
) -> None:
    evidence = load(corpus / "repository" / repository)
    assert generation(evidence)[0] == era
    assert {a: getattr(evidence.quotas, a).value for a in quotas} == {a: v for a, (_, v) in quotas.items()}
    expected_files = d.PRE_VISTA_REPOSITORY_FILES if era == PRE_VISTA else d.REPOSITORY_CORE_FILES
    assert set(expected_files) <= {f.name.upper() for f in evidence.repository.files}
    for name in d.NAMESPACES_WITH_DEFAULT_SECURITY:
        namespace = evidence.namespaces.get(name)
        assert not compare(namespace.security, namespace_default).changed, name
    healthy_quotas = healthy().quotas
    assert {a: getattr(healthy_quotas, a).value for a in ("memory_per_host", "handles_per_host")} == {
        "memory_per_host": d.QUOTA_DEFAULTS["memory_per_host"][1],
        "handles_per_host": 4096,
    }
