"""The input gate's cost (issue 17: under 2 % of `logs` and `diagnose` on the corpus).

Each run is a fresh process that times one command in-process. The baseline is the same command in the same
run with the gate's three functions swapped, before any reader imports them, for plain open()/read() that do
no file-type check and no cap. Runs alternate gated/ungated, in flipped order each round, so drift on the
machine touches both alike; the fastest of each is compared. Whole-command times on a busy machine vary by
more than the 2 % at stake, so the run also times the gate's own functions inside the gated command: that
share is the cost, exactly."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from harness import CORPUS, ROOT, corpus_available, figure

sys.path.insert(0, str(ROOT))

from tests.corpus_volume import link_bundle

DRIVER = """
import sys, time
from pathlib import Path
if sys.argv[1] == "ungated":
    from wmidoctor.artifacts import gate
    gate.open_regular = lambda path: open(path, "rb")
    gate.check_regular = lambda path: None
    gate.read_capped = lambda path, kind: Path(path).read_bytes()
spent = [0.0]
if sys.argv[1] == "gated":
    from wmidoctor.artifacts import gate
    def timed_call(function):
        def call(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - began
        return call
    for name in ("open_regular", "check_regular", "read_capped"):
        setattr(gate, name, timed_call(getattr(gate, name)))
from wmidoctor.cli import main
start = time.perf_counter()
try:
    main(sys.argv[2:])
except SystemExit:
    pass
print(spent[0], time.perf_counter() - start, file=sys.stderr)
"""
ROUNDS = 7


def timed(mode: str, args: list[str]) -> tuple[float, float]:
    """(seconds inside the gate's functions, seconds of the whole command) for one fresh process."""
    result = subprocess.run([sys.executable, "-c", DRIVER, mode, *args], capture_output=True, text=True)
    inside, whole = result.stderr.strip().splitlines()[-1].split()
    return float(inside), float(whole)


def compare(name: str, args: list[str]) -> None:
    gated, ungated = [], []
    for round_number in range(ROUNDS):  # the order flips each round, so neither always runs on a warmer cache
        for mode in ("gated", "ungated") if round_number % 2 else ("ungated", "gated"):
            (gated if mode == "gated" else ungated).append(timed(mode, args))
    figure(
        name,
        min(whole for _, whole in gated),
        "s",
        min(whole for _, whole in ungated),
        "same command, gate bypassed",
        target="ratio < 1.02 (noisy on a busy machine)",
    )
    inside, whole = min(gated, key=lambda pair: pair[1])
    figure(f"{name}: time inside the gate", inside, "s", whole, "the whole command", target="ratio < 0.02")


def main() -> None:
    if not corpus_available():
        return
    hosts = CORPUS / "evtx" / "hosts"
    compare("logs, five corpus log sets (in-process)", ["logs", "--format", "json", *map(str, sorted(hosts.iterdir()))])
    with tempfile.TemporaryDirectory() as tmp:
        bundle = str(link_bundle(Path(tmp) / "bundle", CORPUS))
        compare("diagnose, corpus bundle (in-process)", ["diagnose", bundle, "--format", "json"])


if __name__ == "__main__":
    main()
