"""Compare a decoded security descriptor with a default ACL, ACE by ACE (as WMIDiag's REMOVED/ADDED list did)."""

from __future__ import annotations

from dataclasses import dataclass, field

from wmidoctor.evidence.security import Ace, SecurityDescriptor
from wmidoctor.knowledge.defaults import DefaultAce
from wmidoctor.knowledge.rights import COM, NAMESPACE, rights_names
from wmidoctor.knowledge.sids import account_name


def com_rights(mask: int) -> str:
    return ", ".join(rights_names(mask, COM)) or "no rights"


def namespace_rights(mask: int) -> str:
    return ", ".join(rights_names(mask, NAMESPACE)) or "no rights"


def who(ace: Ace | DefaultAce) -> str:
    account = getattr(ace, "account", "") or account_name(ace.sid)
    return f"{account} ({ace.sid})" if account else ace.sid


@dataclass
class AclDiff:
    removed: list[DefaultAce] = field(default_factory=list)  # default ACE missing entirely
    reduced: list[tuple[DefaultAce, int]] = field(default_factory=list)  # (default, rights actually granted)
    added: list[Ace] = field(default_factory=list)  # allow ACE for a principal the default does not list
    widened: list[tuple[DefaultAce, int]] = field(default_factory=list)  # (default, rights beyond the default)
    denies: list[Ace] = field(default_factory=list)
    no_dacl: bool = False  # a NULL DACL grants everyone everything

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.reduced or self.added or self.widened or self.denies or self.no_dacl)

    @property
    def breaks_required(self) -> bool:
        """A required default ACE was removed, lost rights, or is overridden by a deny."""
        required = {d.sid for d in self.removed if d.required} | {d.sid for d, _ in self.reduced if d.required}
        return bool(required) or any(ace.mask for ace in self.denies)


def compare(sd: SecurityDescriptor, defaults: tuple[DefaultAce, ...]) -> AclDiff:
    diff = AclDiff(no_dacl=sd.dacl is None)
    if sd.dacl is None:
        return diff
    by_sid = {d.sid: d for d in defaults}
    for default in defaults:
        granted = sd.allowed_mask(default.sid)
        if not sd.aces_for(default.sid):
            if not default.optional:
                diff.removed.append(default)
        elif granted & default.mask != default.mask:
            diff.reduced.append((default, granted))
        if granted & ~default.mask:
            diff.widened.append((default, granted & ~default.mask))
    for ace in sd.dacl:
        if ace.type == "deny":
            diff.denies.append(ace)
        elif ace.type == "allow" and ace.sid not in by_sid and ace not in diff.added:
            diff.added.append(ace)
    return diff


def describe(diff: AclDiff, rights) -> list[str]:
    """One line per deviation, in words a person can act on."""
    lines = ["no DACL at all: every caller is granted every right"] if diff.no_dacl else []
    lines += [f"REMOVED default ACE: {who(d)} should have {rights(d.mask)}" for d in diff.removed]
    lines += [f"REDUCED: {who(d)} has {rights(granted)}; default {rights(d.mask)}" for d, granted in diff.reduced]
    lines += [f"WIDENED: {who(d)} also has {rights(extra)}" for d, extra in diff.widened]
    lines += [f"ADDED ACE: allow {who(a)} {rights(a.mask)}" for a in diff.added]
    lines += [f"DENY ACE: {who(a)} denied {rights(a.mask)}" for a in diff.denies]
    return lines
