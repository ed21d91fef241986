"""Run the registered checks over one Evidence: skip what cannot be judged, time what runs."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from wmidoctor.checks.spec import CHECKS, CheckSpec, Verdict
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding


@dataclass
class CheckRun:
    finding: Finding
    elapsed_ms: float


# The order reports list groups in: security findings first (an incident outranks a fault), then whether the
# evidence itself can be trusted, then from the foundations (services, repository) up to the remote path.
GROUP_ORDER = (
    "security",
    "evidence",
    "services",
    "repository",
    "autorecover",
    "providers",
    "dcom",
    "namespaces",
    "firewall",
    "remote-uac",
    "rpc",
    "quotas",
    "events",
    "subscriptions",
    "connectivity",
)


def _ordered() -> list[CheckSpec]:
    rank = {group: i for i, group in enumerate(GROUP_ORDER)}
    return sorted(CHECKS.values(), key=lambda spec: rank.get(spec.group, len(rank)))


def groups() -> list[str]:
    return list(dict.fromkeys(spec.group for spec in _ordered()))


def select(only: list[str] | None = None) -> list[CheckSpec]:
    """The checks of the named groups (all when `only` is empty); unknown names raise ValueError."""
    if not only:
        return _ordered()
    known = groups()
    unknown = [g for g in only if g not in known]
    if unknown:
        raise ValueError(f"unknown check group {', '.join(unknown)} (groups: {', '.join(known)})")
    return [spec for spec in _ordered() if spec.group in only]


def missing_evidence(spec: CheckSpec, evidence: Evidence) -> str | None:
    """Why the check cannot run, or None when every section it needs was collected (at least in part)."""
    sections = evidence.sections()
    for name in spec.needs:
        section = sections[name]
        if not section.collected:
            why = section.reason if section.reason and section.reason != "not collected" else ""
            return f"evidence section '{name}' was not collected" + (f": {why}" if why else "")
    if spec.needs_any and not any(sections[name].collected for name in spec.needs_any):
        return (
            "none of the evidence sections "
            + ", ".join(f"'{n}'" for n in spec.needs_any)
            + " was collected: "
            + "; ".join(f"{n}: {sections[n].reason}" for n in spec.needs_any)
        )
    return None


def run_one(spec: CheckSpec, evidence: Evidence) -> CheckRun:
    verdict = Verdict(spec)
    start = time.perf_counter()
    reason = missing_evidence(spec, evidence)
    if reason:
        finding = verdict.skip(reason)
    else:
        try:
            finding = spec.func(evidence, verdict)
        except Exception as exc:  # a bug in one check must not hide the others, nor pass silently
            if os.environ.get("WMIDOCTOR_DEBUG"):
                raise
            finding = verdict.skip(
                f"the check itself failed ({type(exc).__name__}: {exc}); set WMIDOCTOR_DEBUG=1 for the traceback"
            )
    return CheckRun(finding, (time.perf_counter() - start) * 1000)


def run_checks(evidence: Evidence, only: list[str] | None = None) -> list[CheckRun]:
    return [run_one(spec, evidence) for spec in select(only)]
