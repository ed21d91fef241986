"""Bundles made of links into the shared corpus (nothing copied), diagnosed in process."""

from __future__ import annotations

from pathlib import Path

from wmidoctor.commands.diagnose import diagnose_evidence
from wmidoctor.findings import Finding
from wmidoctor.sources.bundle import load

APTSIM_LOGS = "evtx/hosts/dfirmuseum-win10-aptsimulator"
APTSIM_REPOSITORY = "repository/win10-dfirmuseum-aptsimulator"
SYSMON_SUBSCRIPTION = "evtx/evtx-attack-samples__sysmon_20_21_1_CommandLineEventConsumer.evtx"
SYSMON_CLEAN = "evtx/omerbenamram-evtx__sysmon.evtx"
SYSMON_LOG = "Microsoft-Windows-Sysmon%4Operational.evtx"


def link_bundle(folder: Path, corpus: Path, logs: dict[str, str] | None = None, repository: str = "") -> Path:
    """A bundle folder: `logs` maps the bundle's log name to a corpus file (or a corpus folder of logs, name
    ignored), `repository` a corpus repository folder."""
    folder.mkdir(parents=True, exist_ok=True)
    if logs:
        (folder / "logs").mkdir()
        for name, relative in logs.items():
            source = corpus / relative
            for path in sorted(source.iterdir()) if source.is_dir() else [source]:
                (folder / "logs" / (path.name if source.is_dir() else name)).symlink_to(path)
    if repository:
        (folder / "repository").symlink_to(corpus / repository, target_is_directory=True)
    return folder


def diagnose(bundle: Path, quick: bool = False) -> dict[str, Finding]:
    report = diagnose_evidence(load(bundle, quick=quick), source=str(bundle), quick=quick)
    return {f.check: f for f in report.findings}


def ordered_checks(bundle: Path, quick: bool = False) -> list[str]:
    report = diagnose_evidence(load(bundle, quick=quick), source=str(bundle), quick=quick)
    return [f.check for f in report.findings]
