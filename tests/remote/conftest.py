"""Fixtures for probe tests: fake hosts on loopback, and a closed port."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the fakes are imported as tests.probe.fakes

from tests.probe.fakes.msrpc import FakeRpcServer, Scenario


@pytest.fixture
def fake_host():
    """Start a fake WMI host for a scenario; stopped at the end of the test."""
    servers: list[FakeRpcServer] = []

    def start(scenario: Scenario | None = None) -> FakeRpcServer:
        server = FakeRpcServer(scenario).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
