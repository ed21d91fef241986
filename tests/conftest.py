"""Shared test fixtures: the real-artifact corpus beside the repository, and CLI running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_CACHES = pytest.StashKey[list]()

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
REFERENCE = ROOT.parent / "shared" / "reference"


def _shared_dir(path: Path) -> Path:
    """Return a folder of ../shared, skipping when absent - except under CI, where absence fails."""
    if path.is_dir():
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{path} is missing, and CI must run the corpus tests")
    pytest.skip(f"{path} is not beside the repository (clone it as ../shared to run this test)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def corpus() -> Path:
    """../shared/corpus: real Windows artifacts, read in place, never copied into the repository."""
    return _shared_dir(CORPUS)


@pytest.fixture(scope="session")
def reference() -> Path:
    """../shared/reference: the project's fact tables."""
    return _shared_dir(REFERENCE)


def run_cli(
    *args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `python -m wmidoctor ARGS` in a fresh process, as a user would."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "wmidoctor", *args],
        capture_output=True,
        text=True,
        input=input,
        env=full_env,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.fixture
def cli():
    return run_cli


def _knowledge_caches() -> list:
    import importlib
    import pkgutil

    import wmidoctor.knowledge

    caches = []
    for module in pkgutil.iter_modules(wmidoctor.knowledge.__path__):
        loaded = importlib.import_module(f"wmidoctor.knowledge.{module.name}")
        caches += [
            value
            for value in vars(loaded).values()
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", "") == loaded.__name__
        ]
    return caches


@pytest.fixture(autouse=True)
def knowledge_read_afresh(request):
    """Under the mutation run (mutmut sets MUTANT_UNDER_TEST), every test starts with empty knowledge caches, so the
    tables it sees are read by the code under test, during the test: mutmut forks each mutant's tests from a process
    that has already read them, and runs for a mutant only the tests seen calling the mutated code, so a mutant in a
    table reader was otherwise never run or never seen. Ordinary runs keep the caches (no re-reading per test)."""
    if "MUTANT_UNDER_TEST" not in os.environ:
        return
    caches = request.session.stash.setdefault(_CACHES, [])
    if not caches:
        caches += _knowledge_caches()
    for cache in caches:
        cache.cache_clear()


@pytest.fixture(autouse=True)
def pins_numbered_afresh():
    from snapshots import new_test

    new_test()
