"""Expected verdicts (../shared/verdicts) for WMI persistence on real attacked and clean evidence, from each kind
of evidence alone: the repository, the logs, and --quick."""

from __future__ import annotations

import pytest
from security_bundles import (
    APTSIM_LOGS,
    APTSIM_REPOSITORY,
    SYSMON_CLEAN,
    SYSMON_LOG,
    SYSMON_SUBSCRIPTION,
    diagnose,
    ordered_checks,
)

from wmidoctor.findings import Finding

SECURITY = ("security.subscriptions", "security.wmi-execution", "security.wmic-xsl")


def chains(finding: Finding) -> dict[str, dict]:
    return {item["consumer"]: item for item in finding.items if item["kind"] == "wmi-subscription"}


def assert_killprocess_is_an_error(finding: Finding) -> dict:
    assert finding.status == "fail" and finding.severity == "error", finding.summary
    found = chains(finding)
    kill = found["KillProcess"]
    assert kill["severity"] == "error" and kill["consumer_class"] == "ActiveScriptEventConsumer"
    assert kill["filter"] == "ProcessStartTrigger" and "procexp64.exe" in kill["query"]
    assert "T1546.003" in kill["attack"] and kill["indicators"]["files"] == ["procexp64.exe"]
    assert kill["creator"] == "S-1-5-21-2212929841-2730996645-2649195864-1000"
    # the script in full, to its last statement (it was once cut at 300 characters)
    assert "oProcess.Terminate()" in kill["payload"] and kill["payload"].rstrip().endswith("Next")
    assert any("oProcess.Terminate()" in e.detail for e in finding.evidence)
    # the Windows default is listed, at info
    scm = found["SCM Event Log Consumer"]
    assert scm["severity"] == "info" and scm["allow_listed"]
    assert len([c for c in found if c == "KillProcess"]) == 1
    return kill


def test_aptsimulator_repository_alone(bundle_of):
    bundle = bundle_of("repo", repository=APTSIM_REPOSITORY)
    kill = assert_killprocess_is_an_error(diagnose(bundle)["security.subscriptions"])
    assert kill["state"] == "present" and [s["source"] for s in kill["seen"]] == ["repository"] * 3
    assert ordered_checks(bundle)[0] == "security.subscriptions"  # listed first


def test_aptsimulator_logs_alone(bundle_of):
    bundle = bundle_of("logs", logs={"": APTSIM_LOGS})
    findings = diagnose(bundle)
    kill = assert_killprocess_is_an_error(findings["security.subscriptions"])
    assert {s["source"] for s in kill["seen"]} == {"WMI-Activity 5861", "WMI-Activity 5859"}
    assert kill["seen"][0]["time"].startswith("2022-03-10T21:08:30")
    # the 5860 temporary subscriptions (Security Center, a monitor) are not chains
    assert set(chains(findings["security.subscriptions"])) == {"KillProcess", "SCM Event Log Consumer"}
    assert findings["security.wmi-execution"].status == "pass"
    assert ordered_checks(bundle)[0] == "security.subscriptions"


@pytest.mark.parametrize("quick", [False, True])
def test_aptsimulator_logs_and_repository(bundle_of, quick):
    bundle = bundle_of("both", logs={"": APTSIM_LOGS}, repository=APTSIM_REPOSITORY)
    finding = diagnose(bundle, quick=quick)["security.subscriptions"]
    kill = assert_killprocess_is_an_error(finding)
    assert {"repository", "WMI-Activity 5861"} <= {s["source"] for s in kill["seen"]}
    assert "evidence read:" in finding.evidence[0].detail and "repository" in finding.evidence[0].detail


def test_removal_covers_every_part_of_every_alarming_chain(bundle_of):
    finding = diagnose(bundle_of("repo", repository=APTSIM_REPOSITORY))["security.subscriptions"]
    export = next(f for f in finding.fixes if "Export-Clixml" in f.command)
    remove = next(f for f in finding.fixes if "Remove-CimInstance" in f.command)
    for part in ("__EventFilter", "ActiveScriptEventConsumer", "__FilterToConsumerBinding"):
        assert part in export.command and part in remove.command
    assert "KillProcess" in remove.command and "ProcessStartTrigger" in remove.command
    assert "New-CimInstance" in remove.undo and "Import-Clixml" in remove.undo
    assert finding.fixes.index(export) < finding.fixes.index(remove)
    assert "SCM Event Log" not in " ".join(f.command for f in finding.fixes)  # the default is left alone


