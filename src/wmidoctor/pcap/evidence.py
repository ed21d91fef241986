"""Capture findings as connectivity evidence for `diagnose`: each attempt becomes a probe result in the
Connectivity section (the same conversion `probe --evidence-out` uses), sourced to the capture file."""

from __future__ import annotations

from pathlib import Path

from wmidoctor.evidence.model import Evidence
from wmidoctor.remote.evidence import to_connectivity

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")


def captures_in(folder: Path) -> list[Path]:
    """Capture files lying at the top of a bundle folder."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(CAPTURE_SUFFIXES))


def add_captures(evidence: Evidence, paths: list[Path]) -> None:
    """Analyse each capture and add its attempts to evidence.connectivity (NotACapture propagates)."""
    from wmidoctor.pcap.analyse import analyse

    section = evidence.connectivity
    for path in paths:
        report = analyse(path)
        before = len(section.probes)
        to_connectivity([f.result for f in report.findings], section)
        for probe, finding in zip(section.probes[before:], report.findings, strict=True):
            probe.source = f"capture:{path.name}#{finding.attempt.client}->{finding.attempt.target}"
        section.mark_collected(f"capture:{path}", "; ".join(report.info.warnings) or None)
