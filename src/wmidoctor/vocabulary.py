"""The words every layer shares, as types: a finding's status and severity, a fix's risk, how far a section of
evidence or an artifact was read, how a remote stage ended; and the one `Fix`.

They are `Literal` types, so mypy rejects a misspelt value wherever one is written, the evidence codec refuses
a saved document that carries a word outside them, and they stay plain strings in JSON and in reports. The
tuples list the same words in their order of meaning, for code that counts, ranks or validates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Status = Literal["fail", "warn", "pass", "skipped", "info"]
Severity = Literal["critical", "error", "warning", "info"]  # most severe first
Risk = Literal["none", "low", "high"]
SectionStatus = Literal["collected", "partial", "not_collected"]
ArtifactState = Literal["present", "parsed", "damaged", "missing", "skipped"]
StageStatus = Literal["ok", "failed", "skipped", "not_reached"]

STATUSES: tuple[Status, ...] = get_args(Status)
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
RISKS: tuple[Risk, ...] = get_args(Risk)


@dataclass(frozen=True)
class Fix:
    """One step of a remedy, least invasive first in any list of them: what to do, what to type (may be
    empty), how much it can break, and how to take it back (empty when there is nothing to undo)."""

    step: str
    command: str = ""
    risk: Risk = "none"
    undo: str = ""
