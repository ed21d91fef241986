"""Bundle loader on a mounted Windows volume assembled from corpus links (SYSTEM hive, the aptsimulator host's
logs, its repository): a full load and a --quick load, against what the loader is made of, measured in the
same run: the repository verify alone, the log analysis alone, and their sum (so the reader sees what the
loader itself adds). Also a cold `diagnose --quick` of the volume (target < 2 s) against a bare Python start.

Then a bundle whose two slow parts weigh about the same (the worst case for reading them side by side): the
collector's bundle with its repository, plus every corpus .evtx three times over as log exports. A whole
diagnosis in this process (load, every check, the report) against its slowest part alone (issue 21: <= 1.1x).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench_diagnose import run as cold
from harness import CORPUS, ROOT, best_of, corpus_available, figure

sys.path.insert(0, str(ROOT))  # the corpus links are made by a helper under tests/

from tests.corpus_volume import APTSIM_EVTX, APTSIM_REPOSITORY, link_bundle, link_volume

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


def balanced_bundle(folder: Path) -> tuple[Path, list[str]]:
    """The collector's bundle with every corpus .evtx three times over as exports; its log files."""
    bundle = link_bundle(folder, CORPUS)
    for copy in range(3):
        for log in sorted((CORPUS / "evtx").rglob("*.evtx")):
            (bundle / "logs" / f"copy{copy}-{log.parent.name}-{log.name}").symlink_to(log)
    return bundle, [str(log) for log in sorted((bundle / "logs").iterdir())]


def diagnose_in_process(bundle: Path) -> None:
    from wmidoctor.commands.diagnose import diagnose_evidence
    from wmidoctor.report import render
    from wmidoctor.sources.bundle import load

    render(diagnose_evidence(load(bundle), source=str(bundle)), "json")


def side_by_side() -> None:
    """The parts as diagnose reads them: the repository (verified, and its providers, namespaces, subscriptions
    and quotas taken) and the logs (analysed), each alone in this process."""
    from wmidoctor.logs.run import analyse
    from wmidoctor.sources.bundle import read_repository_copy

    with tempfile.TemporaryDirectory() as tmp:
        bundle, logs = balanced_bundle(Path(tmp) / "bundle")
        diagnose_in_process(bundle)  # warm: imports and the page cache
        repository = best_of(lambda: read_repository_copy(bundle / "repository"), repeat=5)
        alone = best_of(lambda: analyse(logs), repeat=5)
        whole = best_of(lambda: diagnose_in_process(bundle), repeat=5)
    slowest = max(repository, alone)
    print(f"balanced bundle: {len(logs)} logs; repository read {repository:.3f} s, logs alone {alone:.3f} s")
    figure("diagnose, whole (warm) vs its slowest part", whole, "s", slowest, "slowest part alone", target="<= 1.1x")
    figure("diagnose, whole (warm) vs both parts in turn", whole, "s", repository + alone, "repository + logs")


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
    side_by_side()


if __name__ == "__main__":
    main()
