"""Property: every verb, on mutated real corpus files, exits 0, 1 or 2 within its time and memory limits,
prints no traceback and leaves its input byte for byte unchanged. Mutations are seeded (reproducible)."""

from __future__ import annotations

import hashlib
import random
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MEMORY_LIMIT = 3 * 1024**3  # address space; a reader that grows without bound hits this and fails the test
TIME_LIMIT = 90
MUTATIONS = 3

# (corpus file, how it is laid out for the verb, verbs to run on it)
CASES = [
    ("evtx/evtx-attack-samples__sysmon_20_21_1_CommandLineEventConsumer.evtx", "file", [["logs"], ["logs", "--json"]]),
    ("evtx/omerbenamram-evtx__system.evtx", "file", [["logs", "--format", "csv"]]),
    ("registry/HKLM_SOFTWARE_Microsoft_Ole.reg", "file", [["registry"], ["registry", "--json"]]),
    ("registry/SYSTEM", "file", [["registry", "--json"]]),
    (
        "mof/win32/snippets_implementing-cross-namespace-permanent-event-subscriptions__1.mof",
        "file",
        [["mof", "lint"], ["mof", "parse", "--json"], ["mof", "lint", "--format", "sarif"]],
    ),
    ("repository/win10-dissect-cim/INDEX.BTR", "repository", [["repo", "verify"], ["repo", "persistence"]]),
    (
        "evtx/hosts/dfirmuseum-win10-aptsimulator/Microsoft-Windows-WMI-Activity%4Operational.evtx",
        "logs-folder",
        [["diagnose"], ["bundle", "inspect"]],
    ),
]


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 40)):
        at = rng.randrange(len(out))
        out[at] = rng.randrange(256)
    if rng.random() < 0.3:
        del out[rng.randrange(len(out)) :]
    return bytes(out)


def _lay_out(corpus: Path, relative: str, layout: str, tmp_path: Path, seed: int) -> tuple[Path, Path]:
    """The mutated file placed as the verb expects it; returns (argument, mutated file)."""
    rng = random.Random(f"{relative}#{seed}")
    source = corpus / relative
    if layout == "repository":
        folder = tmp_path / "Repository"
        shutil.copytree(source.parent, folder)
        target = folder / source.name
    elif layout == "logs-folder":
        folder = tmp_path / "C" / "Windows" / "System32" / "winevt" / "Logs"
        folder.mkdir(parents=True)
        target = folder / source.name
        argument = tmp_path / "C"
    else:
        target = tmp_path / source.name
        folder = target
    target.write_bytes(_mutate(source.read_bytes(), rng))
    return (argument if layout == "logs-folder" else folder), target


def _digest(path: Path) -> str:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    sha = hashlib.sha256()
    for file in files:
        sha.update(file.name.encode() + file.read_bytes())
    return sha.hexdigest()


@pytest.mark.corpus
@pytest.mark.parametrize("seed", range(MUTATIONS))
@pytest.mark.parametrize(("relative", "layout", "verbs"), CASES, ids=[c[0].rsplit("/", 1)[-1] for c in CASES])
def test_verbs_on_mutated_corpus_files(corpus, tmp_path, relative, layout, verbs, seed):
    argument, _ = _lay_out(corpus, relative, layout, tmp_path, seed)
    before = _digest(argument)
    for verb in verbs:
        result = subprocess.run(
            [sys.executable, "-m", "wmidoctor", *verb, str(argument)],
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
            preexec_fn=_limits,
        )
        assert result.returncode in (0, 1, 2), (verb, result.returncode, result.stderr[-2000:])
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr, (verb, result.stderr)
        if result.returncode == 2:
            assert len(result.stderr.strip().splitlines()) == 1, (verb, result.stderr)
    assert _digest(argument) == before
