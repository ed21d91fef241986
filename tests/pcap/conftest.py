"""Fixtures for capture tests: the probe's fake hosts (imported, never edited) recorded from loopback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the fakes are imported as tests.remote.fakes

from tests.pcap.sniffer import LoopbackCapture, capture_available
from tests.remote.conftest import closed_port, fake_host, kdc, self_signed  # noqa: F401  (the probe's own fixtures)


@pytest.fixture
def record(tmp_path):
    """record(ports) -> a context manager recording loopback TCP on those ports; .write(path) saves a pcap."""
    why = capture_available()
    if why:
        pytest.skip(why)

    def start(*ports: int) -> LoopbackCapture:
        return LoopbackCapture(set(ports))

    return start
