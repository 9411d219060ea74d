"""The SQLite store: one writer thread doing group commit, readers on the event loop.

Writes are batches — a function run against the write connection — queued to one
thread. The thread takes every batch waiting, runs each inside a SAVEPOINT (a failing
batch is rolled back alone and its caller gets the exception), commits them all in one
transaction (one fsync), then resolves all their asyncio futures in one callback on the
event loop. Batches commit in the order they were queued.

Reads run on the caller's thread (the event loop) on a separate connection: SQLite in
WAL mode lets them see the last committed state without waiting for the writer. Only
committed data is ever read, so whatever the API answers with a 200 is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from opensfn.store import dialect
from opensfn.store.records import (
    ActivityRecord,
    Closing,
    ExecutionRecord,
    MachineRecord,
    RevisionRecord,
)

LOG = logging.getLogger("opensfn.store")
T = TypeVar("T")
Batch = Callable[[sqlite3.Connection], Any]
_DIALECT = "sqlite"
_STOP = object()

_MACHINE_COLS = "arn, region, account, name, type, revision_id, updated, status, creation_date, seq"
_REVISION_COLS = "machine_arn, revision_id, definition, role_arn, logging, tracing, update_date"
_ACTIVITY_COLS = "arn, region, account, name, creation_date, seq"
_EXEC_COLS = (
    "id, arn, machine_arn, revision_id, name, role_arn, status, input, output, error, cause, "
    "start_date, stop_date"
)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, cached_statements=256
    )
    for sql in dialect.setup_statements(_DIALECT):
        conn.execute(sql)
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the numbered ``migrations/NNN_name.sql`` files not applied yet; return the version."""
    current = int(conn.execute(dialect.statement(_DIALECT, "get_version")).fetchone()[0])
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
        script = f.read_text(encoding="utf-8")
        set_version = dialect.statement(_DIALECT, "set_version").format(n=number)
        # One transaction per file: a migration is applied whole or not at all.
        conn.executescript(
            f"{dialect.statement(_DIALECT, 'begin_write')};\n{script}\n;{set_version};\nCOMMIT;"
        )
        current = number
        LOG.info("applied migration %s", f.name)
    return current


