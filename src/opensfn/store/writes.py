"""Write batches: each function returns a :data:`~opensfn.store.database.Batch` for ``Store.submit``.

A batch is all-or-nothing (it runs inside a SAVEPOINT of the writer's group
transaction). Batches only write; the checks that decide whether to write (exists?
same name?) are done by the caller against committed data and in-memory state, and
the table constraints are the last line of defence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import orjson

from opensfn.store import map_runs
from opensfn.store.database import Batch, Connection, Rewrites, inserted
from opensfn.store.records import (
    ActivityRecord,
    Closing,
    ExecutionRecord,
    MachineRecord,
    RevisionRecord,
)

Event = dict[str, Any]


class ChildEvents(Protocol):
    """New events of a Distributed Map's child execution (``engine.protocol.ChildExecution``)."""

    @property
    def arn(self) -> str: ...
    @property
    def map_run_arn(self) -> str: ...
    @property
    def events(self) -> list[Event]: ...
    @property
    def item_count(self) -> int: ...


Child = tuple[ChildEvents, int | None]
"""A child execution's new events and, when they begin its history, the row id it gets."""


def _insert_revision(conn: Connection, r: RevisionRecord) -> None:
    conn.execute(
        "INSERT INTO revisions (machine_arn, revision_id, definition, role_arn, logging, tracing, "
        "update_date, encryption) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            r.machine_arn,
            r.revision_id,
            r.definition,
            r.role_arn,
            r.logging,
            r.tracing,
            r.update_date,
            r.encryption,
        ),
    )


def _put_tags(conn: Connection, arn: str, tags: Iterable[tuple[str, str]]) -> None:
    conn.executemany(
        "INSERT INTO tags (resource_arn, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value",
        [(arn, k, v) for k, v in tags],
    )


def put_meta(key: str, value: str) -> Batch:
    """Set a meta value unless it is set already (first writer wins)."""

    def run(conn: Connection) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value)
        )

    return run


def set_active_node(url: str, since: float) -> Batch:
    """This server holds the database now; standbys forward to ``url``."""

    def run(conn: Connection) -> None:
        conn.execute(
            "INSERT INTO active_node (id, url, since) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET url = excluded.url, since = excluded.since",
            (url, since),
        )

    return run


def create_machine(
    m: MachineRecord, revision: RevisionRecord, tags: Sequence[tuple[str, str]]
) -> Batch:
    """A new state machine with its first revision and tags."""

    def run(conn: Connection) -> None:
        conn.execute(
            "INSERT INTO state_machines (arn, region, account, name, type, revision_id, updated, status, "
            "creation_date, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (m.arn, m.region, m.account, m.name, m.type, m.revision_id, int(m.updated), m.status,
             m.creation_date, m.seq),
        )  # fmt: skip
        _insert_revision(conn, revision)
        conn.execute("DELETE FROM tags WHERE resource_arn = ?", (m.arn,))
        _put_tags(conn, m.arn, tags)

    return run


def update_machine(revision: RevisionRecord) -> Batch:
    """A new revision becomes the machine's current one."""

    def run(conn: Connection) -> None:
        _insert_revision(conn, revision)
        conn.execute(
            "UPDATE state_machines SET revision_id = ?, updated = 1 WHERE arn = ?",
            (revision.revision_id, revision.machine_arn),
        )

    return Rewrites(revision.machine_arn, run)


def set_machine_status(arn: str, status: str) -> Batch:
    """ACTIVE or DELETING (DeleteStateMachine while executions still run)."""

    def run(conn: Connection) -> None:
        conn.execute("UPDATE state_machines SET status = ? WHERE arn = ?", (status, arn))

    return Rewrites(arn, run)


def delete_machine(arn: str) -> Batch:
    """The machine and its tags go; revisions stay for its executions' records."""

    def run(conn: Connection) -> None:
        conn.execute("DELETE FROM state_machines WHERE arn = ?", (arn,))
        conn.execute("DELETE FROM tags WHERE resource_arn = ?", (arn,))

    return Rewrites(arn, run)


