-- State machine versions and aliases, the version/alias an execution was started
-- through, and Distributed Map runs. Dates are epoch seconds (REAL); JSON is TEXT.

-- A version is an immutable pointer to one revision. Numbers are never reused, even
-- after a version is deleted, so the last number handed out is kept per machine.
CREATE TABLE machine_versions (
    machine_arn    TEXT NOT NULL,
    version        INTEGER NOT NULL,
    revision_id    TEXT NOT NULL,
    description    TEXT,
    creation_date  REAL NOT NULL,
    PRIMARY KEY (machine_arn, version)
) WITHOUT ROWID;

CREATE TABLE version_counters (
    machine_arn    TEXT PRIMARY KEY,
    last           INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE machine_aliases (
    arn            TEXT PRIMARY KEY,
    machine_arn    TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT,
    routing        TEXT NOT NULL,        -- routingConfiguration as the API returns it (JSON)
    creation_date  REAL NOT NULL,
    update_date    REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX machine_aliases_machine ON machine_aliases (machine_arn, name);

-- Only executions started through a version or an alias have a row here.
CREATE TABLE execution_sources (
    execution_arn  TEXT PRIMARY KEY,
    machine_arn    TEXT NOT NULL,
    version_arn    TEXT,
    alias_arn      TEXT
) WITHOUT ROWID;
CREATE INDEX execution_sources_version ON execution_sources (version_arn);
CREATE INDEX execution_sources_alias ON execution_sources (alias_arn);

-- One row per Distributed Map run, written with the events that start and end it.
CREATE TABLE map_runs (
    arn            TEXT PRIMARY KEY,
    execution_id   INTEGER NOT NULL,
    status         TEXT NOT NULL,
    start_date     REAL NOT NULL,
    stop_date      REAL,
    total          INTEGER NOT NULL,      -- items (= child workflow executions)
    max_concurrency INTEGER NOT NULL DEFAULT 0,
    tolerated_failure_percentage REAL NOT NULL DEFAULT 0,
    tolerated_failure_count INTEGER NOT NULL DEFAULT 0,
    seq            INTEGER NOT NULL       -- start order within the execution
) WITHOUT ROWID;
CREATE INDEX map_runs_execution ON map_runs (execution_id, seq);
