"""The Evidence model: typed sections of facts about one host, each fact with its provenance."""

from wmidoctor.evidence.model import *  # noqa: F403
from wmidoctor.evidence.model import Evidence, Section, Setting
from wmidoctor.evidence.security import Ace, SecurityDescriptor

__all__ = ["Ace", "Evidence", "Section", "SecurityDescriptor", "Setting"]