def test_sysmon_subscription_created_fired_and_removed(bundle_of):
    findings = diagnose(bundle_of("sysmon", logs={SYSMON_LOG: SYSMON_SUBSCRIPTION}))
    finding = findings["security.subscriptions"]
    assert finding.status == "fail" and finding.severity == "error"
    bot = chains(finding)["BotConsumer23"]
    assert bot["severity"] == "error" and bot["filter"] == "BotFilter82"
    assert bot["consumer_class"] == "CommandLineEventConsumer"
    # Sysmon's MOF quoting is gone: no quotes, no doubled backslashes, no leading space
    assert bot["payload"] == "c:\\Windows\\System32\\cmd.exe" and bot["event_namespace"] == "root\\cimv2"
    assert bot["query"].startswith("SELECT * FROM __InstanceModificationEvent WITHIN 10")
    assert bot["creator"] == "IEWIN7\\IEUser"
    # history, not presence: created, then deleted 5 s after it ran
    assert bot["state"] == "removed"
    operations = {(s["source"], s["operation"]) for s in bot["seen"]}
    assert {
        ("Sysmon 19", "created"),
        ("Sysmon 20", "created"),
        ("Sysmon 21", "created"),
        ("Sysmon 19", "deleted"),
        ("Sysmon 20", "deleted"),
        ("Sysmon 21", "deleted"),
    } <= operations
    assert not any("Remove-CimInstance" in f.command for f in finding.fixes)
    # it ran: WmiPrvSE.exe started cmd.exe as SYSTEM
    (run,) = bot["runs"]
    assert run["image"].lower().endswith("cmd.exe") and run["user"] == "NT AUTHORITY\\SYSTEM"
    execution = findings["security.wmi-execution"]
    assert execution.status == "fail" and execution.severity == "error"
    (started,) = execution.items
    assert started["parent"].lower().endswith("wmiprvse.exe") and started["consumer"] == "BotConsumer23"


def test_sysmon_subscription_with_quick(bundle_of):
    finding = diagnose(bundle_of("sysmon", logs={SYSMON_LOG: SYSMON_SUBSCRIPTION}), quick=True)[
        "security.subscriptions"
    ]
    assert finding.severity == "error" and "BotConsumer23" in chains(finding)


CLEAN_LOGS = [
    "evtx/hosts/fukusuket-win10",
    "evtx/hosts/dfirmuseum-win10-rathbunvm",
    "evtx/hosts/dfirmuseum-server2012r2-stolenszechuan",
    "evtx/hosts/artemis-win10",
]


@pytest.mark.parametrize("logs", CLEAN_LOGS)
def test_clean_hosts_get_no_security_finding_above_info(bundle_of, logs):
    findings = diagnose(bundle_of("clean", logs={"": logs}))
    for check in SECURITY:
        assert not findings[check].is_problem, (check, findings[check].summary)


CLEAN_SINGLE_LOGS = [
    (SYSMON_LOG, SYSMON_CLEAN),
    ("Security.evtx", "evtx/omerbenamram-evtx__security.evtx"),
    ("Security.evtx", "evtx/omerbenamram-evtx__security_bad_string_cache.evtx"),
]


@pytest.mark.parametrize("single", CLEAN_SINGLE_LOGS)
def test_clean_single_logs_get_no_security_finding_above_info(bundle_of, single):
    name, relative = single
    findings = diagnose(bundle_of("clean", logs={name: relative}))
    for check in SECURITY:
        assert not findings[check].is_problem, (check, findings[check].summary)


@pytest.mark.parametrize("repository", ["repository/win10-dissect-cim", "repository/xp-libyal-dtformats"])
def test_clean_repositories_hold_only_allow_listed_defaults(bundle_of, repository):
    for quick in (False, True):
        finding = diagnose(bundle_of(f"clean-{quick}", repository=repository), quick=quick)["security.subscriptions"]
        assert finding.status == "info" and not finding.is_problem, finding.summary
        assert finding.items and all(item["allow_listed"] for item in finding.items)
