"""Known-harmless WMI client failures (WMI-Activity 5858), as data: `benign_failures.tsv`, one pattern a row
(result codes, IWbemServices methods, namespace, class, the Windows edition it applies to), each with why it
is harmless and a public source. A failure is matched on its own code, method, namespace and class, never by
how many there are.

A failure that matches no row is judged by recurrence: the same code on the same namespace and class
RECURRING times or more in the evidence is a client that depends on something broken or missing; fewer is an
isolated failure, reported at info."""

from __future__ import annotations

import csv
import fnmatch
import re
from dataclasses import dataclass
from functools import cache

from wmidoctor.knowledge import data_text
from wmidoctor.knowledge.codes import parse_code

RECURRING = 5  # the same failure this many times (code, namespace, class) is a dependency, not a one-off


@dataclass(frozen=True)
class BenignFailure:
    id: str
    codes: frozenset[int]
    methods: frozenset[str]  # empty: any method
    namespace: str  # fnmatch pattern, lower case ('*': any)
    target_class: re.Pattern[str]
    edition: str  # any | client | server
    why: str
    source: str

    def matches(self, code: int, method: str, namespace: str, target_class: str, edition: str) -> bool:
        """`edition` '' (not known) matches a client- or server-only row: the finding says what it assumed."""
        return (
            code in self.codes
            and (not self.methods or method.lower() in self.methods)
            and fnmatch.fnmatchcase(namespace.lower().replace("/", "\\"), self.namespace)
            and bool(self.target_class.search(target_class))
            and self.edition in ("any", edition or self.edition)
        )


@cache
def benign_failures() -> tuple[BenignFailure, ...]:
    text = data_text("benign_failures.tsv")
    rows = []
    for row in csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE):
        codes = frozenset(code for part in row["codes"].split(",") if (code := parse_code(part)) is not None)
        if not codes or not row["why"] or not row["source"].startswith("https://"):
            raise ValueError(f"benign_failures.tsv: row {row['id']} needs codes, a reason and a public source")
        methods = frozenset() if row["methods"] == "*" else frozenset(m.lower() for m in row["methods"].split(","))
        rows.append(
            BenignFailure(
                row["id"],
                codes,
                methods,
                row["namespace"].lower(),
                re.compile(row["class"], re.IGNORECASE),
                row["edition"],
                row["why"],
                row["source"],
            )
        )
    return tuple(rows)


def known_benign(code: int, method: str, namespace: str, target_class: str, edition: str) -> BenignFailure | None:
    return next((row for row in benign_failures() if row.matches(code, method, namespace, target_class, edition)), None)
