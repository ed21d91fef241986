"""Repository reader: integrity verdict time, and a full class inventory against dissect.cim in the same run.

Targets (DESIGN.md §7): verify a ~25 MB repository in < 3 s; inventory every class of every namespace
>= 3x faster than dissect.cim. dissect.cim (AGPL) is only a baseline here, as in the tests.
Issue 21: `repo verify` of each corpus repository in at most half the time the code at VERIFY_BASELINE
took, both timed in this run (the old code from `git archive`, each side in its own process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

from harness import CORPUS, ROOT, best_of, corpus_available, figure

SAMPLE = CORPUS / "repository" / "win10-dissect-cim"
VERIFY_BASELINE = "54d53a0"  # main before issue 21's lazy decoding
VERIFY_REPEAT = 5


def our_verify() -> None:
    from wmidoctor.artifacts.repository import open_repository, verify

    report = verify(open_repository(SAMPLE))
    assert report.consistent


def our_inventory() -> int:
    """Classes stored in each namespace, counted as dissect.cim's are (see `dissect_inventory`)."""
    from wmidoctor.artifacts.repository import open_repository

    repository = open_repository(SAMPLE)
    system = {c.name.upper() for c in repository.classes("__SystemClass")}
    return sum(
        sum(c.name.upper() not in system for c in repository.classes(namespace))
        for namespace in repository.namespaces()
    )


def _cli(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "wmidoctor", "repo", "ls", str(SAMPLE), *args, "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def cli_inventory_in_one_run() -> int:
    return sum(len(entry["classes"]) for entry in json.loads(_cli("--all"))["inventory"])


def cli_inventory_per_namespace() -> int:
    """What a user had to do before `repo ls --all`: one `repo ls NAMESPACE` per namespace of the tree."""
    return sum(len(json.loads(_cli(name))["classes"]) for name in json.loads(_cli())["namespaces"])


def dissect_inventory() -> int:
    from dissect.cim import CIM

    cim = CIM.from_directory(str(SAMPLE))
    seen: dict[str, object] = {}

    def walk(namespace) -> None:  # deduplicated by name (dissect.cim repeats namespaces)
        seen[namespace.name.upper()] = namespace
        for child in namespace.namespaces:
            if child.name.upper() not in seen:
                walk(child)

    walk(cim.root)
    # dissect.cim lists the system classes (stored once, in __SystemClass) in every namespace; like for like
    # with ours, each namespace counts the classes stored in it
    system = {c.name.upper() for c in seen["__SYSTEMCLASS"].classes} if "__SYSTEMCLASS" in seen else set()
    return sum(sum(c.name.upper() not in system for c in ns.classes) for ns in seen.values())


def _verify_seconds(source: Path, repository: Path) -> float:
    """Best of VERIFY_REPEAT verifies of `repository` by the wmidoctor package under `source`, in a fresh process."""
    result = subprocess.run(
        [sys.executable, __file__, "--time-verify", str(repository)],
        env={**os.environ, "PYTHONPATH": str(source)},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout)


def _time_verify_here(repository: str) -> None:
    from wmidoctor.artifacts.repository import open_repository, verify

    print(best_of(lambda: verify(open_repository(repository)), VERIFY_REPEAT))


def _baseline_source(into: Path) -> Path | None:
    """The src tree at VERIFY_BASELINE, unpacked under `into`; None outside a git checkout holding it."""
    archive = subprocess.run(["git", "archive", VERIFY_BASELINE, "src"], cwd=ROOT, capture_output=True, check=False)
    if archive.returncode != 0:
        return None
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def verify_against_baseline() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-repo-") as scratch:
        old_source = _baseline_source(Path(scratch))
        if old_source is None:
            print(f"skipped: verify against {VERIFY_BASELINE} (not in this checkout's history)")
            return
        for repository in sorted((CORPUS / "repository").iterdir()):
            old = _verify_seconds(old_source, repository)
            new = _verify_seconds(ROOT / "src", repository)
            figure(
                f"repo verify {repository.name}",
                new,
                "s",
                old,
                VERIFY_BASELINE,
                target="ratio <= 0.50x",
            )


def main() -> int:
    if not corpus_available():
        return 0
    verify_against_baseline()
    size_mb = sum(p.stat().st_size for p in SAMPLE.iterdir()) / 2**20
    print(f"sample: {SAMPLE.name} ({size_mb:.1f} MB)")
    figure("repo verify (full integrity pass)", best_of(our_verify, 3), "s", target="< 3 s")
    ours = best_of(our_inventory, 3)
    started = time.perf_counter()
    dissect_classes = dissect_inventory()  # ~20-30 s: measured once
    baseline = time.perf_counter() - started
    figure(
        f"class inventory, all namespaces ({our_inventory()} classes, system classes once)",
        ours,
        "s",
        baseline,
        f"dissect.cim ({dissect_classes} classes)",
        target="ratio <= 0.33x",
    )
    figure("inventory speed-up over dissect.cim", baseline / ours, "x", target=">= 3x")
    started = time.perf_counter()
    assert cli_inventory_per_namespace() == cli_inventory_in_one_run()
    one_per_namespace = time.perf_counter() - started
    figure(
        "CLI inventory: repo ls --all",
        best_of(cli_inventory_in_one_run, 3),
        "s",
        one_per_namespace,
        "repo ls once per namespace",
    )
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--time-verify"]:
        _time_verify_here(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
