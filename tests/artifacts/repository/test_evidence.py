"""The evidence adapter fills its sections from the reader."""

from __future__ import annotations

from wmidoctor.artifacts.repository import open_repository
from wmidoctor.evidence import Evidence
from wmidoctor.sources.repository import fill_evidence

from .conftest import APTSIM


def test_fill_evidence(repositories):
    evidence = Evidence()
    fill_evidence(evidence, open_repository(repositories / APTSIM))
    assert evidence.repository.verifications[0].verdict == "consistent"
    assert {f.name for f in evidence.repository.files} >= {"INDEX.BTR", "OBJECTS.DATA"}
    assert any(p.name == "CIMWin32" for p in evidence.providers.providers)
    names = {c.name for c in evidence.subscriptions.consumers}
    assert names == {"KillProcess", "SCM Event Log Consumer"}
    assert evidence.subscriptions.filters[0].creator_sid.startswith("S-1-5-")
    assert evidence.quotas.memory_per_host.value == 536870912
    cimv2 = next(n for n in evidence.namespaces.namespaces if n.name.upper() == "ROOT\\CIMV2")
    assert cimv2.security is not None and cimv2.security.dacl
    assert Evidence.from_json(evidence.to_json()).subscriptions.consumers[0].name in names
