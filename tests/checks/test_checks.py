"""Every check passes on a healthy host, reports its own problem on a host made sick for it, and skips
(never passes) when the evidence it needs was not collected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from diagnose_factories import SICK, healthy, sick, worst

from wmidoctor.checks import CHECKS, run_checks
from wmidoctor.checks.runner import run_one
from wmidoctor.evidence.model import NOT_COLLECTED, Evidence
from wmidoctor.findings import Finding
from wmidoctor.sources.bundle import load
from wmidoctor.vocabulary import RISKS, SEVERITIES, STATUSES

INFO_ONLY = {spec.id for spec in CHECKS.values() if spec.severity == "info"}


def by_check(ev: Evidence) -> dict[str, Finding]:
    return {run.finding.check: run.finding for run in run_checks(ev)}


@pytest.fixture(scope="module")
def healthy_findings() -> dict[str, Finding]:
    return by_check(healthy())


def test_every_check_has_a_sick_host():
    assert set(SICK) == set(CHECKS)


# Checks that describe rather than judge a healthy host: info there, everything else passes.
HEALTHY_INFO = {
    "services.winmgmt-hosting": "how Winmgmt is hosted is reported, never judged",
    "providers.hosting": "LocalSystem providers are listed (all from the Windows directory here)",
    "firewall.wmi-rules": "the healthy host admits WMI in the domain profile only",
    "remote-uac.token-filter": "the filtering default is explained, not judged",
    "events.client-failures": "a few harmless client failures are counted",
    "subscriptions.inventory": "the default SCM subscription is inventoried",
    "security.subscriptions": "the default SCM subscription is allow-listed: named, not judged",
}


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_healthy_host_is_not_a_problem(check_id, healthy_findings):
    finding = healthy_findings[check_id]
    expected = "info" if check_id in HEALTHY_INFO else "pass"
    assert finding.status == expected, f"{check_id}: {finding.status} {finding.summary}"
    assert not finding.is_problem


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_sick_host_fails_the_check(check_id):
    finding = run_one(CHECKS[check_id], sick(check_id)).finding
    expected = ("info",) if check_id in INFO_ONLY or check_id == "rpc.port-range" else ("fail", "warn")
    assert finding.status in expected, f"{check_id}: {finding.status} {finding.summary}"
    assert finding.summary and finding.evidence, "a reported problem names its evidence"
    if finding.status in ("fail", "warn"):
        assert finding.causes and finding.fixes
        assert all(e.source for e in finding.evidence)


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_missing_section_is_skipped_with_reason(check_id):
    spec = CHECKS[check_id]
    ev = sick(check_id)
    needed = spec.needs or spec.needs_any or ("namespaces", "events")
    for name in needed:
        section = ev.sections()[name]
        section.status, section.reason = NOT_COLLECTED, "the collector had no rights to read it"
    finding = run_one(spec, ev).finding
    assert finding.status == "skipped"
    assert finding.summary, "a skipped check says why"


def test_sick_checks_stay_local():
    """Making one thing sick does not make unrelated checks report problems."""
    ev = sick("dcom.enabled")
    problems = {f.check for f in by_check(ev).values() if f.is_problem}
    assert problems == {"dcom.enabled"}


def test_findings_are_well_formed():
    for finding in by_check(worst()).values():
        assert finding.status in STATUSES and finding.severity in SEVERITIES
        for fix in finding.fixes:
            assert fix.risk in RISKS and fix.step
            if fix.command:
                assert fix.undo, f"{finding.check}: a fix with a command says how to undo it"
        for code in finding.codes:
            assert re.fullmatch(r"0x[0-9A-F]{8}", code), code


def _all_fixes():
    for ev in [healthy(), worst(), *(sick(c) for c in SICK)]:
        for finding in by_check(ev).values():
            for fix in finding.fixes:
                yield finding.check, fix


GRANT_TO_ALL = re.compile(
    r"\b(grant|give|add|allow)\b[^.;]*\b(everyone|anonymous)\b|S-1-1-0|S-1-5-7\b|;;;(WD|AN)\)", re.IGNORECASE
)


def test_no_fix_grants_everyone_or_anonymous():
    offenders = [
        (check, fix.step, fix.command)
        for check, fix in _all_fixes()
        if GRANT_TO_ALL.search(f"{fix.step} {fix.command}")
    ]
    assert not offenders


def test_repository_is_never_reset_before_verify_backup_and_salvage():
    seen = 0
    for ev in (worst(), *(sick(c) for c in SICK)):
        for check, finding in by_check(ev).items():
            _assert_ladder(check, finding.fixes)
            seen += any("resetrepository" in f.command for f in finding.fixes)
    assert seen, "the ladder is exercised by at least one sick host"


def _assert_ladder(check, fix_list):
    commands = [f.command.lower() for f in fix_list]
    for i, command in enumerate(commands):
        if "resetrepository" in command or re.search(r"\b(rd|rmdir|del|remove-item)\b.*repository", command):
            earlier = " ".join(commands[:i])
            assert "/verifyrepository" in earlier and "/backup" in earlier and "/salvagerepository" in earlier, check
            assert fix_list[i].risk == "high"


def test_a_crashing_check_is_skipped_not_passed(monkeypatch):
    spec = CHECKS["dcom.enabled"]

    def boom(ev, v):
        raise RuntimeError("bug")

    monkeypatch.delenv("WMIDOCTOR_DEBUG", raising=False)
    monkeypatch.setitem(
        CHECKS, spec.id, spec.__class__(spec.id, spec.title, spec.group, spec.severity, spec.needs, boom)
    )
    finding = run_one(CHECKS[spec.id], healthy()).finding
    assert finding.status == "skipped" and "RuntimeError" in finding.summary


def test_dcom_diff_names_removed_and_added_aces():
    ev = sick("dcom.machine-launch-restriction")
    finding = by_check(ev)["dcom.machine-launch-restriction"]
    details = " ".join(e.detail for e in finding.evidence)
    assert "REMOVED default ACE: BUILTIN\\Administrators (S-1-5-32-544)" in details
    assert "0x80070005" in finding.codes


def test_joining_distributed_com_users_is_offered_only_while_that_group_keeps_remote_rights():
    keeps = by_check(sick("dcom.machine-launch-restriction"))["dcom.machine-launch-restriction"]
    assert any("Add-LocalGroupMember -SID S-1-5-32-562" in f.command for f in keeps.fixes)
    example = Path(__file__).resolve().parents[2] / "examples" / "bundles" / "dcom-remote-launch-denied"
    lost = by_check(load(str(example)))["dcom.machine-launch-restriction"]
    assert lost.status == "fail"
    assert not any("S-1-5-32-562" in f.command for f in lost.fixes)
    assert any(f.command == "dcomcnfg" for f in lost.fixes)


def test_quota_kill_names_provider_and_process():
    finding = by_check(sick("quotas.host-kills"))["quotas.host-kills"]
    detail = finding.evidence[0].detail
    assert "PID 3124" in detail and "cimwin32.dll" in detail and "PrivatePageCount" in detail


def test_an_orphaned_binding_is_removed_by_its_filter_and_consumer_names_not_by_a_name_it_lacks():
    finding = by_check(sick("subscriptions.orphans"))["subscriptions.orphans"]
    (removal,) = [f for f in finding.fixes if "Remove-CimInstance" in f.command]
    assert "-ClassName __FilterToConsumerBinding" in removal.command
    assert "$_.Filter.Name -eq" in removal.command and "$_.Consumer.Name -eq" in removal.command
    assert "Where-Object Name" not in removal.command