def create_activity(a: ActivityRecord, tags: Sequence[tuple[str, str]]) -> Batch:
    """A new activity with its tags."""

    def run(conn: Connection) -> None:
        conn.execute(
            "INSERT INTO activities (arn, region, account, name, creation_date, seq, encryption) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (a.arn, a.region, a.account, a.name, a.creation_date, a.seq, a.encryption),
        )
        conn.execute("DELETE FROM tags WHERE resource_arn = ?", (a.arn,))
        _put_tags(conn, a.arn, tags)

    return run


def delete_activity(arn: str) -> Batch:
    """The activity and its tags go."""

    def run(conn: Connection) -> None:
        conn.execute("DELETE FROM activities WHERE arn = ?", (arn,))
        conn.execute("DELETE FROM tags WHERE resource_arn = ?", (arn,))

    return Rewrites(arn, run)


def put_tags(arn: str, tags: Sequence[tuple[str, str]]) -> Batch:
    """Add or overwrite tags of a resource."""

    def run(conn: Connection) -> None:
        _put_tags(conn, arn, tags)

    return run


def delete_tags(arn: str, keys: Sequence[str]) -> Batch:
    """Remove tags of a resource by key (absent keys are ignored)."""

    def run(conn: Connection) -> None:
        conn.executemany(
            "DELETE FROM tags WHERE resource_arn = ? AND key = ?", [(arn, k) for k in keys]
        )

    return run


def _insert_events(conn: Connection, execution_id: int, events: Sequence[Event]) -> None:
    if events:
        conn.executemany(
            "INSERT INTO events (execution_id, id, body) VALUES (?, ?, ?)",
            [(execution_id, e["id"], orjson.dumps(e).decode()) for e in events],
        )
        # Hook: Distributed Map runs are recorded from their events, in the same transaction.
        if any(e["type"].startswith("MapRun") for e in events):
            map_runs.record_events(conn, execution_id, events)


# A child execution's closing event -> its final status.
_CHILD_ENDS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
}


def _record_children(conn: Connection, children: Sequence[Child]) -> None:
    """Rows and history events of Distributed Map child executions (see ``Child``). A
    child's row names no revision: its definition is its Map Run's parent's."""
    for child, new_id in children:
        events = child.events
        if new_id is not None:  # its first events: ExecutionStarted is among them
            started = events[0]
            details = started["executionStartedEventDetails"]
            prefix, _, rest = child.arn.partition(":execution:")
            machine, _, name = rest.rpartition(":")
            conn.execute(
                "INSERT INTO executions (id, arn, machine_arn, revision_id, name, role_arn, "
                "status, input, start_date, map_run_arn, item_count) "
                "VALUES (?, ?, ?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?)",
                (new_id, child.arn, f"{prefix}:stateMachine:{machine}", "", name,
                 details.get("roleArn", ""), details["input"], float(started["timestamp"]),
                 child.map_run_arn, child.item_count),
            )  # fmt: skip
            execution_id = new_id
        else:
            row = conn.execute("SELECT id FROM executions WHERE arn = ?", (child.arn,)).fetchone()
            if row is None:
                continue
            execution_id = int(row[0])
        _insert_events(conn, execution_id, events)
        last = events[-1]
        status = _CHILD_ENDS.get(last["type"])
        if status is not None:
            details = last.get(last["type"][0].lower() + last["type"][1:] + "EventDetails", {})
            conn.execute(
                "UPDATE executions SET status = ?, output = ?, error = ?, cause = ?, "
                "stop_date = ? WHERE id = ?",
                (status, details.get("output"), details.get("error"), details.get("cause"),
                 float(last["timestamp"]), execution_id),
            )  # fmt: skip


# Final statuses whose engine state is kept: RedriveExecution restarts from it.
REDRIVABLE = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


def _close(conn: Connection, execution_id: int, c: Closing, state: bytes) -> None:
    kept = state.decode() if c.status in REDRIVABLE else None
    conn.execute(
        "UPDATE executions SET status = ?, output = ?, error = ?, cause = ?, stop_date = ?, state = ? "
        "WHERE id = ?",
        (c.status, c.output, c.error, c.cause, c.stop_date, kept, execution_id),
    )
    # Hook: map runs still running end with their execution.
    if c.map_runs:
        map_runs.close_all(conn, execution_id, c.status, c.stop_date)


