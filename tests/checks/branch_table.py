"""The row of a branch table: one change to the healthy host, and the finding a check must give for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from diagnose_factories import healthy

from snapshots import judged
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import exit_code


@dataclass(frozen=True)
class Row:
    name: str
    check: str
    mutate: Callable[[Evidence], object]
    status: str
    severity: str
    code: int  # the exit code the finding alone gives
    says: str = ""  # a phrase the summary must hold

    @property
    def id(self) -> str:
        return f"{self.check}: {self.name}"


def assert_row(row: Row) -> None:
    """Status, severity and exit code as the row says; the whole finding pinned (snapshots.judged)."""
    ev = healthy()
    row.mutate(ev)
    finding = judged(row.check, ev)
    assert (finding.status, finding.severity) == (row.status, row.severity), finding.summary
    assert exit_code([finding]) == row.code
    assert row.says in finding.summary, finding.summary
