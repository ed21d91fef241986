"""diagnose: a full offline diagnosis of a bundle with real logs and a real repository (target < 10 s; WMIDiag
took 5-15 minutes) and with --quick (target < 2 s), against baselines measured in the same run: a bare Python
start, and loading the bundle alone."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from harness import CORPUS, best_of, corpus_available, figure

HOST = "evtx/hosts/dfirmuseum-win10-aptsimulator"
LOGS = ("Application.evtx", "System.evtx", "Microsoft-Windows-WMI-Activity%4Operational.evtx")


def assemble(folder: Path) -> Path:
    """A collector-shaped bundle whose files are links into the shared corpus (nothing is copied)."""
    (folder / "logs").mkdir(parents=True)
    (folder / "registry").mkdir()
    for name in LOGS:
        (folder / "logs" / name).symlink_to(CORPUS / HOST / name)
    (folder / "registry" / "ole.reg").symlink_to(CORPUS / "registry" / "HKLM_SOFTWARE_Microsoft_Ole.reg")
    (folder / "repository").symlink_to(CORPUS / "repository" / "win10-dfirmuseum-aptsimulator",
                                       target_is_directory=True)
    return folder


def run(*args: str) -> None:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{args} failed with {result.returncode}: {result.stderr.strip()}")


def main() -> None:
    if not corpus_available():
        return
    with tempfile.TemporaryDirectory() as tmp:
        bundle = str(assemble(Path(tmp) / "bundle"))
        startup = best_of(lambda: run("-c", "pass"))
        load_only = best_of(lambda: run("-c", f"from wmidoctor.sources.bundle import load; load({bundle!r})"))
        full = best_of(lambda: run("-m", "wmidoctor", "diagnose", bundle, "--format", "json"))
        quick = best_of(lambda: run("-m", "wmidoctor", "diagnose", bundle, "--quick", "--format", "json"))
    figure("diagnose full bundle (cold process)", full, "s", startup, "python startup", target="< 10 s")
    figure("diagnose full bundle vs loading alone", full, "s", load_only, "bundle load (cold)")
    figure("diagnose --quick (cold process)", quick, "s", startup, "python startup", target="< 2 s")


if __name__ == "__main__":
    main()
