"""Fixtures for the fleet tests: a throwaway PostgreSQL server from Debian's packages on loopback, and fleet
entries made of links into the shared corpus and the example bundles."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from tests.corpus_volume import link_bundle, link_volume
from tests.fleet.pgserver import PostgresUnavailable, throwaway_postgres

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "bundles").iterdir())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _need(what: str, hint: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing, and CI must run this test ({hint})")
    pytest.skip(f"{what} is not available ({hint})")


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server started for the test session on 127.0.0.1 with a throwaway data folder; its URL."""
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        _need(exc.what, exc.hint)


@pytest.fixture
def fresh_postgres(postgres_url):
    """An empty database on the session server, dropped afterwards."""
    import psycopg

    name = f"fleet_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def fleet_entries(tmp_path, corpus) -> list[Path]:
    """Seven real entries: the five example bundles, a collector-shaped bundle of the attacked host and a
    mounted volume of it (links into ../shared/corpus), plus one unreadable entry."""
    entries = list(EXAMPLES)
    entries.append(link_bundle(tmp_path / "aptsim-bundle", corpus))
    entries.append(link_volume(tmp_path / "aptsim-volume", corpus))
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is no zip")
    entries.append(broken)
    return entries
