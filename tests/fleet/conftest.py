"""Fixtures for the fleet tests: a throwaway PostgreSQL server from Debian's packages on loopback, and fleet
entries made of links into the shared corpus and the example bundles."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from tests.corpus_volume import link_bundle, link_volume

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
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        _need("PostgreSQL", "./run test installs Debian's postgresql when run as root")
    try:
        import psycopg
    except ImportError:
        _need("psycopg", "pip install 'wmidoctor[postgres]'")
    bin_dir = Path(binaries[-1]).parent
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = Path(tempfile.mkdtemp(prefix="wmidoctor-pg-"))
    if as_postgres:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "wmidoctor",
                    "--auth=trust", "-E", "UTF8"], check=True, capture_output=True, timeout=120)
    server = subprocess.Popen([*as_postgres, str(bin_dir / "postgres"), "-D", str(data / "db"), "-p", str(port),
                               "-h", "127.0.0.1", "-k", str(data), "-c", "fsync=off"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"postgresql://wmidoctor@127.0.0.1:{port}/postgres"
    import psycopg

    for _ in range(300):
        try:
            psycopg.connect(url, connect_timeout=2).close()
            break
        except psycopg.OperationalError:
            if server.poll() is not None:
                pytest.fail("the PostgreSQL server did not start")
            time.sleep(0.1)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


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
