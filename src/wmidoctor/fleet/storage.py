"""Where fleet diagnoses are kept: SQLite (the embedded default) or PostgreSQL (`postgresql://...`, through
psycopg 3) with one schema, applied by versioned migrations (fleet/migrations/NNNN_name.DIALECT.sql).

Writes come in batches, each one transaction; an entry already stored for a run is never written twice (a
resumed or retried task is idempotent). PostgreSQL readers never block writers (MVCC); SQLite runs in WAL
mode for the same reason, and reports open it read-only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from wmidoctor.errors import InputError
from wmidoctor.fleet.model import HostDiagnosis


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def migrations(dialect: str) -> list[tuple[int, str]]:
    """(version, SQL) of every migration for the dialect, oldest first."""
    found = []
    for entry in resources.files("wmidoctor.fleet").joinpath("migrations").iterdir():
        name = entry.name
        if name.endswith(f".{dialect}.sql"):
            found.append((int(name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


class Store:
    """A fleet database. Subclasses say how to connect and how parameters are written."""

    dialect = ""
    mark = "?"

    def __init__(self, conn: Any, target: str) -> None:
        self.conn, self.target = conn, target

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self.conn:  # sqlite3: commit on success, roll back on error (the connection stays open)
            yield

    def _many(self, sql: str, rows: list[tuple]) -> None:
        self.conn.executemany(self._q(sql), rows)

    # --- schema ------------------------------------------------------------------------------------
    def migrate(self) -> int:
        """Apply the migrations not yet applied; return the schema version."""
        with self._transaction():
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
        applied = {row[0] for row in self.conn.execute("SELECT version FROM schema_migrations").fetchall()}
        version = max(applied, default=0)
        for number, sql in migrations(self.dialect):
            if number in applied:
                continue
            with self._transaction():
                for statement in _statements(sql):
                    self.conn.execute(statement)
                self.conn.execute(
                    self._q("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"), (number, _now())
                )
            version = number
        return version

    def _q(self, sql: str) -> str:
        return sql.replace("?", self.mark)

    # --- writing -----------------------------------------------------------------------------------
    def start_run(self, options: dict, entries: int) -> int:
        with self._transaction():
            row = self.conn.execute(
                self._q("INSERT INTO diagnosis_runs (started_at, entries, options) VALUES (?, ?, ?) RETURNING id"),
                (_now(), entries, json.dumps(options, sort_keys=True)),
            ).fetchone()
        return int(row[0])

    def add(self, run_id: int, diagnoses: Iterable[HostDiagnosis]) -> int:
        """Store a batch in one transaction; entries already stored for the run are left as they are.
        Returns how many were new."""
        batch = list(diagnoses)
        if not batch:
            return 0
        stored = self.stored_sources(run_id)
        fresh = [d for d in batch if d.source not in stored]
        fresh = list({d.source: d for d in fresh}.values())
        with self._transaction():
            self._many(
                (
                    "INSERT INTO diagnosis_hosts (run_id, source, site, host, domain, os_build, os_caption, collected,"
                    " problems, load_ms, checks_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                [
                    (
                        run_id,
                        d.source,
                        d.site,
                        d.host,
                        d.domain,
                        d.os_build,
                        d.os_caption,
                        ",".join(d.collected),
                        len(d.findings),
                        d.load_ms,
                        d.checks_ms,
                        d.error,
                    )
                    for d in fresh
                ],
            )
            rows = [
                (run_id, d.source, f.check, f.severity, f.status, ",".join(f.codes), f.fix)
                for d in fresh
                for f in {f.check: f for f in d.findings}.values()
            ]
            if rows:
                self._many(
                    "INSERT INTO diagnosis_findings (run_id, source, check_id, severity, status, codes, fix)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        return len(fresh)

    def finish_run(self, run_id: int) -> None:
        with self._transaction():
            self.conn.execute(self._q("UPDATE diagnosis_runs SET finished_at = ? WHERE id = ?"), (_now(), run_id))

    # --- reading -----------------------------------------------------------------------------------
    def stored_sources(self, run_id: int) -> set[str]:
        rows = self.conn.execute(self._q("SELECT source FROM diagnosis_hosts WHERE run_id = ?"), (run_id,))
        return {row[0] for row in rows.fetchall()}

    def runs(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT r.id, r.started_at, r.finished_at, r.entries, r.options, "
            "(SELECT COUNT(*) FROM diagnosis_hosts h WHERE h.run_id = r.id) "
            "FROM diagnosis_runs r ORDER BY r.id"
        ).fetchall()
        return [
            {
                "id": int(r[0]),
                "started_at": r[1],
                "finished_at": r[2] or "",
                "entries": int(r[3]),
                "options": json.loads(r[4] or "{}"),
                "stored": int(r[5]),
            }
            for r in rows
        ]

    def hosts(self, run_id: int) -> list[dict[str, Any]]:
        columns = (
            "source",
            "site",
            "host",
            "domain",
            "os_build",
            "os_caption",
            "collected",
            "problems",
            "load_ms",
            "checks_ms",
            "error",
        )
        rows = self.conn.execute(
            self._q(f"SELECT {', '.join(columns)} FROM diagnosis_hosts WHERE run_id = ? ORDER BY source"), (run_id,)
        ).fetchall()
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def findings(self, run_id: int) -> list[dict[str, Any]]:
        columns = ("source", "check_id", "severity", "status", "codes", "fix")
        rows = self.conn.execute(
            self._q(f"SELECT {', '.join(columns)} FROM diagnosis_findings WHERE run_id = ? ORDER BY source, check_id"),
            (run_id,),
        ).fetchall()
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def close(self) -> None:
        self.conn.close()


class SqliteStore(Store):
    dialect = "sqlite"
    mark = "?"


class PostgresStore(Store):
    """psycopg 3 in autocommit mode: reads take no lock and hold no transaction open; writes are explicit
    transactions."""

    dialect = "postgres"
    mark = "%s"

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def _many(self, sql: str, rows: list[tuple]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(self._q(sql), rows)


def _sqlite(path: str, read_only: bool) -> SqliteStore:
    import sqlite3

    if read_only:
        from wmidoctor.dbfiles import open_read_only

        conn = open_read_only(path)
    else:
        conn = sqlite3.connect(path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
    return SqliteStore(conn, path)


def _postgres(dsn: str) -> PostgresStore:
    try:
        import psycopg
    except ImportError:
        raise InputError("PostgreSQL storage needs psycopg 3: pip install 'wmidoctor[postgres]'") from None
    try:
        conn = psycopg.connect(dsn, connect_timeout=10, autocommit=True)
    except psycopg.Error as exc:
        raise InputError(f"cannot connect to the PostgreSQL database: {' '.join(str(exc).split())}") from None
    return PostgresStore(conn, dsn.split("@")[-1])  # the target shown in messages, without credentials


def open_store(target: str, read_only: bool = False) -> Store:
    """A store for `target`: a postgresql:// (or postgres://) URL, else a SQLite file path."""
    if target.startswith(("postgresql://", "postgres://")):
        store: Store = _postgres(target)
    else:
        store = _sqlite(target, read_only)
    if read_only:
        try:
            tables = store.conn.execute("SELECT COUNT(*) FROM diagnosis_runs").fetchone()
        except Exception as exc:  # sqlite3.DatabaseError or psycopg.Error: not a fleet database
            store.close()
            raise InputError(
                f"{store.target}: not a wmidoctor fleet diagnosis database ({' '.join(str(exc).split())})"
            ) from None
        del tables
    else:
        store.migrate()
    return store
