"""Probe results into the Evidence model's connectivity section (for checks that read probe outcomes)."""

from __future__ import annotations

from wmidoctor.evidence.model import Connectivity, Probe, Stage
from wmidoctor.remote.model import ProbeResult


def to_connectivity(results: list[ProbeResult], connectivity: Connectivity | None = None) -> Connectivity:
    """Fill (or create) a Connectivity section with one Probe per host and transport."""
    section = connectivity or Connectivity()
    for result in results:
        failing = result.failing_stage
        section.probes.append(
            Probe(
                target=result.target,
                transport=result.transport,
                stages=[Stage(s.name, s.status, s.elapsed_ms, s.code, s.detail) for s in result.stages],
                failing_stage=failing.name if failing else None,
                code=failing.code if failing else None,
                source=f"probe:{result.transport}://{result.target}",
            )
        )
        section.mark_collected(f"probe:{result.target}")
    return section
