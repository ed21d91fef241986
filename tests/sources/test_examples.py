"""The sample bundles: reproducible from their script, and each diagnoses as the sick host it depicts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from wmidoctor.sources.bundle import load


def _builder():
    spec = importlib.util.spec_from_file_location("make_examples", Path(__file__).with_name("make_examples.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_committed_examples_are_what_the_script_writes(examples: Path, tmp_path: Path) -> None:
    written = _builder().write_all(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in examples.iterdir() if p.is_dir())
    for bundle in written:
        fresh = {p.relative_to(bundle): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}
        committed = {
            p.relative_to(examples / bundle.name): p.read_bytes()
            for p in (examples / bundle.name).rglob("*")
            if p.is_file()
        }
        assert fresh.keys() == committed.keys(), bundle.name
        assert [k for k in fresh if fresh[k] != committed[k]] == [], "run tests/sources/make_examples.py"


@pytest.mark.parametrize(
    ("bundle", "failing"),
    [
        ("dcom-remote-launch-denied", {"dcom.machine-launch-restriction"}),
        ("repository-inconsistent", {"repository.integrity"}),
        ("provider-clsid-missing", {"providers.com-registration", "providers.binary"}),
        ("wmiprvse-quota-kill", {"quotas.host-kills"}),
    ],
)
def test_each_example_shows_its_problem(examples: Path, bundle: str, failing: set[str]) -> None:
    """The story's own checks fail; beyond them only the event checks may (the logs tell the same story)."""
    from wmidoctor.checks import run_checks

    evidence = load(examples / bundle)
    assert all(a.status in ("parsed", "missing", "skipped") for a in evidence.collection.artifacts)
    findings = {r.finding.check: r.finding for r in run_checks(evidence)}
    failed = {check for check, f in findings.items() if f.status == "fail"}
    assert failing <= failed and all(check.startswith("events.") for check in failed - failing), failed
    # every example carries a third-party autorecover MOF copy, parsed and found to compile
    assert findings["autorecover.parse"].status == "pass"
    assert findings["providers.binary"].status == ("fail" if "providers.binary" in failing else "pass")


def test_closed_wmi_rules_on_a_workstation_are_not_a_fault(examples: Path) -> None:
    """The WMI rule group off on a Windows 10 workstation is the client default: info naming the edition it
    assumed, never an error, while no evidence shows remote WMI to the host failing."""
    from wmidoctor.checks import run_checks

    findings = {r.finding.check: r.finding for r in run_checks(load(examples / "wmi-firewall-disabled"))}
    firewall = findings["firewall.wmi-rules"]
    assert (firewall.status, firewall.severity) == ("info", "info")
    assert "default on client editions" in firewall.summary and "domain role member-workstation" in firewall.summary
    assert not any(f.is_problem for f in findings.values() if not f.check.startswith("events."))
