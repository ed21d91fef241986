"""The Autorecover MOFs list: what WMI recompiles after a rebuild (entries missing on disk, duplicates)."""

from __future__ import annotations

from collections import Counter

from wmidoctor.checks.events import field, winmgmt_events
from wmidoctor.checks.registry import Verdict, check, ref
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding, Fix

_LIST = "HKLM\\SOFTWARE\\Microsoft\\Wbem\\CIMOM!Autorecover MOFs"


def _listed(ev: Evidence) -> bool:
    return bool(ev.repository.autorecover_source or ev.repository.autorecover_mofs)


@check("autorecover.files", "Every autorecover MOF exists on disk", severity="warning", needs=("repository",))
def files(ev: Evidence, v: Verdict) -> Finding:
    if not _listed(ev):
        return v.skip("the Autorecover MOFs list was not read")
    mofs = ev.repository.autorecover_mofs
    missing = [m for m in mofs if m.exists is False]
    unknown = sum(1 for m in mofs if m.exists is None)
    if not missing:
        if mofs and unknown == len(mofs):
            return v.skip(f"the list has {len(mofs)} entries but the evidence does not say which files exist")
        return v.ok(f"All {len(mofs) - unknown} checked autorecover MOFs exist"
                    + (f" ({unknown} not checked)." if unknown else "."), [ref(ev.repository.autorecover_source)])
    evidence = [ref(m.source or ev.repository.autorecover_source, f"missing: {m.path}") for m in missing]
    if ev.events.collected:
        evidence += [ref(g.source, f"event 4 x{g.count}: an autorecover MOF failed to compile during a rebuild "
                                   f"({field(g, 'MOF', 'param2')})")
                     for g in winmgmt_events(ev, 4)]
    return v.warn(f"{len(missing)} of {len(mofs)} autorecover MOFs are missing: after a repository rebuild their "
                  "classes would not come back (Application event 4 at rebuild time).", evidence,
                  causes=["the product that registered the MOF was uninstalled without cleaning the list",
                          "the MOF was compiled from a temporary folder that was later removed",
                          "an installer rewrote the list with wrong paths"],
                  fixes=[Fix(step="Find which product owns each missing MOF; reinstall or repair that product so "
                                  "it puts the file back (its installer recompiles it)", command="", risk="low",
                             undo="nothing to undo"),
                         Fix(step="For a product that is gone for good, leave the entry: WMI skips a missing file "
                                  "at rebuild and only logs event 4; editing the list by hand risks losing entries "
                                  "that are still needed", command="", risk="none", undo="nothing to undo")])


@check("autorecover.duplicates", "The autorecover list has no duplicate entries", severity="info",
       needs=("repository",))
def duplicates(ev: Evidence, v: Verdict) -> Finding:
    if not _listed(ev):
        return v.skip("the Autorecover MOFs list was not read")
    counts = Counter(m.path.lower() for m in ev.repository.autorecover_mofs)
    repeated = {path: n for path, n in counts.items() if n > 1}
    if not repeated:
        return v.ok(f"{len(counts)} distinct entries, none repeated.", [ref(ev.repository.autorecover_source)])
    return v.info(f"{len(repeated)} MOFs are listed more than once; a rebuild compiles them repeatedly (slower, "
                  "harmless unless the MOF deletes and recreates data).",
                  [ref(ev.repository.autorecover_source or _LIST, f"{path} listed {n} times")
                   for path, n in repeated.items()],
                  causes=["installers that append to the list without checking (a known habit of some OEM "
                          "management software)"])
