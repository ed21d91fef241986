"""Fixtures for probe tests: fake hosts on loopback, and a closed port."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the fakes are imported as tests.remote.fakes

from tests.remote.fakes.msrpc import FakeRpcServer, Scenario
from tests.remote.kdc import MitKdc, find_tools


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


@pytest.fixture(scope="module")
def kdc(tmp_path_factory):
    """A real MIT KDC on loopback with a throwaway realm and host/localhost; principals are made per test.
    Skipped when the KDC is not installed, except under CI=true, where that is a failure."""
    tools = find_tools()
    if tools is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the MIT KDC (krb5-kdc, krb5-admin-server) is not installed, and CI must run these tests")
        pytest.skip("the MIT KDC is not installed (./run test installs krb5-kdc when it runs as root)")
    server = MitKdc(tmp_path_factory.mktemp("realm"), tools)
    server.add_service("host/localhost")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate")
    folder = tmp_path_factory.mktemp("cert")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other-name",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return str(cert), str(key)
