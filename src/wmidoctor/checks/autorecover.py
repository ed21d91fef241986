"""The Autorecover MOFs list: what WMI recompiles after a rebuild (entries missing on disk, duplicates, files
that do not compile)."""

from __future__ import annotations

from collections import Counter

from wmidoctor.checks.events import field, winmgmt_events
from wmidoctor.checks.fixes import advice
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding, Fix

_LIST = "HKLM\\SOFTWARE\\Microsoft\\Wbem\\CIMOM!Autorecover MOFs"


def _listed(ev: Evidence) -> bool:
    return bool(ev.repository.autorecover_source or ev.repository.autorecover_mofs)


def _not_listed(ev: Evidence) -> str:
    reason = ev.repository.autorecover_reason
    return "the Autorecover MOFs list was not read" + (f" ({reason})" if reason else "")


def files(ev: Evidence, v: Verdict) -> Finding:
    if not _listed(ev):
        return v.skip(_not_listed(ev))
    mofs = ev.repository.autorecover_mofs
    missing = [m for m in mofs if m.exists is False]
    unknown = sum(1 for m in mofs if m.exists is None)
    if not missing:
        if mofs and unknown == len(mofs):
            return v.skip(f"the list has {len(mofs)} entries but the evidence does not say which files exist")
        return v.ok(
            f"All {len(mofs) - unknown} checked autorecover MOFs exist"
            + (f" ({unknown} not checked)." if unknown else "."),
            [ref(ev.repository.autorecover_source)],
        )
    evidence = [ref(m.source or ev.repository.autorecover_source, f"missing: {m.path}") for m in missing]
    if ev.events.collected:
        evidence += [
            ref(
                g.source,
                f"event 4 x{g.count}: an autorecover MOF failed to compile during a rebuild "
                f"({field(g, 'MOF', 'param2')})",
            )
            for g in winmgmt_events(ev, 4)
        ]
    return v.warn(
        f"{len(missing)} of {len(mofs)} autorecover MOFs are missing: after a repository rebuild their "
        "classes would not come back (Application event 4 at rebuild time).",
        evidence,
        causes=[
            "the product that registered the MOF was uninstalled without cleaning the list",
            "the MOF was compiled from a temporary folder that was later removed",
            "an installer rewrote the list with wrong paths",
        ],
        fixes=[
            advice(
                "Find which product owns each missing MOF; reinstall or repair that product so "
                "it puts the file back (its installer recompiles it)",
                risk="low",
            ),
            advice(
                "For a product that is gone for good, leave the entry: WMI skips a missing file "
                "at rebuild and only logs event 4; editing the list by hand risks losing entries "
                "that are still needed"
            ),
        ],
    )


register_check(
    files, "autorecover.files", "Every autorecover MOF exists on disk", severity="warning", needs=("repository",)
)


def duplicates(ev: Evidence, v: Verdict) -> Finding:
    if not _listed(ev):
        return v.skip(_not_listed(ev))
    counts = Counter(m.path.lower() for m in ev.repository.autorecover_mofs)
    repeated = {path: n for path, n in counts.items() if n > 1}
    if not repeated:
        return v.ok(f"{len(counts)} distinct entries, none repeated.", [ref(ev.repository.autorecover_source)])
    return v.info(
        f"{len(repeated)} MOFs are listed more than once; a rebuild compiles them repeatedly (slower, "
        "harmless unless the MOF deletes and recreates data).",
        [ref(ev.repository.autorecover_source or _LIST, f"{path} listed {n} times") for path, n in repeated.items()],
        causes=["installers that append to the list without checking (a known habit of some OEM management software)"],
    )


register_check(
    duplicates,
    "autorecover.duplicates",
    "The autorecover list has no duplicate entries",
    severity="info",
    needs=("repository",),
)


def _unlist_command(path: str) -> str:
    """PowerShell that removes one entry from the list after saving the key (reg import undoes both)."""
    quoted = path.replace("'", "''")
    return (
        f'reg export "{_LIST.split("!")[0]}" "$env:TEMP\\cimom-backup.reg" /y; '
        "$key = 'HKLM:\\SOFTWARE\\Microsoft\\Wbem\\CIMOM'; "
        "$list = @((Get-ItemProperty $key).'Autorecover MOFs' | Where-Object { $_ -ne '" + quoted + "' }); "
        "Set-ItemProperty $key -Name 'Autorecover MOFs' -Value $list -Type MultiString"
    )


def parse(ev: Evidence, v: Verdict) -> Finding:
    if not _listed(ev):
        return v.skip(_not_listed(ev))
    mofs = ev.repository.autorecover_mofs
    read = [m for m in mofs if m.parsed is not None]
    if not read:
        why = sorted({m.problems[0] for m in mofs if m.problems})
        return v.skip(
            f"none of the {len(mofs)} listed MOFs was parsed: "
            + (
                "; ".join(why)
                if why
                else "the bundle holds none of the files (a collector bundle copies "
                "those outside System32\\wbem; a mounted volume holds them all)"
            )
        )
    broken = [m for m in read if m.parsed is False]
    unread = len(mofs) - len(read)
    pragma = sum(1 for m in read if m.autorecover_pragma)
    if not broken:
        return v.ok(
            f"All {len(read)} autorecover MOFs read compile ({pragma} carry #pragma autorecover"
            + (f"; {unread} not in the bundle or not parsed)." if unread else ")."),
            [ref(m.copy or m.source, m.path) for m in read[:5]],
        )
    first = broken[0].path
    return v.warn(
        f"{len(broken)} autorecover MOFs do not compile: when WMI rebuilds the repository it stops "
        "compiling each of them at the error, so the classes and registrations they hold do not come "
        "back (Application event 4 at rebuild time).",
        [
            ref(m.source or ev.repository.autorecover_source, f"{m.path}: {'; '.join(m.problems) or '?'}")
            for m in broken
        ],
        causes=[
            "the file was edited by hand or damaged on disk after it was compiled",
            "the product shipped a MOF that only its own preprocessor step made valid",
            "a newer version of the product replaced the file with one for another Windows version",
        ],
        fixes=[
            advice(
                "On the host, confirm the error with the WMI compiler's syntax check (it changes nothing)",
                command=f'mofcomp -check "{first}"',
            ),
            advice(
                "Repair or reinstall the product that owns the file so it puts back a valid MOF, then check it again",
                risk="low",
            ),
            Fix(
                step="If the product is gone for good, take the entry out of the list, after saving "
                "the CIMOM key (the command does both)",
                command=_unlist_command(first),
                risk="low",
                undo='reg import "$env:TEMP\\cimom-backup.reg"',
            ),
        ],
    )


register_check(
    parse,
    "autorecover.parse",
    "Every autorecover MOF in the bundle compiles",
    severity="warning",
    needs=("repository",),
)
