"""Registering a check refuses what would make the catalogue wrong; host helpers name what is missing exactly."""

from __future__ import annotations

import pytest

from wmidoctor.checks.host import missing_artifacts
from wmidoctor.checks.spec import CHECKS, register_check
from wmidoctor.evidence.model import ArtifactStatus, Evidence


def _judge(ev, verdict):
    return verdict.ok("fine")


def test_a_new_check_is_registered_with_its_group_and_needs():
    register_check(_judge, "example.spec-test", "An example", severity="warning", needs=["events"], needs_any=("x",))
    try:
        spec = CHECKS["example.spec-test"]
        assert (spec.id, spec.title, spec.group, spec.severity) == (
            "example.spec-test",
            "An example",
            "example",
            "warning",
        )
        assert (spec.needs, spec.needs_any, spec.func) == (("events",), ("x",), _judge)
    finally:
        del CHECKS["example.spec-test"]


def test_an_unknown_severity_is_refused():
    with pytest.raises(ValueError, match=r"^example.bad: unknown severity 'fatal'$"):
        register_check(_judge, "example.bad", "Bad", severity="fatal", needs=())
    assert "example.bad" not in CHECKS


def test_an_id_registered_twice_is_refused():
    with pytest.raises(ValueError, match=r"^check dcom.enabled registered twice$"):
        register_check(_judge, "dcom.enabled", "Again", severity="error", needs=())
    assert CHECKS["dcom.enabled"].func is not _judge


@pytest.mark.parametrize(
    ("artifacts", "expected"),
    [
        ([], "config/SOFTWARE or firewall-gpo.reg"),
        ([("registry/config/SOFTWARE", "missing")], "registry/config/SOFTWARE"),
        ([("registry/CONFIG/software", "damaged")], "registry/CONFIG/software"),
        ([("registry/config/SOFTWARE", "parsed")], "config/SOFTWARE or firewall-gpo.reg"),
        ([("config/SOFTWARE.bak", "missing")], "config/SOFTWARE or firewall-gpo.reg"),
        (
            [("a/firewall-gpo.reg", "missing"), ("b/config/SOFTWARE", "damaged")],
            "a/firewall-gpo.reg, b/config/SOFTWARE",
        ),
    ],
)
def test_missing_artifacts_names_the_absent_or_damaged_ones(artifacts, expected):
    ev = Evidence()
    ev.collection.artifacts = [ArtifactStatus(name=name, path=name, status=status) for name, status in artifacts]
    assert missing_artifacts(ev, "config/SOFTWARE", "firewall-gpo.reg") == expected
