"""Windows Firewall rule strings as stored under ...\\FirewallPolicy\\FirewallRules (one value per rule).

Format: `v2.30|Action=Allow|Active=TRUE|Dir=In|Protocol=6|Profile=Domain|LPort=135|App=...|Svc=...|
Name=@FirewallAPI.dll,-34252|EmbedCtxt=@FirewallAPI.dll,-34251|`: a version, then key=value fields,
some repeated (Profile, LPort, RA4, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROTOCOLS = {"1": "icmpv4", "6": "tcp", "17": "udp", "58": "icmpv6"}


@dataclass
class RuleString:
    version: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # field name as stored -> values in order

    def first(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    @property
    def active(self) -> bool:
        return self.first("Active").upper() == "TRUE"

    @property
    def direction(self) -> str:
        return self.first("Dir", "In").lower()

    @property
    def action(self) -> str:
        return self.first("Action", "Allow").lower()

    @property
    def profiles(self) -> list[str]:
        """domain / private / public; empty means every profile."""
        return [p.lower() for p in self.fields.get("Profile", [])]

    @property
    def protocol(self) -> str:
        number = self.first("Protocol")
        return PROTOCOLS.get(number, number)


def parse_rule(text: str) -> RuleString:
    """Split a rule string; raise ValueError when it does not start with a version token."""
    pieces = [p for p in text.strip().split("|") if p]
    if not pieces or not pieces[0].lower().startswith("v"):
        raise ValueError(f"not a firewall rule string: {text[:40]!r}")
    rule = RuleString(version=pieces[0])
    for piece in pieces[1:]:
        name, _, value = piece.partition("=")
        rule.fields.setdefault(name, []).append(value)
    return rule
