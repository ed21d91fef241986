"""Security: reading the subscription chains of each corpus repository through the targeted index search
(target < 0.3 s) against the full-index read of the same subscriptions in the same run; judging the chains
once read; and a cold `diagnose --quick` of a volume that holds a repository (target < 1 s) against a bare
Python start and against the same command on the volume without its repository (the volume's SYSTEM hive
dominates there), and of a collector-shaped bundle (logs, Ole export, repository).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench_diagnose import run as cold
from harness import CORPUS, ROOT, best_of, corpus_available, figure

sys.path.insert(0, str(ROOT))  # the corpus links are made by a helper under tests/

from tests.corpus_volume import link_bundle, link_volume

REPOSITORIES = ("win10-dfirmuseum-aptsimulator", "win10-dissect-cim", "xp-libyal-dtformats")


def read_subscriptions(name: str, targeted: bool) -> object:
    from wmidoctor.artifacts.repository import open_repository
    from wmidoctor.sources.repository import restrict_to_subscriptions, subscriptions

    with open_repository(CORPUS / "repository" / name) as repository:
        if targeted:
            restrict_to_subscriptions(repository)
        return subscriptions(repository)


def judge(name: str) -> None:
    from wmidoctor.checks.security_chains import judge_chains
    from wmidoctor.evidence.model import Evidence

    evidence = Evidence()
    evidence.subscriptions = read_subscriptions(name, targeted=True)
    evidence.subscriptions.mark_collected("repository")
    judge_chains(evidence)


def main() -> None:
    if not corpus_available():
        return
    read_subscriptions(REPOSITORIES[0], True)  # warm the imports
    for name in REPOSITORIES:
        targeted = best_of(lambda name=name: read_subscriptions(name, True), repeat=5)
        full = best_of(lambda name=name: read_subscriptions(name, False), repeat=5)
        figure(f"subscription read, targeted: {name}", targeted, "s", full, "full index walk", target="< 0.3 s")
        figure(
            f"subscriptions read and judged: {name}",
            best_of(lambda name=name: judge(name), repeat=5),
            "s",
            targeted,
            "read alone",
        )
    with tempfile.TemporaryDirectory() as tmp:
        volume = link_volume(Path(tmp) / "with", CORPUS)
        without = link_volume(Path(tmp) / "without", CORPUS)
        (without / "Windows/System32/wbem/Repository").unlink()
        bundle = link_bundle(Path(tmp) / "bundle", CORPUS)
        startup = best_of(lambda: cold("-c", "pass"))
        quick_bundle = best_of(lambda: cold("-m", "wmidoctor", "diagnose", str(bundle), "--quick", "--format", "json"))
        quick = best_of(lambda: cold("-m", "wmidoctor", "diagnose", str(volume), "--quick", "--format", "json"))
        quick_without = best_of(
            lambda: cold("-m", "wmidoctor", "diagnose", str(without), "--quick", "--format", "json")
        )
    figure("diagnose --quick, volume with repository (cold)", quick, "s", startup, "python startup", target="< 1 s")
    figure("diagnose --quick, with vs without repository", quick, "s", quick_without, "same volume, no repository")
    figure(
        "diagnose --quick, collector bundle with repository",
        quick_bundle,
        "s",
        startup,
        "python startup",
        target="< 1 s",
    )


if __name__ == "__main__":
    main()
