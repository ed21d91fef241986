"""The report of one diagnosis: findings plus what a reader needs to trust them (tool, evidence, timings)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from wmidoctor.evidence.codec import to_data
from wmidoctor.findings import SEVERITIES, STATUSES, Finding, exit_code

REPORT_SCHEMA = "wmidoctor.report/1"


@dataclass
class CodeCount:
    """How often one error code was seen (WMIDiag's per-HRESULT tally), with the explain catalogue's words."""

    code: str  # "0x80041003"
    count: int
    symbol: str = ""
    meaning: str = ""
    seen_in: str = ""  # where it was counted: "WMI-Activity 5858", "probe", ...


@dataclass
class CheckTiming:
    check: str
    ms: float


@dataclass
class Report:
    tool_version: str
    generated_at: str  # ISO 8601 UTC
    target: str  # the host diagnosed
    source: str  # what was read: bundle path, evidence file, "live"
    findings: list[Finding]
    evidence: list[dict] = field(default_factory=list)  # section, status, reason, sources, problems
    code_tally: list[CodeCount] = field(default_factory=list)
    timings: list[CheckTiming] = field(default_factory=list)
    total_ms: float = 0.0
    quick: bool = False
    schema: str = REPORT_SCHEMA

    @property
    def counts(self) -> dict[str, int]:
        tally = Counter(f.status for f in self.findings)
        return {status: tally.get(status, 0) for status in STATUSES}

    @property
    def problems(self) -> list[Finding]:
        rank = {severity: i for i, severity in enumerate(SEVERITIES)}  # most severe first
        return sorted((f for f in self.findings if f.is_problem), key=lambda f: rank.get(f.severity, len(rank)))

    @property
    def exit_code(self) -> int:
        return exit_code(self.findings)

    @property
    def verdict(self) -> str:
        problems, counts = self.problems, self.counts
        judged = len(self.findings) - counts["skipped"]
        if not judged:
            return "nothing could be checked: the evidence holds none of the sections the checks need"
        if not problems:
            skipped = f", {counts['skipped']} skipped for lack of evidence" if counts["skipped"] else ""
            return f"no problems found ({judged} checks judged{skipped})"
        by_severity = Counter(f.severity for f in problems)
        parts = [f"{n} {sev}" for sev in ("critical", "error", "warning") if (n := by_severity.get(sev))]
        return f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found ({', '.join(parts)})"

    @property
    def not_collected(self) -> list[dict]:
        return [s for s in self.evidence if s.get("status") != "collected"]

    def to_data(self) -> dict:
        return {"schema": self.schema, "tool_version": self.tool_version, "generated_at": self.generated_at,
                "target": self.target, "source": self.source, "quick": self.quick, "verdict": self.verdict,
                "exit_code": self.exit_code, "counts": self.counts, "evidence": to_data(self.evidence),
                "code_tally": to_data(self.code_tally), "timings": to_data(self.timings),
                "total_ms": round(self.total_ms, 3), "findings": [f.to_data() for f in self.findings]}

