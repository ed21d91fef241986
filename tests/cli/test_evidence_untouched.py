"""No verb writes into the evidence it reads: corpus bytes and modification times are the same after a run."""

from __future__ import annotations

import hashlib
from pathlib import Path


def _fingerprint(paths: list[Path]) -> dict[str, tuple[str, int]]:
    files = sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
    return {str(f): (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns) for f in files}


def test_every_verb_leaves_the_corpus_as_it_was(cli, corpus, mounted_volume):
    read = [
        corpus / "evtx" / "hosts" / "dfirmuseum-win10-aptsimulator",
        corpus / "registry",
        corpus / "repository" / "win10-dfirmuseum-aptsimulator",
    ]
    before = _fingerprint(read)
    runs = [
        ("logs", str(read[0])),
        ("registry", str(corpus / "registry" / "SYSTEM_B")),  # dirty: its .LOG1/.LOG2 are replayed
        ("registry", str(corpus / "registry" / "HKLM_SOFTWARE_Microsoft_Ole.reg")),
        ("repo", "verify", str(read[2])),
        ("repo", "ls", str(read[2])),
        ("repo", "show", str(read[2]), "root\\subscription:__EventFilter"),
        ("repo", "providers", str(read[2])),
        ("repo", "persistence", str(read[2])),
        ("diagnose", str(mounted_volume)),
    ]
    for args in runs:
        assert cli(*args).returncode in (0, 1), args
    assert _fingerprint(read) == before
