"""The check registry: each check is a function registered with what it is and what evidence it reads.

A check receives the Evidence and a `Verdict` bound to its registration, and returns one Finding
made by that verdict (`ok`, `warn`, `fail`, `info` or `skip`). The runner, not the check, turns a
needed section that was not collected into `skipped` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import SEVERITIES, EvidenceRef, Finding, Fix
from wmidoctor.vocabulary import Severity, Status


@dataclass(frozen=True)
class CheckSpec:
    id: str  # "dcom.machine-launch-restriction"
    title: str
    group: str  # "dcom"
    severity: Severity  # the severity of a failure of this check
    needs: tuple[str, ...]  # Evidence sections the check cannot run without
    func: Callable[[Evidence, Verdict], Finding]
    needs_any: tuple[str, ...] = ()  # Evidence sections of which at least one must be collected


CHECKS: dict[str, CheckSpec] = {}


def register_check(
    func: Callable[[Evidence, Verdict], Finding],
    check_id: str,
    title: str,
    *,
    severity: Severity,
    needs: Iterable[str],
    needs_any: Iterable[str] = (),
) -> None:
    """Register a check; its group is the part of the id before the first dot.

    A call after the function rather than a decorator: the mutation tool (`./run mutate`) leaves decorated
    functions alone, and the checks are the code whose every branch a test must pin."""
    if severity not in SEVERITIES:
        raise ValueError(f"{check_id}: unknown severity {severity!r}")
    if check_id in CHECKS:
        raise ValueError(f"check {check_id} registered twice")
    CHECKS[check_id] = CheckSpec(
        check_id, title, check_id.split(".", 1)[0], severity, tuple(needs), func, tuple(needs_any)
    )


def ref(source: str, detail: str = "") -> EvidenceRef:
    return EvidenceRef(source=source or "(no locator)", detail=detail)


class Verdict:
    """Makes the one Finding a check returns, filled with the check's id, title and severity."""

    def __init__(self, spec: CheckSpec) -> None:
        self.spec = spec

    def _finding(
        self,
        status: Status,
        severity: Severity,
        summary: str,
        evidence: Iterable[EvidenceRef] = (),
        causes: Iterable[str] = (),
        fixes: Iterable[Fix] = (),
        codes: Iterable[str] = (),
        references: Iterable[str] = (),
        items: Iterable[dict] = (),
    ) -> Finding:
        return Finding(
            check=self.spec.id,
            status=status,
            severity=severity,
            title=self.spec.title,
            summary=summary,
            evidence=list(evidence),
            causes=list(causes),
            fixes=list(fixes),
            codes=list(dict.fromkeys(codes)),
            references=list(references),
            items=list(items),
        )

    def ok(self, summary: str, evidence: Iterable[EvidenceRef] = (), **details) -> Finding:
        return self._finding("pass", self.spec.severity, summary, evidence, **details)

    def fail(
        self, summary: str, evidence: Iterable[EvidenceRef] = (), *, severity: Severity | None = None, **details
    ) -> Finding:
        return self._finding("fail", severity or self.spec.severity, summary, evidence, **details)

    def warn(
        self, summary: str, evidence: Iterable[EvidenceRef] = (), *, severity: Severity = "warning", **details
    ) -> Finding:
        return self._finding("warn", severity, summary, evidence, **details)

    def info(self, summary: str, evidence: Iterable[EvidenceRef] = (), **details) -> Finding:
        return self._finding("info", "info", summary, evidence, **details)

    def skip(self, reason: str) -> Finding:
        return self._finding("skipped", "info", reason)
