"""The CIM repository: integrity verdict, size, and traces of past corruption, rebuilds and restores."""

from __future__ import annotations

from wmidoctor.checks.events import winmgmt_events
from wmidoctor.checks.fixes import advice, repository_ladder
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding, Fix
from wmidoctor.knowledge.defaults import OBJECTS_DATA_ERROR, OBJECTS_DATA_WARN, REPOSITORY_HISTORY_EVENTS

_MB = 1024 * 1024


def integrity(ev: Evidence, v: Verdict) -> Finding:
    checks = ev.repository.verifications
    if not checks:
        return v.skip(
            "no verification result in the evidence (neither `winmgmt /verifyrepository` output nor "
            "a repository copy the offline reader could verify)"
        )
    evidence = [ref(c.source, f"{c.method}: {c.verdict}" + (f" - {c.detail}" if c.detail else "")) for c in checks]
    evidence += [ref(c.source, problem) for c in checks for problem in c.problems[:10]]
    if any(c.verdict == "inconsistent" for c in checks):
        return v.fail(
            "The repository is inconsistent: classes, instances or namespaces may be missing or "
            "unreadable, which surfaces as 'invalid class', 'not found' or provider failures.",
            evidence,
            causes=[
                "an unclean shutdown or power loss while WMI was writing (look for event 5611)",
                "disk errors or a full disk during a repository write",
                "a third-party tool or script that deleted or replaced repository files",
            ],
            fixes=repository_ladder(),
            codes=["0x8007054E"],
        )
    if all(c.verdict == "consistent" for c in checks):
        return v.ok("The repository verified consistent.", evidence)
    return v.skip("the verification did not reach a verdict: " + "; ".join(c.detail or c.method for c in checks))


register_check(
    integrity, "repository.integrity", "The WMI repository is consistent", severity="critical", needs=("repository",)
)


def size(ev: Evidence, v: Verdict) -> Finding:
    objects = next((f for f in ev.repository.files if f.name.upper() == "OBJECTS.DATA"), None)
    if objects is None:
        return v.skip("the repository file listing does not include OBJECTS.DATA")
    source = ev.repository.directory.source if ev.repository.directory else (ev.repository.sources or [""])[0]
    evidence = [ref(source, f"OBJECTS.DATA {objects.size / _MB:.1f} MB")]
    if objects.size < OBJECTS_DATA_WARN:
        return v.ok(f"OBJECTS.DATA is {objects.size / _MB:.0f} MB.", evidence)
    causes = [
        "Resultant Set of Policy (RSoP) logging writing per-user policy data into the repository",
        "Configuration Manager inventory or software metering data kept as static instances",
        "an application storing its own data as static WMI instances",
    ]
    fixes = [
        Fix(
            step="Stop the growth first where acceptable: turn off RSoP logging (Group Policy: Computer "
            "Configuration > Administrative Templates > System > Group Policy > Turn off Resultant Set of "
            "Policy logging), then find which namespace holds the bulk",
            command='reg add "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\System" /v RSoPLogging /t '
            "REG_DWORD /d 0 /f",
            risk="low",
            undo='reg delete "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\System" /v RSoPLogging /f',
        ),
        *repository_ladder(),
    ]
    if objects.size >= OBJECTS_DATA_ERROR:
        return v.fail(
            f"OBJECTS.DATA is {objects.size / _MB:.0f} MB (over 1 GB): expect slow boot, slow logon and "
            "slow WMI queries.",
            evidence,
            causes=causes,
            fixes=fixes,
        )
    return v.warn(
        f"OBJECTS.DATA is {objects.size / _MB:.0f} MB (500 MB-1 GB): the repository is growing "
        "beyond what a typical host needs.",
        evidence,
        causes=causes,
        fixes=fixes,
    )


register_check(
    size,
    "repository.size",
    "The repository is not bloated (OBJECTS.DATA under 500 MB)",
    severity="error",
    needs=("repository",),
)


def history(ev: Evidence, v: Verdict) -> Finding:
    evidence = []
    if ev.repository.corrupted_rec:
        evidence.append(ref((ev.repository.sources or [""])[0], "Corrupted.rec is present in the repository folder"))
    if ev.events.collected:
        for group in winmgmt_events(ev, *REPOSITORY_HISTORY_EVENTS):
            evidence.append(
                ref(
                    group.source,
                    f"event {group.event_id} x{group.count} ({group.first_seen} .. "
                    f"{group.last_seen}): {REPOSITORY_HISTORY_EVENTS[group.event_id]}",
                )
            )
    if not evidence:
        if ev.repository.corrupted_rec is None and not ev.events.collected:
            return v.skip("neither the repository folder listing (Corrupted.rec) nor the Application log was read")
        scope = "no Corrupted.rec" + (" and no repository rebuild events" if ev.events.collected else "")
        return v.ok(f"No trace of a past repository problem ({scope}).")
    return v.warn(
        "The repository was damaged, rebuilt or restored in the past. A rebuild keeps only what the "
        "autorecover MOFs define: classes from other MOFs, static data and subscriptions may be gone.",
        evidence,
        causes=[
            "a real corruption (unclean shutdown, disk problem) that WMI repaired by itself",
            "an automated remediation resetting WMI on a schedule (for example Configuration "
            "Manager client health, CcmEval), which hides the real fault",
            "someone ran winmgmt /resetrepository or deleted the folder",
        ],
        fixes=[
            advice("Verify the current state before anything else", command="winmgmt /verifyrepository"),
            Fix(
                step="Recompile the MOF of any product whose classes went missing after the rebuild "
                "(its installer folder holds it)",
                command='mofcomp "<path to product .mof>"',
                risk="low",
                undo="nothing simple: a recompiled class stays; restore a backup if needed",
            ),
        ],
    )


register_check(
    history,
    "repository.history",
    "No sign of past repository corruption, rebuild or restore",
    severity="warning",
    needs=("repository",),
)
