"""The SQL that differs between databases, kept in one place.

Only SQLite exists today; PostgreSQL (psycopg 3) will add a second table of the same
keys. Everything else in ``store/`` uses portable SQL with ``?`` placeholders, which
:func:`placeholders` rewrites for drivers that use ``%s``.
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
}

_QMARK = re.compile(r"\?")


def placeholders(sql: str, dialect: str) -> str:
    """``sql`` with ``?`` placeholders rewritten for ``dialect``'s driver."""
    if DIALECTS[dialect]["paramstyle"] == "qmark":
        return sql
    return _QMARK.sub("%s", sql)


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
