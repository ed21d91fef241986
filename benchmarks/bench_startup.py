"""Fixed costs: how long each verb takes to start over a bare Python start (issue 21: at most +50 ms), and the
MOF grammar's parse tables built in a fresh process against loaded from the per-user cache a previous process
wrote. Each figure is the best of several fresh processes, measured in this run against its baseline.

A verb's start is measured up to the point where it has read its options and would read its input: a fresh
`wmidoctor VERB --start-only-probe` (an option no verb has: the verb is loaded, its options parsed, and it stops
with a usage error; `explain` takes it for a code and looks it up in its catalogue, so its figure includes
loading the catalogue). Its --help is shown too.

Every process runs with compiled bytecode, as after `pip install` (which compiles it): the caches go to a scratch
folder (PYTHONPYCACHEPREFIX), written by a first run that is not counted. A machine that sets
PYTHONDONTWRITEBYTECODE would otherwise compile every module at every start and time the compiler.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from harness import figure

VERBS = ("explain", "probe", "pcap", "fleet", "diagnose", "bundle", "logs", "repo", "registry", "mof", "trace")
RUNS = 15


def fresh(*args: str, env: dict[str, str] | None = None, status: int = 0) -> float:
    """The fastest of RUNS fresh `python ARGS` processes (each ending with `status`), in seconds, after one
    uncounted run that writes the bytecode caches."""
    best = float("inf")
    subprocess.run([sys.executable, *args], capture_output=True, env=env, check=False)
    for _ in range(RUNS):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False
        )
        if done.returncode != status:
            raise SystemExit(f"{args}: exit {done.returncode}, expected {status}")
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-startup-pyc-") as pyc:
        compiled = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        compiled["PYTHONPYCACHEPREFIX"] = pyc
        measure(compiled)


def measure(compiled: dict[str, str]) -> None:
    bare = fresh("-c", "pass", env=compiled)
    figure("bare Python start (ms)", bare * 1000, "ms")
    for verb in VERBS:
        started = fresh("-m", "wmidoctor", verb, "--start-only-probe", env=compiled, status=2)
        figure(f"wmidoctor {verb}: start, over bare Python (ms)", (started - bare) * 1000, "ms", target="<= 50 ms")
        helped = fresh("-m", "wmidoctor", verb, "--help", env=compiled)
        figure(f"wmidoctor {verb} --help, over bare Python (ms)", (helped - bare) * 1000, "ms")
    build = "from wmidoctor.artifacts.mof.parser import default_parser; default_parser()"
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as home:
        cached = dict(compiled, XDG_CACHE_HOME=home)
        subprocess.run([sys.executable, "-c", build], check=True, env=cached)  # writes the tables once
        from_cache = fresh("-c", build, env=cached)
    built = fresh("-c", build, env=dict(compiled, WMIDOCTOR_NO_CACHE="1"))
    figure("MOF grammar ready, tables from the cache (ms)", (from_cache - bare) * 1000, "ms")
    figure(
        "MOF grammar ready, cache vs building the tables",
        (from_cache - bare) * 1000,
        "ms",
        (built - bare) * 1000,
        "tables built",
    )


if __name__ == "__main__":
    main()
