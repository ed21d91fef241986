"""The repository's files: the set of its layout (Vista and later, or XP) is complete, none is empty, and where
the folder lives."""

from __future__ import annotations

from wmidoctor.checks.fixes import repository_ladder
from wmidoctor.checks.host import PRE_VISTA, generation
from wmidoctor.checks.spec import Verdict, ref, register_check
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding
from wmidoctor.knowledge.defaults import PRE_VISTA_REPOSITORY_FILES, REPOSITORY_CORE_FILES, REPOSITORY_DIRECTORY


def _basename(name: str) -> str:
    return name.replace("/", "\\").rsplit("\\", 1)[-1].upper()


def _is_default_directory(directory: str) -> bool:
    text = directory.lower().replace("%systemroot%", "%windir%").rstrip("\\")
    return text in (REPOSITORY_DIRECTORY.lower(), "c:\\windows\\system32\\wbem\\repository")


def files(ev: Evidence, v: Verdict) -> Finding:
    listing = ev.repository.files
    if not listing:
        return v.skip("the repository folder listing is not in the evidence")
    source = (ev.repository.sources or [""])[0]
    top = {_basename(f.name): f for f in listing if "\\" not in f.name.replace("/", "\\")} or {
        _basename(f.name): f for f in listing
    }
    era, how = generation(ev)
    expected = PRE_VISTA_REPOSITORY_FILES if era == PRE_VISTA else REPOSITORY_CORE_FILES
    evidence = [
        ref(source, f"{f.name} {f.size} bytes {f.modified}".strip()) for f in top.values() if f.name.upper() in expected
    ]
    if era == PRE_VISTA:
        evidence.append(ref(source, f"judged as a Windows XP / Server 2003 repository: {how}"))
    missing = [name for name in expected if name not in top]
    empty = [name for name in ("INDEX.BTR", "OBJECTS.DATA") if name in top and top[name].size == 0]
    directory = ev.repository.directory
    moved = False
    if directory is not None and isinstance(directory.value, str) and not _is_default_directory(directory.value):
        moved = True
        evidence.append(
            ref(directory.source, f"Repository Directory={directory.value} (default {REPOSITORY_DIRECTORY})")
        )
    if missing or empty:
        what = "; ".join(
            part
            for part in (
                f"missing: {', '.join(missing)}" if missing else "",
                f"empty: {', '.join(empty)}" if empty else "",
            )
            if part
        )
        return v.fail(
            f"The repository is incomplete ({what}): WMI cannot open it and rebuilds it at the next "
            "start from the autorecover MOFs only (event 5614), losing everything else.",
            evidence,
            causes=[
                "files deleted by hand or by a 'WMI reset' script while the service was stopped",
                "a disk or file-system error, or an antivirus quarantine of a repository file",
                "the listing was taken while WMI was replacing its files (collect again to confirm)",
            ],
            fixes=repository_ladder(),
            codes=["0x8004100A"],
        )
    if moved:
        return v.info(
            "The repository lives outside its default folder; backups, antivirus exclusions and "
            "repair scripts that assume the default path miss it.",
            evidence,
        )
    return v.ok(
        f"All {len(expected)} repository files are present"
        + (" (Windows XP / Server 2003 layout)." if era == PRE_VISTA else "."),
        evidence,
    )


register_check(
    files,
    "repository.files",
    "The repository's files are all present and not empty",
    severity="error",
    needs=("repository",),
)
