"""The SQL that differs between databases, kept in one place.

SQLite (the embedded default) and PostgreSQL (psycopg 3). Everything else in ``store/``
uses portable SQL with ``?`` placeholders, which :func:`placeholders` rewrites for
drivers that use ``%s``; the migrations are written once, in SQLite's words, and
:func:`schema` turns them into PostgreSQL's.
"""

from __future__ import annotations

import re

# Per dialect: connection set-up statements, how a write transaction starts, and how the
# applied migration number is read and written. Rules: every value is plain SQL text;
# ``{n}`` in ``set_version`` is replaced by the migration number.
DIALECTS: dict[str, dict[str, tuple[str, ...] | str]] = {
    "sqlite": {
        # One process owns the file: exclusive locking (set before WAL mode, so the
        # WAL index lives in the process's memory, not in a shared-memory file) takes the
        # lock once and keeps it. busy_timeout: how long opening waits for a process that
        # is letting the file go (a server shutting down). WAL: a commit appends to the
        # log and fsyncs it once. ``synchronous`` (FULL by default: a 200 survives kill -9
        # and power loss) is set after these by the store, from --durability. temp_store:
        # the journal of each batch's SAVEPOINT (the pages a batch changes, copied so that a
        # failing batch rolls back alone) stays in memory; in a temporary file it cost two
        # write calls per page changed.
        "setup": (
            "PRAGMA locking_mode=EXCLUSIVE",
            "PRAGMA temp_store=MEMORY",
            "PRAGMA busy_timeout=5000",
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=OFF",
        ),
        "begin_write": "BEGIN IMMEDIATE",
        "get_version": "PRAGMA user_version",
        "set_version": "PRAGMA user_version = {n}",
        "paramstyle": "qmark",
    },
    "postgresql": {
        # The applied migration number lives in a table of its own (PostgreSQL has no
        # user_version). Ownership of the database (one server) is an advisory lock,
        # taken by the store once connected; ``synchronous_commit`` follows --durability.
        "setup": (
            "SET client_min_messages = warning",
            "SET tcp_keepalives_idle = 10",
            "SET tcp_keepalives_interval = 5",
            "SET tcp_keepalives_count = 3",
            "CREATE TABLE IF NOT EXISTS opensfn_schema (version INTEGER NOT NULL)",
        ),
        "begin_write": "BEGIN",
        "get_version": "SELECT COALESCE(MAX(version), 0) FROM opensfn_schema",
        "set_version": "INSERT INTO opensfn_schema (version) VALUES ({n})",
        "paramstyle": "format",
    },
}

# The migrations' SQLite types and clauses -> PostgreSQL's. Rules: whole words only;
# REAL is SQLite's 8-byte float (PostgreSQL's REAL has 4); INTEGER columns hold row ids
# and counts that may pass 2^31; TEXT compares and sorts by bytes in SQLite, so the same
# collation ("C") keeps ORDER BY and comparisons identical; WITHOUT ROWID is a storage
# choice PostgreSQL does not have.
_SCHEMA_RULES = (
    (re.compile(r"\bWITHOUT ROWID\b"), ""),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
)

_QMARK = re.compile(r"\?")


def placeholders(sql: str, dialect: str) -> str:
    """``sql`` with ``?`` placeholders rewritten for ``dialect``'s driver (a literal
    ``%`` doubled where ``%s`` marks parameters)."""
    if DIALECTS[dialect]["paramstyle"] == "qmark":
        return sql
    return _QMARK.sub("%s", sql.replace("%", "%%"))


def schema(script: str, dialect: str) -> str:
    """A migration script (written for SQLite) in ``dialect``'s words."""
    if dialect == "sqlite":
        return script
    for pattern, replacement in _SCHEMA_RULES:
        script = pattern.sub(replacement, script)
    return script


def statement(dialect: str, key: str) -> str:
    """One single-statement entry of the dialect table."""
    value = DIALECTS[dialect][key]
    assert isinstance(value, str)
    return value


def setup_statements(dialect: str) -> tuple[str, ...]:
    """The statements run on every new connection."""
    value = DIALECTS[dialect]["setup"]
    assert isinstance(value, tuple)
    return value
