"""Bundle loader on a mounted Windows volume assembled from corpus links (SYSTEM hive, the aptsimulator host's
logs, its repository): a full load and a --quick load, against what the loader is made of, measured in the
same run: the repository verify alone, the log analysis alone, and their sum (so the reader sees what the
loader itself adds). Also a cold `diagnose --quick` of the volume (target < 2 s) against a bare Python start.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench_diagnose import run as cold
from harness import CORPUS, ROOT, best_of, corpus_available, figure

sys.path.insert(0, str(ROOT))  # the corpus links are made by a helper under tests/

from tests.corpus_volume import APTSIM_EVTX, APTSIM_REPOSITORY, link_volume

HOST = CORPUS / APTSIM_EVTX
REPOSITORY = CORPUS / APTSIM_REPOSITORY


def verify_repository() -> None:
    from wmidoctor.artifacts.repository import open_repository, verify

    with open_repository(REPOSITORY) as repository:
        verify(repository)


def analyse_logs() -> None:
    from wmidoctor.logs.run import analyse

    analyse([str(log) for log in sorted(HOST.iterdir())])


def read_system_hive() -> None:
    from wmidoctor.artifacts.registry import Registry
    from wmidoctor.sources.registry import fill_evidence

    fill_evidence(Registry.open([CORPUS / "registry" / "SYSTEM"]))


def main() -> None:
    if not corpus_available():
        return
    from wmidoctor.sources.bundle import load

    with tempfile.TemporaryDirectory() as tmp:
        volume = link_volume(Path(tmp) / "mnt", CORPUS)
        load(volume)  # warm the imports: every figure below is in-process and warm
        repository = best_of(verify_repository)
        logs = best_of(analyse_logs)
        hive = best_of(read_system_hive)
        full = best_of(lambda: load(volume))
        quick = best_of(lambda: load(volume, quick=True))
        startup = best_of(lambda: cold("-c", "pass"))
        diagnose_quick = best_of(
            lambda: cold("-m", "wmidoctor", "diagnose", str(volume), "--quick", "--format", "json")
        )
    parts = repository + logs + hive
    figure("volume load, full (warm)", full, "s", parts, "verify + logs + SYSTEM hive alone")
    figure("volume load, full vs repository verify alone", full, "s", repository, "repository verify")
    figure("volume load, --quick (warm)", quick, "s", logs + hive, "logs + SYSTEM hive alone")
    figure("volume load, --quick vs full", quick, "s", full, "full load")
    figure(
        "diagnose --quick of the volume (cold process)", diagnose_quick, "s", startup, "python startup", target="< 2 s"
    )


if __name__ == "__main__":
    main()
