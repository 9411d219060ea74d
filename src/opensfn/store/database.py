"""The store: one connection, one writer doing group commit on the event loop.

SQLite is the embedded default; a ``postgresql://`` database (``store/postgres.py``) is
used the same way, through a connection that speaks like ``sqlite3``'s.

Writes are batches — a function run against the connection — queued by ``submit``. The
first batch queued in a turn of the event loop schedules one flush for the next turn;
the flush takes every batch waiting, runs each inside a SAVEPOINT (a failing batch is
rolled back alone and its caller gets the exception), commits them all in one
transaction (one fsync), then resolves their futures. Batches commit in the order they
were queued, and no future resolves before its COMMIT returned.

The flush runs on the event loop's own thread. A writer thread was measured to cost
more than the fsync it hides: every SQLite call releases the GIL and the thread then
waits for the busy loop to hand it back (up to the 5 ms switch interval), so each
write answered 5–10 ms late under load and the hand-offs burnt a third of the server's
CPU. Inline, a commit blocks the loop for one fsync (~0.2 ms on this machine's disk)
and every request that arrived meanwhile joins the next group.

Reads run on the same connection and thread. A write transaction begins and ends inside
one call of the flush, so a read never sees a write that is not committed: whatever the
API answers with a 200 is durable. One connection (not a reader beside the writer) and
SQLite's exclusive locking mode: no file lock or shared-memory lock is taken per
transaction and no page the writer changed is read back from the WAL by a second cache.
Measured per activity task under sfnbench: 18 fcntl and 11 pread calls fewer, server CPU
0.96 -> 0.92 ms (medians of 4 alternating rounds); in process, 599 -> 551 µs for a start,
hand-out, answer and describe. The lock is held while the server runs, so a second process
cannot open the database (:class:`StoreInUse`); two servers on one file would each
hand out the same execution ids and tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from opensfn.errors import OpensfnError
from opensfn.store import dialect, postgres
from opensfn.store.records import (
    ActivityRecord,
    Closing,
    ExecutionRecord,
    MachineRecord,
    RevisionRecord,
)

LOG = logging.getLogger("opensfn.store")
T = TypeVar("T")
R = TypeVar("R", MachineRecord, ActivityRecord)
Connection = Any
"""A ``sqlite3.Connection`` or a :class:`~opensfn.store.postgres.PgConnection` (both offer
``execute``/``executemany`` on ``?``-placeholder SQL)."""
Batch = Callable[[Connection], Any]


def inserted(conn: Connection, sql: str, args: tuple[Any, ...]) -> bool:
    """Run ``INSERT … ON CONFLICT DO NOTHING``; whether it wrote its row."""
    if isinstance(conn, postgres.PgConnection):  # in a pipeline: its rows are its answer
        return bool(conn.execute(sql + " RETURNING 1", args).fetchall())
    return int(conn.execute(sql, args).rowcount) == 1


def active_node(conn: Connection) -> str | None:
    """The address the server holding the database advertised (``writes.set_active_node``):
    read by standbys on their own connection, which holds no store."""
    row = conn.execute("SELECT url FROM active_node WHERE id = 1").fetchone()
    return None if row is None else str(row[0])


class Rewrites:
    """A batch that changes or removes the row of a state machine or an activity: the
    store's cache of those rows forgets ``arn`` once the batch is committed."""

    __slots__ = ("arn", "run")

    def __init__(self, arn: str, run: Batch) -> None:
        self.arn = arn
        self.run = run

    def __call__(self, conn: sqlite3.Connection) -> Any:
        return self.run(conn)


_DIALECT = "sqlite"

_MACHINE_COLS = "arn, region, account, name, type, revision_id, updated, status, creation_date, seq"
_REVISION_COLS = (
    "machine_arn, revision_id, definition, role_arn, logging, tracing, update_date, encryption"
)
_ACTIVITY_COLS = "arn, region, account, name, creation_date, seq, encryption"
_BEGIN = dialect.statement(_DIALECT, "begin_write")
_EXEC_COLS = (
    "id, arn, machine_arn, revision_id, name, role_arn, status, input, output, error, cause, "
    "start_date, stop_date, redrive_count, redrive_date, test_case, map_run_arn, item_count, "
    "trace_header"
)


class StoreInUse(OpensfnError):
    """Another process holds the database (one server per database)."""


