"""What one fleet entry is, and what its diagnosis keeps: small, picklable records sent to and from workers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class HostTask:
    """One entry of a fleet: the evidence of one host (a bundle folder, a .zip, a mounted volume or saved
    evidence), the site it belongs to, and a label for reports when its evidence does not name the host."""

    source: str
    site: str = ""
    label: str = ""


@dataclass
class HostFinding:
    check: str
    severity: str
    status: str
    codes: list[str] = field(default_factory=list)
    fix: str = ""  # the first (least invasive) fix step: what hosts with the same cause share


@dataclass
class HostDiagnosis:
    source: str
    site: str = ""
    host: str = ""
    domain: str = ""
    os_build: str = ""
    os_caption: str = ""
    collected: list[str] = field(default_factory=list)  # evidence sections collected (in part or whole)
    findings: list[HostFinding] = field(default_factory=list)  # problems only (warning or above)
    load_ms: float = 0.0
    checks_ms: float = 0.0
    error: str = ""  # one line when the evidence could not be read; the host then has no findings
