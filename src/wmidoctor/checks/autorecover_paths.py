"""Where the autorecover MOFs live: entries WMI cannot compile at rebuild time (network, temporary, per-user or
relative paths), and how many come from outside the WMI folder."""

from __future__ import annotations

import re

from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import AutorecoverMof, Evidence
from wmidoctor.findings import Finding, Fix

_WBEM = re.compile(r"^(%windir%|%systemroot%|[a-z]:\\windows)\\(system32|syswow64)\\wbem\\", re.IGNORECASE)
_FRAGILE = (
    (re.compile(r"^\\\\"), "a network path (autorecover MOFs must be local)"),
    (re.compile(r"\\temp\\|%temp%|%tmp%|\\tmp\\", re.IGNORECASE), "a temporary folder that cleanup empties"),
    (
        re.compile(r"\\users\\(?!public\\)[^\\]+\\|%userprofile%|%appdata%|%localappdata%", re.IGNORECASE),
        "a user profile, which may be deleted or unreadable when WMI rebuilds",
    ),
    (re.compile(r"^(?![a-z]:\\|\\\\|%)", re.IGNORECASE), "a relative path, resolved against no known folder"),
)


def _fragility(mof: AutorecoverMof) -> str:
    path = mof.path.strip().strip('"')
    return next((why for pattern, why in _FRAGILE if pattern.search(path)), "")


def locations(ev: Evidence, v: Verdict) -> Finding:
    mofs = ev.repository.autorecover_mofs
    if not (ev.repository.autorecover_source or mofs):
        return v.skip("the Autorecover MOFs list was not read")
    where = ev.repository.autorecover_source
    fragile = [(m, why) for m in mofs if (why := _fragility(m))]
    outside = [m for m in mofs if not _WBEM.match(m.path.strip().strip('"'))]
    if fragile:
        evidence = [ref(m.source or where, f"{m.path}: {why}") for m, why in fragile]
        return v.warn(
            f"{len(fragile)} autorecover MOFs sit in places WMI may not reach when it rebuilds the "
            "repository: the classes they define would not come back after a rebuild (event 4).",
            evidence,
            causes=[
                "an installer compiled its MOF with -autorecover from its unpacking folder",
                "a script or product registered a MOF from a share or a user's folder",
            ],
            fixes=[
                Fix(
                    step="Copy each MOF to the product's install folder (or %windir%\\System32\\wbem) and "
                    "compile it from there with -autorecover, which adds the new path to the list",
                    command='mofcomp -autorecover "<permanent folder>\\<name>.mof"',
                    risk="low",
                    undo="nothing simple: the class definitions stay; the old entry can remain",
                )
            ],
        )
    if outside:
        return v.info(
            f"{len(outside)} of {len(mofs)} autorecover MOFs come from outside the WMI folder (products "
            "that add their own classes); all sit on local, permanent paths.",
            [ref(m.source or where, m.path) for m in outside[:25]],
        )
    return v.ok(f"All {len(mofs)} autorecover MOFs sit in the WMI folder.", [ref(where)] if where else [])


register_check(
    locations,
    "autorecover.locations",
    "Autorecover MOFs sit where WMI can compile them at rebuild time",
    severity="warning",
    needs=("repository",),
)
