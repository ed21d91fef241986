"""Pinned outputs: a test computes a document, compares it with the one stored beside it, and on request writes
it instead (`WMIDOCTOR_UPDATE_SNAPSHOTS=1`, then review the diff like code). Documents made from the corpus are
stored as digests only: the corpus is never copied into the repository."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from wmidoctor.checks import CHECKS, run_checks
from wmidoctor.checks.runner import run_one
from wmidoctor.evidence.model import Evidence
from wmidoctor.findings import Finding

UPDATE = os.environ.get("WMIDOCTOR_UPDATE_SNAPSHOTS") == "1"


def canonical(data: object) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False)


def digest(data: object) -> str:
    return hashlib.sha256(canonical(data).encode()).hexdigest()[:16]


def compare(path: Path, actual: dict, shown: dict | None = None) -> None:
    """Assert `actual` (a dict of named parts) equals the stored snapshot, part by part; `shown` holds what to
    print for a part that changed when `actual` holds digests."""
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(canonical(actual) + "\n", encoding="utf-8")
        return
    assert path.is_file(), f"no snapshot {path.name}: run with WMIDOCTOR_UPDATE_SNAPSHOTS=1 and review it"
    expected = json.loads(path.read_text(encoding="utf-8"))
    for part in sorted(set(expected) | set(actual)):
        now = (shown or {}).get(part, actual.get(part))
        assert actual.get(part) == expected.get(part), f"{path.name}: {part} changed; it is now {canonical(now)}"


_TESTS = Path(__file__).resolve().parent
_TMP = re.compile(r"/tmp/pytest-of-[^/]+/pytest-\d+(?:/popen-gw\d+)?/[^/\"\\]+")
_calls: dict[str, int] = {}
_stored: dict[Path, dict] = {}


def neutral(data: object, places: tuple[tuple[Path, str], ...] = ()) -> Any:
    """`data` with the given folders, this checkout and pytest's temporary folders written as neutral names, so
    that what is stored does not depend on where the tests ran."""
    text = json.dumps(data)
    for folder, name in (*places, (_TESTS.parent, "<repository>")):
        text = text.replace(json.dumps(str(folder))[1:-1], name)
    return json.loads(_TMP.sub("<tmp>", text))


def findings_data(evidence: Evidence, places: tuple[tuple[Path, str], ...] = ()) -> dict[str, dict]:
    """Every check's finding on `evidence` as data, by check id, made neutral (`neutral`)."""
    return neutral({run.finding.check: run.finding.to_data() for run in run_checks(evidence)}, places)


def pin(finding: Finding) -> None:
    """Pin the whole of a finding that a branch test made, beside its status and severity: stored per test module
    in `snapshots/<module>.json` next to it, under the test's id and the call's number within the test. Paths of
    this checkout and of pytest's temporary folders are made neutral."""
    test = os.environ["PYTEST_CURRENT_TEST"].rsplit(" ", 1)[0]  # "tests/checks/test_x.py::test_y[row]"
    _calls[test] = number = _calls.get(test, 0) + 1  # counted afresh for each run of a test (conftest)
    module = Path(test.partition("::")[0])
    path = _TESTS.joinpath(*module.parts[1:]).parent / "snapshots" / f"{module.stem}.json"
    data = neutral(finding.to_data())
    key = f"{test.partition('::')[2]} #{number}"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        with open(path, "a+", encoding="utf-8") as handle:  # xdist workers update the same file
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            stored = json.loads(handle.read() or "{}")
            stored[key] = data
            handle.seek(0)
            handle.truncate()
            handle.write(canonical(stored) + "\n")
        return
    if path not in _stored:
        assert path.is_file(), f"no snapshot {path.name}: run with WMIDOCTOR_UPDATE_SNAPSHOTS=1 and review it"
        _stored[path] = json.loads(path.read_text(encoding="utf-8"))
    assert key in _stored[path], f"{path.name} has no {key!r}: run with WMIDOCTOR_UPDATE_SNAPSHOTS=1 and review it"
    assert data == _stored[path][key], f"{path.name}: {key} changed; it is now {canonical(data)}"


def new_test() -> None:
    """A test starts: its pinned findings are numbered from 1 again (a process may run the same test twice)."""
    _calls.clear()


def judged(check_id: str, evidence: Evidence) -> Finding:
    """Run one check on hand-made evidence and pin its whole finding (`pin`)."""
    finding = run_one(CHECKS[check_id], evidence).finding
    pin(finding)
    return finding
