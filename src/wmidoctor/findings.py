"""Findings: the product's data. Checks produce them; renderers read them and know nothing of WMI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wmidoctor.evidence.codec import from_data, to_data
from wmidoctor.vocabulary import SEVERITIES, STATUSES, Fix, Severity, Status

__all__ = ["SEVERITIES", "STATUSES", "EvidenceRef", "Finding", "Fix", "exit_code"]


@dataclass
class EvidenceRef:
    source: str  # the locator the fact came from
    detail: str = ""


@dataclass
class Finding:
    check: str  # "dcom.machine-launch-restriction"
    status: Status
    severity: Severity
    title: str
    summary: str = ""
    evidence: list[EvidenceRef] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)  # most likely first
    fixes: list[Fix] = field(default_factory=list)  # least invasive first
    codes: list[str] = field(default_factory=list)  # "0x80070005"
    references: list[str] = field(default_factory=list)  # "desktop-src/WmiSdk/....md"
    # what the finding is about, one machine-readable record each (security findings: each subscription chain
    # or WMI-started process with its verdict, ATT&CK technique ids and indicators)
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_problem(self) -> bool:
        """A problem at warning level or above: what makes a verb exit 1."""
        return self.status in ("fail", "warn") and self.severity in ("critical", "error", "warning")

    def to_data(self) -> dict:
        return to_data(self)

    @classmethod
    def from_data(cls, data: dict) -> Finding:
        return from_data(cls, data)


def exit_code(findings: list[Finding]) -> int:
    """0 when nothing is at warning or above, 1 when problems were found (2 is for usage errors)."""
    return 1 if any(f.is_problem for f in findings) else 0
