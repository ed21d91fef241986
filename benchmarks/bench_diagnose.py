"""diagnose: a full offline diagnosis of a bundle with real logs and a real repository (target < 10 s; WMIDiag
took 5-15 minutes) and with --quick (target < 2 s), against baselines measured in the same run: a bare Python
start, and loading the bundle alone."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from harness import CORPUS, ROOT, best_of, corpus_available, figure

sys.path.insert(0, str(ROOT))  # the corpus links are made by a helper under tests/

from tests.corpus_volume import link_bundle


def run(*args: str) -> None:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{args} failed with {result.returncode}: {result.stderr.strip()}")


def main() -> None:
    if not corpus_available():
        return
    with tempfile.TemporaryDirectory() as tmp:
        bundle = str(link_bundle(Path(tmp) / "bundle", CORPUS))
        startup = best_of(lambda: run("-c", "pass"))
        load_only = best_of(lambda: run("-c", f"from wmidoctor.sources.bundle import load; load({bundle!r})"))
        full = best_of(lambda: run("-m", "wmidoctor", "diagnose", bundle, "--format", "json"))
        quick = best_of(lambda: run("-m", "wmidoctor", "diagnose", bundle, "--quick", "--format", "json"))
    figure("diagnose full bundle (cold process)", full, "s", startup, "python startup", target="< 10 s")
    figure("diagnose full bundle vs loading alone", full, "s", load_only, "bundle load (cold)")
    figure("diagnose --quick (cold process)", quick, "s", startup, "python startup", target="< 2 s")


if __name__ == "__main__":
    main()
