"""How risky a permanent event subscription looks: rules that add to a score, and products allowed by name.

The facts are data: `persistence_rules.tsv` (one rule a row: which part of the chain it reads, a regular
expression, the score it adds, the ATT&CK technique, the reason and a public source) and
`persistence_allow.tsv` (subscriptions that Windows or well-known products install, each with what must
match exactly, the reason and a source). `assess` is the one judgement every verb uses.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache

from wmidoctor.knowledge import data_text

MALICIOUS = "malicious"
SUSPICIOUS = "suspicious"
ALLOWED = "allow-listed"
UNREMARKABLE = "unremarkable"
# score thresholds: a code-running consumer with one alarming trait is malicious-looking; on its own suspicious
MALICIOUS_SCORE = 80
SUSPICIOUS_SCORE = 40
SEVERITY = {MALICIOUS: "error", SUSPICIOUS: "warning", ALLOWED: "info", UNREMARKABLE: "info"}
PARTS = ("consumer_class", "payload", "filter", "timer", "namespace", "creator", "run")


@dataclass(frozen=True)
class Rule:
    id: str
    part: str
    pattern: re.Pattern[str]
    score: int
    technique: str
    reason: str
    source: str


@dataclass(frozen=True)
class Allowed:
    product: str
    namespace: str
    consumer_class: str
    consumer_name: str
    filter_names: tuple[str, ...]  # "" among them: no binding is fine too
    creators: tuple[str, ...]  # "" among them: an unknown creator is fine too
    payload: str  # "" : the consumer runs no code; else the exact command line
    reason: str
    source: str


@dataclass
class Assessment:
    verdict: str
    score: int = 0
    matched: list[Rule] = field(default_factory=list)
    allowed: Allowed | None = None

    @property
    def severity(self) -> str:
        return SEVERITY[self.verdict]

    @property
    def techniques(self) -> list[str]:
        """ATT&CK technique ids: event subscription (T1546.003) and what the matched rules add; none for a
        subscription the allow-list knows (Windows' own is not an attack technique)."""
        if self.verdict == ALLOWED:
            return []
        return list(dict.fromkeys(["T1546.003", *(r.technique for r in self.matched)]))


def _rows(name: str) -> list[dict[str, str]]:
    text = data_text(name)
    return list(csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))


@cache
def rules() -> tuple[Rule, ...]:
    found = []
    for row in _rows("persistence_rules.tsv"):
        if row["part"] not in PARTS:
            raise ValueError(f"persistence_rules.tsv: rule {row['id']} reads unknown part {row['part']!r}")
        found.append(
            Rule(
                row["id"],
                row["part"],
                re.compile(row["pattern"]),
                int(row["score"]),
                row["technique"],
                row["reason"],
                row["source"],
            )
        )
    return tuple(found)


@cache
def allow_list() -> tuple[Allowed, ...]:
    return tuple(
        Allowed(
            row["product"],
            row["namespace"],
            row["consumer_class"],
            row["consumer_name"],
            tuple(row["filter_name"].split("|")),
            tuple(row["creator"].split("|")),
            row["payload"],
            row["reason"],
            row["source"],
        )
        for row in _rows("persistence_allow.tsv")
    )


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def allowed(
    namespace: str, consumer_class: str, consumer_name: str, filter_name: str, creator: str, payload: str
) -> Allowed | None:
    """The allow-list row that describes this subscription exactly (a reused name with another payload,
    class or creator is not allowed)."""
    for row in allow_list():
        if (
            _same(row.consumer_class, consumer_class)
            and _same(row.consumer_name, consumer_name)
            and (not namespace or _same(row.namespace, namespace))
            and any(_same(f, filter_name) for f in row.filter_names)
            and any(_same(c, creator) for c in row.creators)
            and _same(row.payload, payload)
        ):
            return row
    return None


def assess(parts: dict[str, str], allow: Allowed | None = None) -> Assessment:
    """Score a subscription from the text of its parts (keys of PARTS; "run" non-empty when it was seen
    running). An allow-listed one is `allow-listed` whatever it scores."""
    matched = [rule for rule in rules() if parts.get(rule.part) and rule.pattern.search(parts[rule.part])]
    score = sum(rule.score for rule in matched)
    if allow is not None:
        return Assessment(ALLOWED, score, matched, allow)
    verdict = MALICIOUS if score >= MALICIOUS_SCORE else SUSPICIOUS if score >= SUSPICIOUS_SCORE else UNREMARKABLE
    return Assessment(verdict, score, matched)


@dataclass(frozen=True)
class ChildKind:
    """What a process started by WMI's provider host is: shell | script-host | lolbin | management."""

    image: str
    kind: str
    reason: str
    source: str


@cache
def _children() -> dict[str, ChildKind]:
    return {
        row["image"].lower(): ChildKind(row["image"], row["class"], row["reason"], row["source"])
        for row in _rows("persistence_children.tsv")
    }


def child_kind(image_name: str) -> ChildKind | None:
    """The known kind of an executable (file name, any case) WmiPrvSE.exe or scrcons.exe started; None: unknown."""
    return _children().get(image_name.lower())