class NameTaken(Exception):
    """The execution's ARN is in the store already (its name was used before)."""


# A name the caller chose may have been used before: that is told by the row not written
# (not by an error: on PostgreSQL a pipelined statement's error arrives after the batch,
# too late to say which name was taken). Learning it costs a round trip there, so a name
# just drawn as a new UUID, which no execution can have, is written without asking.
_UNLESS_TAKEN = " ON CONFLICT (arn) DO NOTHING"


def _insert_execution(
    conn: Connection, e: ExecutionRecord, state: bytes, closing: Closing | None, fresh: bool
) -> bool:
    """Write the new execution's row; False if its ARN is taken (nothing written)."""
    if closing is None:
        sql = (
            "INSERT INTO executions (id, arn, machine_arn, revision_id, name, role_arn, status, "
            "input, start_date, state, test_case, trace_header) "
            "VALUES (?, ?, ?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?)"
        )
        args: tuple[Any, ...] = (
            e.id, e.arn, e.machine_arn, e.revision_id, e.name, e.role_arn, e.input,
            e.start_date, state.decode(), e.test_case, e.trace_header,
        )  # fmt: skip
    else:
        # Ended inside its start: written closed in one INSERT (no UPDATE of the row and
        # its status indexes in the same transaction).
        c = closing
        sql = (
            "INSERT INTO executions (id, arn, machine_arn, revision_id, name, role_arn, status, "
            "input, output, error, cause, start_date, stop_date, state, test_case, trace_header) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        args = (
            e.id, e.arn, e.machine_arn, e.revision_id, e.name, e.role_arn, c.status, e.input,
            c.output, c.error, c.cause, e.start_date, c.stop_date,
            state.decode() if c.status in REDRIVABLE else None, e.test_case, e.trace_header,
        )  # fmt: skip
    if fresh:
        conn.execute(sql, args)
        return True
    return inserted(conn, sql + _UNLESS_TAKEN, args)


def start_execution(
    e: ExecutionRecord,
    events: Sequence[Event],
    state: bytes,
    closing: Closing | None,
    children: Sequence[Child] = (),
    fresh_name: bool = False,
) -> Batch:
    """A new execution row, its first events and engine state (closed already if it ended);
    :class:`NameTaken` when an execution of that ARN exists (nothing is written).
    ``fresh_name``: the name is a new UUID (no execution can have it)."""

    def run(conn: Connection) -> None:
        if not _insert_execution(conn, e, state, closing, fresh_name):
            raise NameTaken(e.arn)
        _insert_events(conn, e.id, events)
        if children:
            _record_children(conn, children)
        if closing is not None and closing.map_runs:  # map runs started here end with it
            map_runs.close_all(conn, e.id, closing.status, closing.stop_date)

    return run


def advance_execution(
    execution_id: int,
    events: Sequence[Event],
    state: bytes,
    closing: Closing | None,
    children: Sequence[Child] = (),
) -> Batch:
    """One step of a running execution: new events and state, or its end (and what its
    Distributed Maps' child executions recorded in the step)."""

    def run(conn: Connection) -> None:
        _insert_events(conn, execution_id, events)
        if children:
            _record_children(conn, children)
        if closing is not None:
            _close(conn, execution_id, closing, state)
        else:
            conn.execute(
                "UPDATE executions SET state = ? WHERE id = ?", (state.decode(), execution_id)
            )

    return run


def redrive_execution(
    execution_id: int,
    events: Sequence[Event],
    state: bytes,
    closing: Closing | None,
    redrive_count: int,
    redrive_date: float,
) -> Batch:
    """RedriveExecution: the execution is RUNNING again, its history goes on."""

    def run(conn: Connection) -> None:
        conn.execute(
            "UPDATE executions SET status = 'RUNNING', output = NULL, error = NULL, cause = NULL, "
            "stop_date = NULL, state = ?, redrive_count = ?, redrive_date = ? WHERE id = ?",
            (state.decode(), redrive_count, redrive_date, execution_id),
        )
        _insert_events(conn, execution_id, events)
        if closing is not None:
            _close(conn, execution_id, closing, state)

    return run
