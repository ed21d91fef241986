"""`netsh advfirewall firewall show rule name=all verbose` and `netsh advfirewall show allprofiles state`.

netsh translates its labels; these parsers read the English ones and report `language = ""` when the
output holds rules or profiles under labels they do not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wmidoctor.artifacts.cmdout.text import lines

RULE_START = "rule name"
SEPARATOR = re.compile(r"^-{10,}\s*$")
LABEL = re.compile(r"^([A-Za-z][A-Za-z ]*?):\s+(.*)$")
PROFILE_HEADER = re.compile(r"^(Domain|Private|Public) Profile Settings:\s*$", re.I)
STATE = re.compile(r"^State\s+(ON|OFF)\s*$", re.I)


@dataclass
class NetshRule:
    name: str
    fields: dict[str, str] = field(default_factory=dict)  # lower-case English label -> value
    line: int = 0  # 1-based line of `Rule Name:`

    def get(self, label: str, default: str = "") -> str:
        return self.fields.get(label.lower(), default)

    @property
    def enabled(self) -> bool:
        return self.get("enabled").lower() == "yes"

    @property
    def profiles(self) -> list[str]:
        """`Domain,Private` -> ["domain", "private"]; `Any` -> [] (every profile)."""
        text = self.get("profiles").lower()
        return [] if text in ("", "any") else [p.strip() for p in text.split(",") if p.strip()]


@dataclass
class RulesOutput:
    rules: list[NetshRule]
    language: str  # "en", or "" when the labels were not recognised


@dataclass
class FirewallProfileState:
    states: dict[str, bool]  # domain | private | public -> firewall on
    language: str


def _separated_blocks(all_lines: list[str]) -> int:
    return sum(1 for line in all_lines if SEPARATOR.match(line))


def parse_rules(text: str) -> RulesOutput:
    all_lines = lines(text)
    rules: list[NetshRule] = []
    current: NetshRule | None = None
    for number, line in enumerate(all_lines, 1):
        match = LABEL.match(line.strip())
        if not match:
            continue
        label, value = match.group(1).strip().lower(), match.group(2).strip()
        if label == RULE_START:
            current = NetshRule(value, line=number)
            rules.append(current)
        elif current is not None:
            current.fields[label] = value
    english = bool(rules) or _separated_blocks(all_lines) == 0
    return RulesOutput(rules, "en" if english else "")


def parse_profiles(text: str) -> FirewallProfileState:
    states: dict[str, bool] = {}
    profile = ""
    all_lines = lines(text)
    for line in all_lines:
        header = PROFILE_HEADER.match(line.strip())
        if header:
            profile = header.group(1).lower()
            continue
        state = STATE.match(line.strip())
        if state and profile:
            states[profile] = state.group(1).upper() == "ON"
    english = bool(states) or _separated_blocks(all_lines) == 0
    return FirewallProfileState(states, "en" if english else "")
