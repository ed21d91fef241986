"""Run many fake WMI hosts in one process: `python -m tests.probe.fakes.farm COUNT [SCENARIO]`.

Prints the listening ports (one line, space separated) and serves until its stdin closes; benchmarks
start it as a separate process so the fakes do not share the prober's interpreter lock.
"""

from __future__ import annotations

import sys

from tests.probe.fakes.msrpc import FakeRpcServer, Scenario

SCENARIOS = {
    "healthy": Scenario(reuse_replies=True),
    "activation_denied": Scenario(activation_error=0x80070005, reuse_replies=True),
    "invalid_class": Scenario(query_error=0x80041010, reuse_replies=True),
    "bind_refused": Scenario(bind_nak=0),
}


def main(argv: list[str]) -> None:
    count = int(argv[0])
    names = argv[1].split(",") if len(argv) > 1 else ["healthy"]
    servers = [FakeRpcServer(SCENARIOS[names[i % len(names)]]) for i in range(count)]
    for server in servers:
        server.__enter__()
    print(" ".join(str(s.port) for s in servers), flush=True)
    sys.stdin.read()
    for server in servers:
        server.close()


if __name__ == "__main__":
    main(sys.argv[1:])
