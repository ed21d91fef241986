"""The repository read in another process while this one reads the logs gives the same evidence as reading
both here in turn (real corpus bundle and volume)."""

from __future__ import annotations

import concurrent.futures
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from tests.corpus_volume import link_bundle, link_volume

from wmidoctor.sources import bundle

pytestmark = pytest.mark.corpus


@pytest.mark.parametrize("make", [link_bundle, link_volume], ids=["collector bundle", "mounted volume"])
def test_reading_the_repository_aside_changes_nothing(
    make, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make(tmp_path / "evidence", corpus)
    started: list[Path] = []
    read_here = bundle.read_repository_copy

    def noted(path: Path) -> bundle.RepositoryRead:
        started.append(path)
        return read_here(path)

    pools: list[int] = []

    class CountedPool(ProcessPoolExecutor):
        def __init__(self, max_workers: int) -> None:
            pools.append(max_workers)
            super().__init__(max_workers=max_workers)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", CountedPool)  # imported when a read goes aside
    monkeypatch.setattr(bundle.os, "cpu_count", lambda: 2)
    aside = bundle.load(root).to_json()
    assert pools == [1], "with two cores one other process reads the repository"
    monkeypatch.setattr(bundle, "read_repository_copy", noted)  # only a read in this process is noted here
    monkeypatch.setattr(bundle.os, "cpu_count", lambda: 1)
    in_turn = bundle.load(root).to_json()
    assert started, "with one core the repository is read in this process"
    assert aside == in_turn


def test_a_reading_process_that_dies_is_replaced_by_a_read_here(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other process killed (out of memory, say): the repository is read in this process instead."""
    root = link_bundle(tmp_path / "evidence", corpus)

    class DeadPool:
        def __init__(self, max_workers: int) -> None:
            pass

        def submit(self, *_: object) -> Future:
            future: Future = Future()
            future.set_exception(BrokenProcessPool("killed"))
            return future

        def shutdown(self, wait: bool, cancel_futures: bool) -> None:
            pass

    monkeypatch.setattr(bundle.os, "cpu_count", lambda: 1)
    expected = bundle.load(root).to_json()
    monkeypatch.setattr(bundle.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", DeadPool)
    assert bundle.load(root).to_json() == expected
