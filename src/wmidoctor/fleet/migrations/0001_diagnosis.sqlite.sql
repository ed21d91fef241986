-- Fleet diagnoses: runs, one row per host entry, its problems. Applied once; recorded in schema_migrations.
CREATE TABLE diagnosis_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    entries INTEGER NOT NULL DEFAULT 0,
    options TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE diagnosis_hosts (
    run_id INTEGER NOT NULL REFERENCES diagnosis_runs(id),
    source TEXT NOT NULL,
    site TEXT NOT NULL,
    host TEXT NOT NULL,
    domain TEXT NOT NULL,
    os_build TEXT NOT NULL,
    os_caption TEXT NOT NULL,
    collected TEXT NOT NULL,
    problems INTEGER NOT NULL,
    load_ms REAL NOT NULL,
    checks_ms REAL NOT NULL,
    error TEXT NOT NULL,
    PRIMARY KEY (run_id, source)
);
CREATE TABLE diagnosis_findings (
    run_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    check_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    codes TEXT NOT NULL,
    fix TEXT NOT NULL,
    PRIMARY KEY (run_id, source, check_id)
);
CREATE INDEX diagnosis_findings_check ON diagnosis_findings (run_id, check_id);