def _connect_pg(url: str, synchronous: str) -> Connection:
    conn, owned = postgres.connect(url, synchronous)
    if not owned:
        conn.close()
        raise StoreInUse(
            f"The database {postgres.safe_url(url)} is in use by another opensfn server "
            "(one server per database): stop that server, give this one another --db, or "
            "start it with --standby to take over when that one stops."
        )
    return conn


def _connect(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, cached_statements=256
    )
    try:
        for sql in dialect.setup_statements(_DIALECT):
            conn.execute(sql)
        # Take the database's lock now (exclusive locking mode keeps it until close), so
        # that a second server stops here with a clear error instead of at its first write.
        conn.execute(_BEGIN)
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" not in str(exc):
            raise
        raise StoreInUse(
            f"The database {path} is in use by another process (one opensfn server per "
            "database file): stop that server or give this one another --db."
        ) from None
    # FULL: every COMMIT is fsynced (a 200 survives power loss); NORMAL (--durability
    # normal): WAL fsynced at checkpoints only (a 200 survives kill -9, not power loss).
    conn.execute(f"PRAGMA synchronous={_SYNCHRONOUS[synchronous]}")
    return conn


_REVISION_CACHE = 256  # revisions kept in memory (the cache is emptied when full)
_RESOURCE_CACHE = 4096  # state machine and activity rows kept (emptied when full)
_SYNCHRONOUS = {"FULL": "FULL", "NORMAL": "NORMAL"}  # the only values accepted


def migrate(conn: Connection, name: str = _DIALECT) -> int:
    """Apply the numbered ``migrations/NNN_name.sql`` files not applied yet (in the words
    of the database ``name``); return the version."""
    current = int(conn.execute(dialect.statement(name, "get_version")).fetchone()[0])
    files = sorted(
        (
            f
            for f in resources.files("opensfn.store.migrations").iterdir()
            if f.name.endswith(".sql")
        ),
        key=lambda f: f.name,
    )
    for f in files:
        number = int(f.name.split("_", 1)[0])
        if number <= current:
            continue
        script = dialect.schema(f.read_text(encoding="utf-8"), name)
        set_version = dialect.statement(name, "set_version").format(n=number)
        # One transaction per file: a migration is applied whole or not at all.
        conn.executescript(
            f"{dialect.statement(name, 'begin_write')};\n{script}\n;{set_version};\nCOMMIT;"
        )
        current = number
        LOG.info("applied migration %s", f.name)
    return current


