"""PostgreSQL for the store: a psycopg 3 connection that speaks like ``sqlite3``'s.

The store's SQL is portable and written with ``?`` placeholders; the write batches and
reads call ``execute``, ``executemany`` and ``executescript`` on a connection and read
``fetchone``/``fetchall`` or iterate the result. :class:`PgConnection` offers exactly
that over one psycopg connection in autocommit mode (the store sends BEGIN, SAVEPOINT
and COMMIT itself, as it does on SQLite), translating each statement once.

One server owns a database, as with SQLite's exclusive lock: the connection takes a
session advisory lock at start and keeps it until it closes, so a second server on the
same database stops at start with :class:`~opensfn.store.database.StoreInUse` instead of
handing out the same execution ids — or, started with ``--standby``, waits to take over
(``api/standby.py``). Several *active* servers sharing one database's work (partitions and
leases, DESIGN.md §3) are not built yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opensfn.errors import OpensfnError
from opensfn.store import dialect

DIALECT = "postgresql"


class DatabaseUnreachable(OpensfnError):
    """The PostgreSQL server of ``--db`` does not accept the connection (said at start)."""


# The advisory lock key that marks a database as owned by one opensfn server
# (any 64-bit number; this one spells "opensfn" in ASCII).
OWNER_LOCK = 0x6F70656E73666E


def _psycopg() -> Any:
    # Imported when a PostgreSQL database is opened, not before: psycopg and its bundled
    # libpq add ~26 MB to a server's memory, which a SQLite server does not need.
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        raise RuntimeError(
            f"PostgreSQL needs the psycopg package (pip install 'psycopg[binary]'): {exc}"
        ) from None
    return psycopg


class PgCursor:
    """The rows of one statement, read the way ``sqlite3.Cursor``'s are."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    # Only statements that return rows are read (SELECT, INSERT … RETURNING). In a
    # pipeline, reading is what makes psycopg send what is queued and wait for the answer.
    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


class PgConnection:
    """The subset of ``sqlite3.Connection`` the store uses, on one psycopg connection.

    ``on_lost`` is called once if the connection breaks (PostgreSQL restarted, the network
    went away): the server's memory may then be ahead of the database, so the safe course
    is to stop and let a restart resume every execution from what was committed."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._pg = _psycopg()
        self._sql: dict[str, str] = {}  # statement as written -> as sent (translated once)
        self.on_lost: Callable[[str], None] | None = None
        self.lost = False
        self._batches: Any = None  # the pipeline of a group of batches (see settle)
        self._unsettled = False  # statements sent in it since the last settle

    def _failed(self, exc: BaseException) -> None:
        if self.lost or not self._conn.broken:
            return
        self.lost = True
        if self.on_lost is not None:
            self.on_lost(str(exc).strip() or type(exc).__name__)

    def _translate(self, sql: str) -> str:
        sent = self._sql.get(sql)
        if sent is None:
            sent = dialect.placeholders(sql, DIALECT)
            if len(self._sql) < 4096:
                self._sql[sql] = sent
        return sent

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        self._unsettled = True
        try:
            if params:
                return PgCursor(self._conn.execute(self._translate(sql), tuple(params)))
            # Without parameters the statement goes as written (no %s to fill: a literal %
            # must stay single), e.g. BEGIN, COMMIT, SAVEPOINT.
            return PgCursor(self._conn.execute(sql.encode()))
        except self._pg.OperationalError as exc:
            self._failed(exc)
            raise

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if batch:
            self._unsettled = True
            try:
                with self._conn.cursor() as cursor:
                    cursor.executemany(self._translate(sql), batch)
            except self._pg.OperationalError as exc:
                self._failed(exc)
                raise

    def executescript(self, script: str) -> None:
        """Several statements without parameters (a migration), sent as one query."""
        self.execute(script)

    @contextmanager
    def pipeline(self, batches: bool = False) -> Iterator[None]:
        """Statements executed inside are sent without waiting for each answer; they go
        when a result is read, at :meth:`settle` or when the block ends (where a
        statement's error is raised). ``batches``: a group commit of several batches,
        each of which calls :meth:`settle` when it ends."""
        try:
            with self._conn.pipeline() as pipe:
                self._batches, self._unsettled = (pipe if batches else None), False
                try:
                    yield
                finally:
                    self._batches = None
        except self._pg.OperationalError as exc:
            self._failed(exc)
            raise

    def settle(self) -> None:
        """In the pipeline of a group of batches: send what the batch queued and wait
        for the answers, so that its error is raised here, in the batch that caused it
        (one round trip per batch instead of one per statement). Otherwise nothing."""
        if self._batches is None or not self._unsettled:
            return
        self._unsettled = False
        try:
            self._batches.sync()
        except self._pg.OperationalError as exc:
            self._failed(exc)
            raise

    @property
    def in_transaction(self) -> bool:
        status = self._conn.info.transaction_status
        return bool(status != self._pg.pq.TransactionStatus.IDLE)

    def close(self) -> None:
        self._conn.close()


def is_url(db: str) -> bool:
    """Does ``db`` name a PostgreSQL database (rather than a SQLite file)?"""
    return db.startswith(("postgresql://", "postgres://"))


def connect(url: str, synchronous: str) -> tuple[PgConnection, bool]:
    """A connection to the database at ``url`` and whether it got the owner's lock.

    ``synchronous``: FULL (a COMMIT returns once PostgreSQL flushed its WAL) or NORMAL
    (``synchronous_commit = off``: survives a crash of opensfn, not of PostgreSQL's host).
    """
    # Keepalives both ways: opensfn notices a PostgreSQL host that went away, and
    # PostgreSQL ends the session of an opensfn host that went away (its lock with it)
    # within about 25 s instead of the system's two hours.
    pg = _psycopg()
    try:
        raw = pg.connect(
            url, autocommit=True, keepalives=1, keepalives_idle=10, keepalives_interval=5,
            keepalives_count=3,
        )  # fmt: skip
    except pg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnreachable(
            f"cannot connect to the database {safe_url(url)}: {reason}"
        ) from None
    conn = PgConnection(raw)
    try:
        for sql in dialect.setup_statements(DIALECT):
            conn.execute(sql)
        conn.execute(
            "SET synchronous_commit = on"
            if synchronous == "FULL"
            else "SET synchronous_commit = off"
        )
        owned = try_lock(conn)
    except BaseException:
        conn.close()
        raise
    return conn, owned


def try_lock(conn: PgConnection) -> bool:
    """Take the database's owner lock if no other session holds it (never waits)."""
    row = conn.execute("SELECT pg_try_advisory_lock(?)", (OWNER_LOCK,)).fetchone()
    return bool(row and row[0])


def safe_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}@{host}" if user else f"{scheme}{sep}{host}"