class Store:
    """The durable state of one server. Open with :func:`open_store`; close with :meth:`close`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        setup = _connect(path)
        migrate(setup)
        self._next_exec_id = (
            int(setup.execute("SELECT COALESCE(MAX(id), 0) FROM executions").fetchone()[0]) + 1
        )
        self._next_seq = (
            max(
                int(
                    setup.execute("SELECT COALESCE(MAX(seq), 0) FROM state_machines").fetchone()[0]
                ),
                int(setup.execute("SELECT COALESCE(MAX(seq), 0) FROM activities").fetchone()[0]),
            )
            + 1
        )
        setup.close()
        self._read = _connect(path)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name="opensfn-writer", daemon=True)
        self._writer.start()
        self._closed = False

    # ------------------------------------------------------------------ writer

    def submit(self, batch: Batch) -> asyncio.Future[Any]:
        """Queue ``batch`` for the writer; the future resolves once it is committed."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._queue.put((batch, fut, loop))
        return fut

    def write_now(self, batch: Batch) -> Any:
        """Run ``batch`` and commit it from a thread without an event loop (start-up, tests)."""
        done = threading.Event()
        box: list[Any] = []

        def run(conn: sqlite3.Connection) -> Any:
            return batch(conn)

        self._queue.put((run, (box, done), None))
        done.wait()
        if isinstance(box[1], BaseException):
            raise box[1]
        return box[0]

    def _write_loop(self) -> None:
        conn = _connect(self.path)
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
            items = [item]
            while True:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                items.append(nxt)
            self._commit_group(conn, items)
        conn.close()

    def _commit_group(self, conn: sqlite3.Connection, items: list[Any]) -> None:
        outcomes: list[tuple[Any, Any, BaseException | None]] = []
        try:
            conn.execute(dialect.statement(_DIALECT, "begin_write"))
            for batch, fut, _ in items:
                conn.execute("SAVEPOINT batch")
                try:
                    result = batch(conn)
                except Exception as exc:
                    conn.execute("ROLLBACK TO batch")
                    conn.execute("RELEASE batch")
                    outcomes.append((fut, None, exc))
                else:
                    conn.execute("RELEASE batch")
                    outcomes.append((fut, result, None))
            conn.execute("COMMIT")
        except Exception as exc:  # the commit itself failed: nothing of the group is durable
            LOG.exception("write transaction failed")
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(fut, None, exc) for _, fut, _ in items]
        by_loop: dict[Any, list[tuple[Any, Any, BaseException | None]]] = {}
        for (_, _, loop), outcome in zip(items, outcomes, strict=True):
            if loop is None:
                box, done = outcome[0]
                box[:] = [outcome[1], outcome[2]]
                done.set()
            else:
                by_loop.setdefault(loop, []).append(outcome)
        for loop, group in by_loop.items():
            # A closed loop means nobody waits any more; the writes are committed anyway.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, group)

    async def close(self) -> None:
        """Let queued writes commit, stop the writer and close the connections."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        await asyncio.get_running_loop().run_in_executor(None, self._writer.join)
        self._read.close()

    def close_sync(self) -> None:
        """:meth:`close` for code without an event loop."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._writer.join()
            self._read.close()

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
        return self._read.execute(sql, tuple(args)).fetchone()

    def rows(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        """Rows of a read-only query on committed data (for the store modules beside this one)."""
        return self._read.execute(sql, tuple(args)).fetchall()

    def get_meta(self, key: str) -> str | None:
        """A value of the meta table."""
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def get_machine(self, arn: str) -> MachineRecord | None:
        """The state machine ``arn``, if it exists."""
        row = self._one(f"SELECT {_MACHINE_COLS} FROM state_machines WHERE arn = ?", (arn,))
        return None if row is None else MachineRecord(*row)

    def get_revision(self, machine_arn: str, revision_id: str) -> RevisionRecord | None:
        """One revision of a state machine."""
        row = self._one(
            f"SELECT {_REVISION_COLS} FROM revisions WHERE machine_arn = ? AND revision_id = ?",
            (machine_arn, revision_id),
        )
        return None if row is None else RevisionRecord(*row)

    def list_machines(
        self, account: str, region: str, after_seq: int, limit: int
    ) -> list[MachineRecord]:
        """State machines of one account and region in creation order, after ``after_seq``."""
        rows = self._read.execute(
            f"SELECT {_MACHINE_COLS} FROM state_machines WHERE account = ? AND region = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (account, region, after_seq, limit),
        ).fetchall()
        return [MachineRecord(*r) for r in rows]

    def get_activity(self, arn: str) -> ActivityRecord | None:
        """The activity ``arn``, if it exists."""
        row = self._one(f"SELECT {_ACTIVITY_COLS} FROM activities WHERE arn = ?", (arn,))
        return None if row is None else ActivityRecord(*row)

    def list_activities(
        self, account: str, region: str, after_seq: int, limit: int
    ) -> list[ActivityRecord]:
        """Activities of one account and region in creation order, after ``after_seq``."""
        rows = self._read.execute(
            f"SELECT {_ACTIVITY_COLS} FROM activities WHERE account = ? AND region = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (account, region, after_seq, limit),
        ).fetchall()
        return [ActivityRecord(*r) for r in rows]

    def get_tags(self, arn: str) -> list[tuple[str, str]]:
        """The tags of a resource as (key, value) pairs, by key."""
        rows = self._read.execute(
            "SELECT key, value FROM tags WHERE resource_arn = ? ORDER BY key", (arn,)
        ).fetchall()
        return [(str(k), str(v)) for k, v in rows]

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        """The execution ``arn``, if it exists."""
        row = self._one(f"SELECT {_EXEC_COLS} FROM executions WHERE arn = ?", (arn,))
        return None if row is None else ExecutionRecord(*row)

    def list_executions(
        self, machine_arn: str, status: str | None, before_id: int, limit: int
    ) -> list[ExecutionRecord]:
        """Executions of a machine, newest first, older than ``before_id``."""
        if status is None:
            sql = f"SELECT {_EXEC_COLS} FROM executions WHERE machine_arn = ? AND id < ? ORDER BY id DESC LIMIT ?"
            args: tuple[Any, ...] = (machine_arn, before_id, limit)
        else:
            sql = (
                f"SELECT {_EXEC_COLS} FROM executions WHERE machine_arn = ? AND status = ? AND id < ? "
                "ORDER BY id DESC LIMIT ?"
            )
            args = (machine_arn, status, before_id, limit)
        return [ExecutionRecord(*r) for r in self._read.execute(sql, args).fetchall()]

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
        return [(int(i), str(b)) for i, b in self._read.execute(sql, (execution_id, after, limit))]

    def running_executions(self) -> list[tuple[ExecutionRecord, str]]:
        """Every RUNNING execution with its engine state (JSON text), oldest first."""
        rows = self._read.execute(
            f"SELECT {_EXEC_COLS}, state FROM executions WHERE status = 'RUNNING' ORDER BY id"
        ).fetchall()
        return [(ExecutionRecord(*r[:-1]), str(r[-1])) for r in rows]

    def running_for_machine(self, machine_arn: str) -> list[str]:
        """ARNs of the RUNNING executions of a state machine."""
        rows = self._read.execute(
            "SELECT arn FROM executions WHERE machine_arn = ? AND status = 'RUNNING'",
            (machine_arn,),
        ).fetchall()
        return [str(r[0]) for r in rows]


def _resolve(group: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, result, exc in group:
        if fut.done():  # the caller went away (cancelled); the write is committed regardless
            continue
        if exc is None:
            fut.set_result(result)
        else:
            fut.set_exception(exc)


def open_store(path: Path) -> Store:
    """Open (creating and migrating if needed) the SQLite database at ``path``."""
    return Store(path)


__all__ = ["Closing", "Store", "open_store"]
