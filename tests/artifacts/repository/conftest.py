"""Fixtures for the repository reader tests: the corpus repositories, and dissect.cim as a test-only oracle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

WIN10 = "win10-dissect-cim"
APTSIM = "win10-dfirmuseum-aptsimulator"
XP = "xp-libyal-dtformats"


@pytest.fixture(scope="session")
def repositories(corpus: Path) -> Path:
    return corpus / "repository"


@pytest.fixture
def damaged_copy(repositories: Path, tmp_path: Path):
    """A writable copy of the win10 sample repository, to damage in the test."""

    def make(name: str = WIN10) -> Path:
        target = tmp_path / name
        shutil.copytree(repositories / name, target)
        for path in target.iterdir():
            path.chmod(0o644)
        return target

    return make


def _dissect_inventory(folder: Path) -> dict:
    """What dissect.cim sees: namespaces, class names per namespace, and a few instance sets."""
    from dissect.cim import CIM

    cim = CIM.from_directory(str(folder))
    seen: dict[str, object] = {}

    def walk(namespace) -> None:
        seen[namespace.name.upper()] = namespace
        for child in namespace.namespaces:
            if child.name.upper() not in seen:
                walk(child)

    walk(cim.root)
    classes = {name: sorted(c.name for c in ns.classes) for name, ns in seen.items()}
    subscription = cim.namespace("root\\subscription")
    filters = sorted(i.properties["Name"].value for i in subscription.class_("__EventFilter").instances)
    return {"namespaces": sorted(seen), "classes": classes, "filters": filters}


class _DissectViews:
    """dissect.cim's inventory of a sample (~17 s each), computed on first use and once per test run:
    pytest-xdist workers share it through a JSON file per sample in the run's common temporary folder,
    behind a lock per sample (so two workers can compute two samples at once)."""

    def __init__(self, repositories: Path, shared: Path):
        self.repositories, self.shared = repositories, shared
        self.views: dict[str, dict] = {}

    def __getitem__(self, name: str) -> dict:
        if name not in self.views:
            cache, lock_path = self.shared / f"dissect-cim-{name}.json", self.shared / f"dissect-cim-{name}.lock"
            with lock_path.open("w") as lock:
                try:
                    import fcntl

                    fcntl.flock(lock, fcntl.LOCK_EX)
                except ImportError:  # no POSIX locks: each worker computes its own
                    pass
                if cache.exists():
                    view = json.loads(cache.read_text())
                else:
                    view = _dissect_inventory(self.repositories / name)
                    cache.write_text(json.dumps(view))
            self.views[name] = {
                "namespaces": set(view["namespaces"]),
                "filters": set(view["filters"]),
                "classes": {ns: set(names) for ns, names in view["classes"].items()},
            }
        return self.views[name]


@pytest.fixture(scope="session")
def dissect_view(repositories: Path, tmp_path_factory: pytest.TempPathFactory) -> _DissectViews:
    return _DissectViews(repositories, tmp_path_factory.getbasetemp().parent)
