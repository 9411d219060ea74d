-- The first schema. Dates are epoch seconds (REAL); JSON is stored as TEXT.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE state_machines (
    arn            TEXT PRIMARY KEY,
    region         TEXT NOT NULL,
    account        TEXT NOT NULL,
    name           TEXT NOT NULL,
    type           TEXT NOT NULL,
    revision_id    TEXT NOT NULL,        -- the current revision (row in revisions)
    updated        INTEGER NOT NULL DEFAULT 0,  -- 1 once UpdateStateMachine ran (revisionId shown)
    status         TEXT NOT NULL,
    creation_date  REAL NOT NULL,
    seq            INTEGER NOT NULL      -- creation order, for stable listing
);
CREATE INDEX state_machines_scope ON state_machines (account, region, seq);

-- One row per revision: executions keep the definition they started with.
CREATE TABLE revisions (
    machine_arn    TEXT NOT NULL,
    revision_id    TEXT NOT NULL,
    definition     TEXT NOT NULL,
    role_arn       TEXT NOT NULL,
    logging        TEXT NOT NULL,
    tracing        TEXT NOT NULL,
    update_date    REAL NOT NULL,
    PRIMARY KEY (machine_arn, revision_id)
) WITHOUT ROWID;

CREATE TABLE activities (
    arn            TEXT PRIMARY KEY,
    region         TEXT NOT NULL,
    account        TEXT NOT NULL,
    name           TEXT NOT NULL,
    creation_date  REAL NOT NULL,
    seq            INTEGER NOT NULL
);
CREATE INDEX activities_scope ON activities (account, region, seq);

CREATE TABLE tags (
    resource_arn   TEXT NOT NULL,
    key            TEXT NOT NULL,
    value          TEXT NOT NULL,
    PRIMARY KEY (resource_arn, key)
) WITHOUT ROWID;

CREATE TABLE executions (
    id             INTEGER PRIMARY KEY,  -- start order: ListExecutions is newest first
    arn            TEXT NOT NULL UNIQUE,
    machine_arn    TEXT NOT NULL,
    revision_id    TEXT NOT NULL,
    name           TEXT NOT NULL,
    role_arn       TEXT NOT NULL,
    status         TEXT NOT NULL,
    input          TEXT NOT NULL,
    output         TEXT,
    error          TEXT,
    cause          TEXT,
    start_date     REAL NOT NULL,
    stop_date      REAL,
    state          TEXT                  -- engine state (JSON) while RUNNING; NULL once closed
);
CREATE INDEX executions_machine ON executions (machine_arn, id);
CREATE INDEX executions_machine_status ON executions (machine_arn, status, id);
CREATE INDEX executions_running ON executions (status) WHERE status = 'RUNNING';

CREATE TABLE events (
    execution_id   INTEGER NOT NULL,
    id             INTEGER NOT NULL,
    body           TEXT NOT NULL,        -- the event exactly as GetExecutionHistory returns it
    PRIMARY KEY (execution_id, id)
) WITHOUT ROWID;
