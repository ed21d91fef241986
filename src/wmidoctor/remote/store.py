"""Fleet results in SQLite (stdlib): runs, results (one per host and transport), stages.

Created on first use; each run adds rows and never rewrites earlier runs. No secret is ever stored
(password, hashes, tickets); the account name appears only where a stage says who was accepted.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from wmidoctor.remote.model import ProbeResult, code_label

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    hosts INTEGER NOT NULL DEFAULT 0,
    options TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    host TEXT NOT NULL,
    transport TEXT NOT NULL,
    status TEXT NOT NULL,
    failing_stage TEXT,
    code INTEGER,
    reason TEXT,
    layer TEXT,
    cause TEXT,
    fix_where TEXT,
    elapsed_ms REAL NOT NULL,
    first_row TEXT
);
CREATE INDEX IF NOT EXISTS results_run ON results(run_id, host, transport);
CREATE TABLE IF NOT EXISTS stages (
    result_id INTEGER NOT NULL REFERENCES results(id),
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    elapsed_ms REAL NOT NULL,
    code INTEGER,
    reason TEXT,
    layer TEXT,
    detail TEXT,
    PRIMARY KEY (result_id, seq)
);
"""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class FleetStore:
    def __init__(self, path: str | Path):
        self.db = sqlite3.connect(str(path))
        # Write-ahead log, synced at checkpoints: a commit per host stays cheap, and a killed process
        # keeps every committed host.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def start_run(self, options: dict) -> int:
        cursor = self.db.execute(
            "INSERT INTO runs (started_at, options) VALUES (?, ?)", (_now(), json.dumps(options, sort_keys=True))
        )
        self.db.commit()
        return int(cursor.lastrowid or 0)

    def add(self, run_id: int, results: list[ProbeResult]) -> None:
        for result in results:
            failing = result.failing_stage
            verdict = result.verdict
            cursor = self.db.execute(
                "INSERT INTO results (run_id, host, transport, status, failing_stage, code, reason, layer, cause,"
                " fix_where, elapsed_ms, first_row) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    result.target,
                    result.transport,
                    result.status,
                    failing.name if failing else None,
                    failing.code if failing else None,
                    failing.reason if failing else None,
                    failing.layer if failing else None,
                    result.error or (verdict.cause if verdict else None),
                    verdict.where if verdict else None,
                    round(result.elapsed_ms, 2),
                    result.first_row or None,
                ),
            )
            self.db.executemany(
                "INSERT INTO stages (result_id, seq, name, status, elapsed_ms, code, reason, layer, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (cursor.lastrowid, i, s.name, s.status, s.elapsed_ms, s.code, s.reason, s.layer, s.detail)
                    for i, s in enumerate(result.stages)
                ],
            )

    def finish_run(self, run_id: int) -> None:
        self.db.execute(
            "UPDATE runs SET finished_at = ?, hosts = (SELECT COUNT(DISTINCT host) FROM results"
            " WHERE run_id = ?) WHERE id = ?",
            (_now(), run_id, run_id),
        )
        self.db.commit()

    def hosts_done(self, run_id: int, transports: int) -> set[str]:
        """Hosts of run `run_id` with a stored result for every transport (what --resume skips)."""
        from wmidoctor.errors import InputError

        if self.db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            raise InputError(f"--resume {run_id}: no such run in this database")
        rows = self.db.execute(
            "SELECT host FROM results WHERE run_id = ? GROUP BY host HAVING COUNT(*) >= ?", (run_id, transports)
        )
        return {row[0] for row in rows}

    def commit(self) -> None:
        self.db.commit()


def open_existing(path: str | Path) -> sqlite3.Connection:
    """Open a fleet database for reading (it is never changed, no file is created beside it); refuses a file
    that is not one."""
    from wmidoctor.dbfiles import damage_is_input_error, open_read_only
    from wmidoctor.errors import InputError

    db = open_read_only(path)
    with damage_is_input_error(path):
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"runs", "results", "stages"} <= tables:
        raise InputError(f"{path}: not a wmidoctor fleet database (no runs/results/stages tables)")
    return db


def run_ids(db: sqlite3.Connection) -> list[int]:
    from wmidoctor.dbfiles import typed

    return [typed(row[0], int, f"runs row {n}") for n, row in enumerate(db.execute("SELECT id FROM runs ORDER BY id"))]


def run_rows(db: sqlite3.Connection, run_id: int) -> list[dict[str, str]]:
    """One row per host and transport of a run, in the shape the fleet table uses; a value of the wrong type
    (a damaged or hand-edited database) is one line naming the row and column."""
    from wmidoctor.dbfiles import typed

    rows = []
    for row_id, host, transport, status, stage, code, reason, cause, elapsed in db.execute(
        "SELECT id, host, transport, status, failing_stage, code, reason, cause, elapsed_ms FROM results"
        " WHERE run_id = ? ORDER BY id",
        (run_id,),
    ):
        where = f"results row {row_id}"
        rows.append(
            {
                "host": typed(host, str, f"{where} host"),
                "transport": typed(transport, str, f"{where} transport"),
                "status": typed(status, str, f"{where} status"),
                "failing_stage": typed(stage, str, f"{where} failing_stage", optional=True) or "",
                "code": code_label(
                    typed(code, int, f"{where} code", optional=True),
                    typed(reason, str, f"{where} reason", optional=True),
                ),
                "cause": typed(cause, str, f"{where} cause", optional=True) or "",
                "elapsed_ms": f"{typed(elapsed, (int, float), f'{where} elapsed_ms'):.1f}",
            }
        )
    return rows