class Store:
    """The durable state of one server. Open with :func:`open_store`; close with :meth:`close`."""

    def __init__(
        self, db: Path | str, synchronous: str = "FULL", connection: Connection | None = None
    ) -> None:
        """``connection``: a PostgreSQL connection that holds the database's lock already
        (a standby that took over); otherwise the store connects to ``db`` itself."""
        if isinstance(db, str) and postgres.is_url(db):
            self.path: Path | None = None
            self.dialect = postgres.DIALECT
            self._conn = conn = connection or _connect_pg(db, synchronous)
        else:
            path = Path(db)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.path = path
            self.dialect = _DIALECT
            self._conn = conn = _connect(path, synchronous)
        self._begin = dialect.statement(self.dialect, "begin_write")
        try:
            migrate(conn, self.dialect)
        except BaseException:
            conn.close()
            raise
        self._next_exec_id = (
            int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM executions").fetchone()[0]) + 1
        )
        self._next_seq = (
            max(
                int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM state_machines").fetchone()[0]),
                int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM activities").fetchone()[0]),
            )
            + 1
        )
        # Serialises transactions between the event loop and write_now callers (which run
        # only where no event loop serves requests: start-up, tests).
        self._write_lock = threading.Lock()
        self._pending: list[tuple[Batch, asyncio.Future[Any]]] = []
        self._flush_handle: asyncio.Handle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop of the last submit
        self._closed = False
        # Revisions are insert-only, so a committed one read once stays true.
        self._revisions: dict[tuple[str, str], RevisionRecord] = {}
        # State machine and activity rows read on almost every call; one process owns the
        # database, so a row stays true until a Rewrites batch for it commits.
        self._resources: dict[str, MachineRecord | ActivityRecord] = {}
        # Whether any execution was started through a version or an alias: until then
        # DescribeExecution and ListExecutions need not look their source up.
        self.sources_seen = bool(
            conn.execute("SELECT EXISTS (SELECT 1 FROM execution_sources)").fetchone()[0]
        )

    def on_lost(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(reason)`` once if the connection to the database breaks
        (PostgreSQL only: a SQLite file does not go away under the process)."""
        if isinstance(self._conn, postgres.PgConnection):
            self._conn.on_lost = callback

    # ------------------------------------------------------------------ writer

    def submit(self, batch: Batch) -> asyncio.Future[Any]:
        """Queue ``batch`` for the next group commit; the future resolves once it is committed."""
        loop = self._loop
        if loop is None or not loop.is_running():  # (asking for it costs a getpid call)
            loop = self._loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending.append((batch, fut))
        if self._flush_handle is None:
            self._flush_handle = loop.call_soon(self._flush)
        return fut

    def write_now(self, batch: Batch) -> Any:
        """Run ``batch`` and commit it from a thread without an event loop (start-up, tests)."""
        with self._write_lock:
            ((result, exc),) = _commit_group(self._conn, [batch], self._begin)
        self._forget([batch])
        if exc is not None:
            raise exc
        return result

    def _flush(self) -> None:
        self._flush_handle = None
        items, self._pending = self._pending, []
        if not items:
            return
        with self._write_lock:
            outcomes = _commit_group(self._conn, [batch for batch, _ in items], self._begin)
        self._forget([batch for batch, _ in items])
        for (_, fut), (result, exc) in zip(items, outcomes, strict=True):
            if fut.done():  # the caller went away (cancelled); the write is committed regardless
                continue
            if exc is None:
                fut.set_result(result)
            else:
                fut.set_exception(exc)

    def _forget(self, batches: Iterable[Batch]) -> None:
        for batch in batches:
            if isinstance(batch, Rewrites):
                self._resources.pop(batch.arn, None)

    async def close(self) -> None:
        """Commit the queued writes and close the connections."""
        if self._closed:
            return
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self._flush()
        self.close_sync()

    def close_sync(self) -> None:
        """:meth:`close` for code without an event loop."""
        if not self._closed:
            self._closed = True
            with self._write_lock:
                self._conn.close()

    # ------------------------------------------------------------------ ids

    def new_execution_id(self) -> int:
        """A fresh execution row id (one writer process owns the database)."""
        n = self._next_exec_id
        self._next_exec_id += 1
        return n

    def new_seq(self) -> int:
        """A fresh creation-order number for state machines and activities."""
        n = self._next_seq
        self._next_seq += 1
        return n

    # ------------------------------------------------------------------ reads

    def _one(self, sql: str, args: Iterable[Any]) -> Any:
        return self._conn.execute(sql, tuple(args)).fetchone()

    def rows(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        """Rows of a read-only query on committed data (for the store modules beside this one)."""
        rows: list[Any] = self._conn.execute(sql, tuple(args)).fetchall()
        return rows

    def get_meta(self, key: str) -> str | None:
        """A value of the meta table."""
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def get_machine(self, arn: str) -> MachineRecord | None:
        """The state machine ``arn``, if it exists."""
        return self._resource(arn, MachineRecord, "state_machines", _MACHINE_COLS)

    def get_revision(self, machine_arn: str, revision_id: str) -> RevisionRecord | None:
        """One revision of a state machine (rows are never changed: found ones are cached)."""
        key = (machine_arn, revision_id)
        cached = self._revisions.get(key)
        if cached is not None:
            return cached
        row = self._one(
            f"SELECT {_REVISION_COLS} FROM revisions WHERE machine_arn = ? AND revision_id = ?",
            key,
        )
        if row is None:
            return None
        if len(self._revisions) >= _REVISION_CACHE:
            self._revisions.clear()
        revision = self._revisions[key] = RevisionRecord(*row)
        return revision

    def list_machines(
        self, account: str, region: str, after_seq: int, limit: int
    ) -> list[MachineRecord]:
        """State machines of one account and region in creation order, after ``after_seq``."""
        rows = self._in_scope("state_machines", _MACHINE_COLS, account, region, after_seq, limit)
        return [MachineRecord(*r) for r in rows]

    def get_activity(self, arn: str) -> ActivityRecord | None:
        """The activity ``arn``, if it exists."""
        return self._resource(arn, ActivityRecord, "activities", _ACTIVITY_COLS)

    def _resource(self, arn: str, kind: type[R], table: str, cols: str) -> R | None:
        """A state machine or activity row, from memory when it was read before."""
        cached = self._resources.get(arn)
        if isinstance(cached, kind):
            return cached
        # ``table`` and ``cols`` are this module's constants, never a request's words.
        row = self._one(f"SELECT {cols} FROM {table} WHERE arn = ?", (arn,))
        if row is None:
            return None
        record = kind(*row)
        if len(self._resources) >= _RESOURCE_CACHE:
            self._resources.clear()
        self._resources[record.arn] = record
        return record

    def list_activities(
        self, account: str, region: str, after_seq: int, limit: int
    ) -> list[ActivityRecord]:
        """Activities of one account and region in creation order, after ``after_seq``."""
        rows = self._in_scope("activities", _ACTIVITY_COLS, account, region, after_seq, limit)
        return [ActivityRecord(*r) for r in rows]

    def _in_scope(
        self, table: str, cols: str, account: str, region: str, after_seq: int, limit: int
    ) -> list[Any]:
        # ``table`` and ``cols`` are this module's constants, never a request's words.
        rows: list[Any] = self._conn.execute(
            f"SELECT {cols} FROM {table} WHERE account = ? AND region = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (account, region, after_seq, limit),
        ).fetchall()
        return rows

    def get_tags(self, arn: str) -> list[tuple[str, str]]:
        """The tags of a resource as (key, value) pairs, by key."""
        rows = self._conn.execute(
            "SELECT key, value FROM tags WHERE resource_arn = ? ORDER BY key", (arn,)
        ).fetchall()
        return [(str(k), str(v)) for k, v in rows]

    def closed_state(self, arn: str) -> bytes | None:
        """The engine state kept for a redrivable (FAILED, TIMED_OUT, ABORTED) execution."""
        row = self._one(
            "SELECT state FROM executions WHERE arn = ? AND status != 'RUNNING'", (arn,)
        )
        return None if row is None or row[0] is None else str(row[0]).encode()

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        """The execution ``arn``, if it exists."""
        row = self._one(f"SELECT {_EXEC_COLS} FROM executions WHERE arn = ?", (arn,))
        return None if row is None else ExecutionRecord(*row)

    def list_executions(
        self,
        machine_arn: str,
        status: str | None,
        before_id: int,
        limit: int,
        redriven: bool | None = None,
    ) -> list[ExecutionRecord]:
        """Executions of a machine, newest first, older than ``before_id``; ``redriven``:
        only those redriven at least once (True) or never (False)."""
        return self._list_executions("machine_arn", machine_arn, status, before_id, limit, redriven)

    def list_map_run_executions(
        self,
        map_run_arn: str,
        status: str | None,
        before_id: int,
        limit: int,
        redriven: bool | None = None,
    ) -> list[ExecutionRecord]:
        """Child executions of a Distributed Map run, newest first, older than ``before_id``."""
        return self._list_executions("map_run_arn", map_run_arn, status, before_id, limit, redriven)

    def _list_executions(
        self,
        column: str,
        value: str,
        status: str | None,
        before_id: int,
        limit: int,
        redriven: bool | None,
    ) -> list[ExecutionRecord]:
        # ``column`` is one of the two above (never from a request); each has its index.
        args: tuple[str, ...] = (value,) if status is None else (value, status)
        where = f"{column} = ?" if status is None else f"{column} = ? AND status = ?"
        if redriven is not None:
            where += " AND redrive_count > 0" if redriven else " AND redrive_count = 0"
        sql = (
            f"SELECT {_EXEC_COLS} FROM executions WHERE {where} AND id < ? ORDER BY id DESC LIMIT ?"
        )
        rows = self._conn.execute(sql, (*args, before_id, limit)).fetchall()
        return [ExecutionRecord(*r) for r in rows]

    def get_events(
        self, execution_id: int, after: int, limit: int, reverse: bool
    ) -> list[tuple[int, str]]:
        """History events as (id, JSON text): ids above ``after`` (below it when ``reverse``)."""
        if reverse:
            sql = "SELECT id, body FROM events WHERE execution_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
        else:
            sql = (
                "SELECT id, body FROM events WHERE execution_id = ? AND id > ? ORDER BY id LIMIT ?"
            )
        return [(int(i), str(b)) for i, b in self._conn.execute(sql, (execution_id, after, limit))]

    def running_executions(self, page: int = 1000) -> Iterator[tuple[ExecutionRecord, str]]:
        """Every RUNNING execution with its engine state (JSON text), oldest first, read
        ``page`` rows at a time as the caller goes (100,000 rows at once would add ~75 MB
        to the peak at start-up). Pages, not one open cursor: PostgreSQL's driver would
        fetch a cursor's rows all at once, and the caller reads other rows meanwhile."""
        after = 0
        sql = (
            f"SELECT {_EXEC_COLS}, state FROM executions WHERE status = 'RUNNING' "
            "AND map_run_arn IS NULL AND id > ? ORDER BY id LIMIT ?"
        )
        while True:
            rows = self._conn.execute(sql, (after, page)).fetchall()
            for r in rows:
                yield ExecutionRecord(*r[:-1]), str(r[-1])
            if len(rows) < page:
                return
            after = int(rows[-1][0])

    def deleting_machines(self) -> list[str]:
        """ARNs of the state machines DeleteStateMachine marked DELETING."""
        rows = self._conn.execute(
            "SELECT arn FROM state_machines WHERE status = 'DELETING'"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def running_for_machine(self, machine_arn: str) -> list[str]:
        """ARNs of the RUNNING executions of a state machine."""
        rows = self._conn.execute(
            "SELECT arn FROM executions WHERE machine_arn = ? AND status = 'RUNNING'",
            (machine_arn,),
        ).fetchall()
        return [str(r[0]) for r in rows]


def settle(conn: Connection) -> None:
    """End of a write batch: on PostgreSQL, in a group of batches sent as one pipeline,
    its statements' errors are raised here (see ``PgConnection.settle``); on SQLite each
    statement's error was raised by the statement itself."""
    if isinstance(conn, postgres.PgConnection):
        conn.settle()


def _commit_group(
    conn: Connection, batches: list[Batch], begin: str
) -> list[tuple[Any, BaseException | None]]:
    """Run ``batches`` in one transaction, each in a SAVEPOINT; (result, exception) of each.

    On PostgreSQL a group goes as one pipeline: one batch with its BEGIN and COMMIT in one
    round trip (:func:`_commit_pipelined`); several with one round trip each, where
    :func:`settle` raises a batch's error in that batch. Measured (``bench/run.py --only
    api --postgres``, A/B): StartExecution from 8 connections at once 774-800 -> 982-992
    per second, against one round trip per statement."""
    outcomes: list[tuple[Any, BaseException | None]] = []
    single = len(batches) == 1  # one batch: the transaction itself isolates it
    pg = isinstance(conn, postgres.PgConnection)
    if single and pg:
        return _commit_pipelined(conn, batches[0], begin)
    try:
        with conn.pipeline(batches=True) if pg else contextlib.nullcontext():
            _run_group(conn, batches, begin, single, outcomes)
    except Exception as exc:  # the batch (single) or the commit failed: nothing is durable
        if not single:
            LOG.exception("write transaction failed")
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        outcomes = [(None, exc) for _ in batches]
    return outcomes


def _run_group(
    conn: Connection,
    batches: list[Batch],
    begin: str,
    single: bool,
    outcomes: list[tuple[Any, BaseException | None]],
) -> None:
    conn.execute(begin)
    for batch in batches:
        if single:
            outcomes.append((batch(conn), None))
            break
        conn.execute("SAVEPOINT batch")
        try:
            result = batch(conn)
            settle(conn)
        except Exception as exc:
            conn.execute("ROLLBACK TO batch")
            conn.execute("RELEASE batch")
            outcomes.append((None, exc))
        else:
            conn.execute("RELEASE batch")
            outcomes.append((result, None))
    conn.execute("COMMIT")


def _commit_pipelined(
    conn: postgres.PgConnection, batch: Batch, begin: str
) -> list[tuple[Any, BaseException | None]]:
    """One batch on PostgreSQL: BEGIN, its statements and COMMIT go as one pipeline (one
    round trip, two if the batch reads), not one round trip each: a commit 0.63 -> 0.35 ms
    in isolation. A statement's error arrives when the pipeline is sent, after the batch
    returned: the batch and the commit then fail together, as one batch does anyway. (Two
    batches or more keep one SAVEPOINT each and wait for each batch's answers at its end,
    :func:`settle`, so that a failing batch is rolled back alone.)"""
    try:
        with conn.pipeline():
            conn.execute(begin)
            result = batch(conn)
            conn.execute("COMMIT")
    except Exception as exc:  # the batch or the commit failed: nothing is durable
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return [(None, exc)]
    return [(result, None)]


def open_store(db: Path | str, synchronous: str = "FULL") -> Store:
    """Open (creating and migrating if needed) the database ``db``: a SQLite file (a path)
    or a ``postgresql://`` URL; ``synchronous``: FULL (the default, see ``--durability``)
    or NORMAL."""
    return Store(db, synchronous)


__all__ = ["Closing", "Rewrites", "Store", "StoreInUse", "open_store"]
