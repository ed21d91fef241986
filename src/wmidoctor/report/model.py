"""The report of one diagnosis: findings plus what a reader needs to trust them (tool, evidence, timings)."""

from __future__ import annotations

import re
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
class HostFacts:
    """Who was diagnosed, as far as the evidence says (empty fields: not known)."""

    name: str = ""
    domain: str = ""
    os: str = ""  # "Windows 10 Pro"
    build: str = ""
    edition: str = ""  # client | server
    edition_source: str = ""  # how the edition is known
    name_source: str = ""  # where the name was read
    layout: str = ""  # the evidence layout: "Windows volume", "KAPE collection (C)", ...
    events_from: str = ""  # the first and last event record read (UTC), when event logs were read
    events_until: str = ""

    @property
    def line(self) -> str:
        """One line for a report header."""
        parts = [self.name or "host name not known"]
        if self.domain:
            parts.append(f"domain {self.domain}")
        if self.os or self.build:
            parts.append(" ".join(p for p in (self.os, f"build {self.build}" if self.build else "") if p))
        parts.append(f"{self.edition} edition ({self.edition_source})" if self.edition else "edition not known")
        return ", ".join(parts)


@dataclass
class SkipGroup:
    """Checks skipped for the same missing evidence."""

    reason: str
    checks: list[str]


# The runner's wording for a check whose section was not collected; the part after it names the missing evidence.
_SECTION_SKIP = re.compile(r"^evidence section '[^']+' was not collected(?:: )?")


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
    host: HostFacts = field(default_factory=HostFacts)
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
    def notes(self) -> list[Finding]:
        """Informational findings worth reading (not problems, not passes, not skips)."""
        return [f for f in self.findings if f.status == "info" or (f.status in ("fail", "warn") and not f.is_problem)]

    @property
    def passes_by_group(self) -> dict[str, list[Finding]]:
        groups: dict[str, list[Finding]] = {}
        for f in self.findings:
            if f.status == "pass":
                groups.setdefault(f.check.split(".", 1)[0], []).append(f)
        return groups

    @property
    def skip_groups(self) -> list[SkipGroup]:
        """Skipped checks grouped by the evidence they miss, the largest group first."""
        groups: dict[str, list[str]] = {}
        for f in self.findings:
            if f.status == "skipped":
                reason = _SECTION_SKIP.sub("", f.summary).strip() or f.summary
                groups.setdefault(reason, []).append(f.check)
        return [SkipGroup(r, c) for r, c in sorted(groups.items(), key=lambda item: -len(item[1]))]

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
        return {
            "schema": self.schema,
            "tool_version": self.tool_version,
            "generated_at": self.generated_at,
            "target": self.target,
            "host": to_data(self.host),
            "source": self.source,
            "quick": self.quick,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "counts": self.counts,
            "evidence": to_data(self.evidence),
            "code_tally": to_data(self.code_tally),
            "timings": to_data(self.timings),
            "total_ms": round(self.total_ms, 3),
            "findings": [f.to_data() for f in self.findings],
        }
