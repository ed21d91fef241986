"""What each stage of the remote probe sends and what its success proves, as data (`probe_stages.tsv`, one stage a
row with its public source): the catalogue `docs/probe-stages.md` is generated from it, and a test holds it to
the stage plans the probe walks."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from wmidoctor.knowledge import data_text


@dataclass(frozen=True)
class ProbeStage:
    transport: str  # dcom | wsman
    stage: str
    layer: str
    sent: str  # what the probe puts on the wire at this stage
    proves: str  # what a success shows about the target, the network or the account
    source: str


@cache
def probe_stages() -> tuple[ProbeStage, ...]:
    text = data_text("probe_stages.tsv")
    return tuple(ProbeStage(**row) for row in csv.DictReader(text.splitlines(), delimiter="\t"))
