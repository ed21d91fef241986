"""Evidence layouts: the same real evidence (the aptsimulator host's logs and repository, the SYSTEM hive) linked
as a Windows volume, a KAPE collection (C/...), a Velociraptor collection (uploads/auto/C%3A/..., names
URL-encoded) and a flat folder. Figures: layout detection alone, and a --quick load, each against the plain
Windows volume measured in the same run (the triage layouts should cost about the same)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from harness import CORPUS, ROOT, best_of, corpus_available, figure

sys.path.insert(0, str(ROOT))

from tests.corpus_volume import APTSIM_EVTX, APTSIM_REPOSITORY


def link(root: Path, encode: bool = False, flat: bool = False) -> None:
    """The logs, the repository and the SYSTEM hive under `root` as Windows/System32 (or flat)."""
    system32 = root if flat else root / "Windows" / "System32"
    logs = system32 if flat else system32 / "winevt" / "Logs"
    logs.mkdir(parents=True)
    for log in (CORPUS / APTSIM_EVTX).iterdir():
        (logs / (log.name.replace("%", "%25") if encode else log.name)).symlink_to(log)
    repository = system32 / "Repository" if flat else system32 / "wbem" / "Repository"
    repository.parent.mkdir(parents=True, exist_ok=True)
    repository.symlink_to(CORPUS / APTSIM_REPOSITORY, target_is_directory=True)
    hive = system32 / "SYSTEM" if flat else system32 / "config" / "SYSTEM"
    hive.parent.mkdir(parents=True, exist_ok=True)
    hive.symlink_to(CORPUS / "registry" / "SYSTEM")


def main() -> None:
    if not corpus_available():
        return
    from wmidoctor.sources.bundle import load
    from wmidoctor.sources.layout import detect, forget_listings

    def detect_fresh(folder: Path) -> None:
        forget_listings()
        detect(folder)

    with tempfile.TemporaryDirectory() as tmp:
        layouts = {
            "Windows volume": Path(tmp) / "volume",
            "KAPE collection": Path(tmp) / "kape",
            "Velociraptor collection": Path(tmp) / "velociraptor",
            "flat folder": Path(tmp) / "flat",
        }
        link(layouts["Windows volume"])
        link(layouts["KAPE collection"] / "C")
        link(layouts["Velociraptor collection"] / "uploads" / "auto" / "C%3A", encode=True)
        link(layouts["flat folder"], flat=True)
        load(layouts["Windows volume"], quick=True)  # warm the imports
        detection = {name: best_of(lambda f=folder: detect_fresh(f), repeat=20) for name, folder in layouts.items()}
        loads = {name: best_of(lambda f=folder: load(f, quick=True)) for name, folder in layouts.items()}
    base = "Windows volume"
    for name in layouts:
        figure(f"layout detection: {name}", detection[name] * 1000, "ms", detection[base] * 1000, base)
    for name in layouts:
        figure(f"--quick load: {name}", loads[name], "s", loads[base], base)


if __name__ == "__main__":
    main()
