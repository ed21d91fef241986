"""Decoded Windows security descriptors, as evidence: who is allowed or denied what.

The parsers (binary self-relative form from the registry, SDDL from the collector) live in
wmidoctor.artifacts.registry; this is the data they produce and the checks read.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Ace:
    """One access control entry. `rights` names the bits of `mask` for the object kind (COM or namespace)."""

    type: str  # "allow" | "deny" | "audit" | other ACE type names
    sid: str  # "S-1-5-32-544"
    account: str = ""  # well-known name when known: "BUILTIN\\Administrators"
    mask: int = 0
    flags: int = 0  # inheritance flags as stored
    rights: list[str] = field(default_factory=list)  # e.g. ["execute", "activate-remote"]


@dataclass
class SecurityDescriptor:
    sddl: str = ""
    owner: str | None = None
    group: str | None = None
    control: int = 0
    dacl: list[Ace] | None = None  # None: no DACL at all, which grants everyone everything
    sacl: list[Ace] | None = None
    source: str = ""

    def aces_for(self, sid: str) -> list[Ace]:
        return [ace for ace in self.dacl or [] if ace.sid == sid]

    def allowed_mask(self, sid: str) -> int:
        """Rights granted to `sid` by its own allow ACEs less its deny ACEs (groups not expanded)."""
        allowed = denied = 0
        for ace in self.aces_for(sid):
            if ace.type == "allow":
                allowed |= ace.mask
            elif ace.type == "deny":
                denied |= ace.mask
        return allowed & ~denied
