"""What the evidence says about the host itself - edition and OS generation - for checks whose Windows
default differs by them. Each answer says how it is known, so a finding can name what it assumed; an
empty answer means not known, and a check must then say "not known" rather than judge."""

from __future__ import annotations

from wmidoctor.evidence.model import Evidence, Section
from wmidoctor.knowledge.defaults import PRE_VISTA_REPOSITORY_MARKERS, VISTA_FIRST_BUILD, edition_from_identity

PRE_VISTA, VISTA_OR_LATER = "pre-vista", "vista-or-later"


def edition(ev: Evidence) -> tuple[str, str]:
    """("client" | "server" | "", how it is known)."""
    identity = ev.identity
    if identity.edition:
        return identity.edition, identity.edition_source
    return edition_from_identity(identity.domain_role, identity.os_caption)


def build(ev: Evidence) -> int | None:
    text = ev.identity.os_build.strip()
    return int(text) if text.isdigit() else None


def generation(ev: Evidence) -> tuple[str, str]:
    """(PRE_VISTA | VISTA_OR_LATER | "", how it is known): from the OS build, else from the repository's layout."""
    number = build(ev)
    if number is not None:
        return (PRE_VISTA if number < VISTA_FIRST_BUILD else VISTA_OR_LATER), f"OS build {number}"
    names = {f.name.replace("/", "\\").rsplit("\\", 1)[-1].upper() for f in ev.repository.files}
    marker = next((m for m in PRE_VISTA_REPOSITORY_MARKERS if m in names), None)
    if marker:
        return PRE_VISTA, f"the repository's Windows XP / Server 2003 layout ({marker})"
    if "MAPPING3.MAP" in names:
        return VISTA_OR_LATER, "the repository's Vista-and-later layout (MAPPING3.MAP)"
    return "", ""


def missing_artifacts(ev: Evidence, *names: str) -> str:
    """The named artifacts (bundle or volume names, matched by their end) that the evidence lacks, as a phrase."""
    absent = [
        a.name
        for a in ev.collection.artifacts
        if a.status in ("missing", "damaged") and any(a.name.lower().endswith(n.lower()) for n in names)
    ]
    return ", ".join(absent) or " or ".join(names)


def key_read(section: Section, key: str) -> bool:
    """Whether the registry key `key` was within what fed `section`, so that a value absent from the evidence is
    absent on the host (the Windows default) rather than not collected. Evidence that did not come from the
    registry alone (live queries, collector commands, saved evidence) counts as read."""
    sources = section.sources
    if not sources or not all(s.startswith("registry:") for s in sources):
        return True
    return any(key.lower() in s.lower() for s in sources)
