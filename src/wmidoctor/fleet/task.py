"""The work of one fleet entry: load its evidence and run the same checks `diagnose` runs. Runs in a worker
process (local pool or Dask), so it imports what it needs itself and never raises: a failure is the entry's
`error`, so one bad collection cannot stop a fleet."""

from __future__ import annotations

import time
from pathlib import Path

from wmidoctor.fleet.model import HostDiagnosis, HostFinding, HostTask


def diagnose_host(task: HostTask, quick: bool = False) -> HostDiagnosis:
    from wmidoctor.checks import run_checks
    from wmidoctor.errors import InputError
    from wmidoctor.sources.bundle import load

    result = HostDiagnosis(source=task.source, site=task.site, host=task.label)
    start = time.perf_counter()
    try:
        evidence = load(Path(task.source), quick=quick)
    except (InputError, OSError, ValueError) as exc:
        result.error = " ".join(str(exc).split())[:500] or type(exc).__name__
        return result
    except Exception as exc:  # a bug in a reader: that entry's error, never the fleet's
        result.error = f"internal error: {type(exc).__name__}: {exc}"[:500]
        return result
    loaded = time.perf_counter()
    identity = evidence.identity
    result.host = identity.host or task.label or Path(task.source).name
    result.domain, result.os_build, result.os_caption = identity.domain, identity.os_build, identity.os_caption
    result.collected = [name for name, section in evidence.sections().items() if section.collected]
    result.findings = [
        HostFinding(f.check, f.severity, f.status, list(f.codes), f.fixes[0].step if f.fixes else "")
        for f in (run.finding for run in run_checks(evidence))
        if f.is_problem
    ]
    result.load_ms = round((loaded - start) * 1000, 2)
    result.checks_ms = round((time.perf_counter() - loaded) * 1000, 2)
    return result
