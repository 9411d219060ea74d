-- The server that holds the database and the address it advertises: with PostgreSQL,
-- standby servers of the same database forward API calls there (one row, id 1).
CREATE TABLE active_node (
    id             INTEGER PRIMARY KEY,
    url            TEXT NOT NULL,
    since          REAL NOT NULL
);
