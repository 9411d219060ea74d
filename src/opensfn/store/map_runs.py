"""Distributed Map runs: recorded from the history events that start and end them.

The engine emits ``MapRunStarted`` (with ``mapRunArn``) right after the Map state's
``MapStateStarted`` (with the item count), and ``MapRunSucceeded`` / ``MapRunFailed``
when the run ends. ``store.writes`` calls :func:`record_events` with every batch of
events it inserts, so a map run row commits in the same transaction as its events.
An end event carries no ARN: it closes the execution's most recently started run that
is still RUNNING (runs nest, they never interleave within one thread).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opensfn.store.database import Batch, Connection, Store

_COLS = (
    "arn, execution_id, status, start_date, stop_date, total, max_concurrency, "
    "tolerated_failure_percentage, tolerated_failure_count"
)

# Map run end event -> the run's final status. Rules: every event type that closes a
# map run is here; a run still RUNNING when its execution closes takes the execution's
# status (ABORTED for a stopped execution, FAILED otherwise).
_END_EVENTS = {"MapRunSucceeded": "SUCCEEDED", "MapRunFailed": "FAILED", "MapRunAborted": "ABORTED"}


@dataclass(frozen=True)
class MapRunRecord:
    """One Distributed Map run."""

    arn: str
    execution_id: int
    status: str
    start_date: float
    stop_date: float | None
    total: int
    max_concurrency: int
    tolerated_failure_percentage: float
    tolerated_failure_count: int


def _close(conn: Connection, execution_id: int, status: str, when: float) -> None:
    conn.execute(
        "UPDATE map_runs SET status = ?, stop_date = ? WHERE arn = ("
        "SELECT arn FROM map_runs WHERE execution_id = ? AND status = 'RUNNING' "
        "ORDER BY seq DESC LIMIT 1)",
        (status, when, execution_id),
    )


def record_events(conn: Connection, execution_id: int, events: Sequence[Any]) -> None:
    """Insert or close map runs for the map-run events among ``events``."""
    length = 0
    for e in events:
        typ = e["type"]
        if typ == "MapStateStarted":
            length = int(e.get("mapStateStartedEventDetails", {}).get("length", 0))
        elif typ == "MapRunStarted":
            arn = e["mapRunStartedEventDetails"]["mapRunArn"]
            conn.execute(
                "INSERT INTO map_runs (arn, execution_id, status, start_date, total, seq) "
                "VALUES (?, ?, 'RUNNING', ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM map_runs "
                "WHERE execution_id = ?)) ON CONFLICT (arn) DO NOTHING",
                (arn, execution_id, float(e["timestamp"]), length, execution_id),
            )
        elif typ in _END_EVENTS:
            _close(conn, execution_id, _END_EVENTS[typ], float(e["timestamp"]))


def close_all(conn: Connection, execution_id: int, status: str, when: float) -> None:
    """The execution closed: runs still RUNNING end with it."""
    final = "ABORTED" if status == "ABORTED" else "FAILED"
    conn.execute(
        "UPDATE map_runs SET status = ?, stop_date = ? WHERE execution_id = ? AND status = 'RUNNING'",
        (final, when, execution_id),
    )


def get(store: Store, arn: str) -> MapRunRecord | None:
    """The map run ``arn``, if it exists."""
    rows = store.rows(f"SELECT {_COLS} FROM map_runs WHERE arn = ?", (arn,))
    return MapRunRecord(*rows[0]) if rows else None


def list_for(
    store: Store, execution_id: int, after: int, limit: int
) -> list[tuple[int, MapRunRecord]]:
    """(seq, run) of an execution's map runs in start order, after ``after``."""
    rows = store.rows(
        f"SELECT seq, {_COLS} FROM map_runs WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (execution_id, after, limit),
    )
    return [(int(r[0]), MapRunRecord(*r[1:])) for r in rows]


def update(
    arn: str,
    max_concurrency: int | None,
    tolerated_failure_percentage: float | None,
    tolerated_failure_count: int | None,
) -> Batch:
    """UpdateMapRun: the settings given change, the others stay."""

    def run(conn: Connection) -> None:
        conn.execute(
            "UPDATE map_runs SET max_concurrency = COALESCE(?, max_concurrency), "
            "tolerated_failure_percentage = COALESCE(?, tolerated_failure_percentage), "
            "tolerated_failure_count = COALESCE(?, tolerated_failure_count) WHERE arn = ?",
            (max_concurrency, tolerated_failure_percentage, tolerated_failure_count, arn),
        )

    return run
