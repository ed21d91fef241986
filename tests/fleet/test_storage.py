"""One storage suite for both back ends: SQLite (embedded) and PostgreSQL (a real server on loopback)."""

from __future__ import annotations

import pytest

from wmidoctor.errors import InputError
from wmidoctor.fleet.model import HostDiagnosis, HostFinding
from wmidoctor.fleet.storage import migrations, open_store


@pytest.fixture(params=["sqlite", "postgres"])
def target(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "fleet.sqlite")
    return request.getfixturevalue("fresh_postgres")


def _diagnosis(source: str, *checks: str, site: str = "paris", error: str = "") -> HostDiagnosis:
    return HostDiagnosis(
        source,
        site,
        host=source.upper(),
        os_build="19045",
        collected=["events"],
        findings=[HostFinding(c, "error", "fail", ["0x80070005"], f"fix {c}") for c in checks],
        load_ms=1.5,
        checks_ms=0.5,
        error=error,
    )


def test_migrations_apply_once_and_are_versioned(target):
    versions = [number for number, _ in migrations("sqlite")]
    assert versions == sorted(versions) and versions[0] == 1
    assert [n for n, _ in migrations("postgres")] == versions
    store = open_store(target)
    assert store.migrate() == versions[-1]  # a second run applies nothing and keeps the version
    store.close()
    assert open_store(target).migrate() == versions[-1]


def test_runs_hosts_and_findings_round_trip(target):
    store = open_store(target)
    run = store.start_run({"engine": "local"}, entries=3)
    assert store.add(run, [_diagnosis("a", "dcom.x", "firewall.y"), _diagnosis("b")]) == 2
    assert store.add(run, [_diagnosis("c", error="not a zip")]) == 1
    store.finish_run(run)
    (stored,) = store.runs()
    assert (stored["id"], stored["entries"], stored["stored"], stored["options"]) == (run, 3, 3, {"engine": "local"})
    assert stored["finished_at"]
    hosts = {h["source"]: h for h in store.hosts(run)}
    assert hosts["a"]["problems"] == 2 and hosts["a"]["host"] == "A" and hosts["c"]["error"] == "not a zip"
    assert [(f["source"], f["check_id"], f["codes"]) for f in store.findings(run)] == [
        ("a", "dcom.x", "0x80070005"),
        ("a", "firewall.y", "0x80070005"),
    ]
    store.close()


def test_an_entry_stored_twice_is_kept_once(target):
    store = open_store(target)
    run = store.start_run({}, entries=2)
    store.add(run, [_diagnosis("a", "dcom.x")])
    assert store.add(run, [_diagnosis("a", "dcom.x"), _diagnosis("b"), _diagnosis("b")]) == 1
    assert store.stored_sources(run) == {"a", "b"}
    assert len(store.findings(run)) == 1
    other = store.start_run({}, entries=1)
    assert store.add(other, [_diagnosis("a")]) == 1  # another run may hold the same entry
    store.close()


def test_reports_open_read_only_and_refuse_what_is_not_a_fleet_database(tmp_path):
    path = tmp_path / "fleet.sqlite"
    store = open_store(str(path))
    store.add(store.start_run({}, 1), [_diagnosis("a")])
    store.close()
    before = path.read_bytes()
    reader = open_store(str(path), read_only=True)
    assert len(reader.runs()) == 1
    with pytest.raises(Exception):  # noqa: B017 - sqlite3's read-only error
        reader.start_run({}, 1)
    reader.close()
    assert path.read_bytes() == before
    other = tmp_path / "other.sqlite"
    other.write_bytes(b"not a database at all" * 100)
    with pytest.raises(InputError, match="not a wmidoctor fleet diagnosis database"):
        open_store(str(other), read_only=True)
    with pytest.raises(InputError, match="no such file"):
        open_store(str(tmp_path / "missing.sqlite"), read_only=True)


def test_a_postgres_server_that_is_not_there_is_one_line():
    with pytest.raises(InputError, match="cannot connect to the PostgreSQL database"):
        open_store("postgresql://nobody@127.0.0.1:1/none")
