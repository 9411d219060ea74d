"""The store on its own (no server), on both databases: a SQLite file and a fresh
PostgreSQL database — migrations, group commit, order, ownership."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pg
import pytest

from opensfn.config import ConfigError, load_settings
from opensfn.store import writes
from opensfn.store.database import open_store
from opensfn.store.records import Closing, ExecutionRecord


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """A new database of each kind: a SQLite file, a PostgreSQL database."""
    if request.param == "sqlite":
        yield tmp_path / "store.db"
    else:
        with pg.database() as url:
            yield url


def test_migrations_apply_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    open_store(db).close_sync()
    store = open_store(db)  # reopening applies nothing twice
    assert store.get_meta("anything") is None
    store.close_sync()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_group_commit_keeps_order_and_isolates_failures(db: Path | str) -> None:
    async def scenario() -> None:
        store = open_store(db)
        record = ExecutionRecord(
            store.new_execution_id(), "arn:e", "arn:m", "r1", "e", "role", "RUNNING", "{}",
            None, None, None, 1.0, None,
        )  # fmt: skip
        first = store.submit(
            writes.start_execution(record, [{"id": 1, "type": "ExecutionStarted"}], b"{}", None)
        )
        # The same ARN again (a name used before): fails alone and writes nothing.
        again = record._replace(id=store.new_execution_id())
        dup = store.submit(
            writes.start_execution(again, [{"id": 1, "type": "ExecutionStarted"}], b"{}", None)
        )
        steps = [
            store.submit(writes.advance_execution(record.id, [{"id": i, "type": "X"}], b"{}", None))
            for i in range(2, 50)
        ]
        last = store.submit(
            writes.advance_execution(
                record.id, [{"id": 50, "type": "Y"}], b"{}", Closing("SUCCEEDED", 2.0, "1")
            )
        )
        await first
        with pytest.raises(writes.NameTaken):
            await dup
        assert store.get_events(again.id, 0, 10, False) == []
        await asyncio.gather(*steps, last)
        assert [i for i, _ in store.get_events(record.id, 0, 100, False)] == list(range(1, 51))
        assert [i for i, _ in store.get_events(record.id, 51, 3, True)] == [50, 49, 48]
        rec = store.get_execution("arn:e")
        assert rec is not None
        assert (rec.status, rec.output, rec.stop_date) == ("SUCCEEDED", "1", 2.0)
        assert list(store.running_executions()) == []
        await store.close()

    asyncio.run(scenario())


def test_settings_from_flags_and_environment(tmp_path: Path) -> None:
    env = {"OPENSFN_PORT": "9000", "WAIT_TIME_SCALE": "0.5", "AWS_ACCOUNT_ID": "111122223333"}
    s = load_settings({"port": None, "db": f"sqlite:///{tmp_path}/x.db"}, env)
    assert (s.port, s.wait_scale, s.account_id) == (9000, 0.5, "111122223333")
    assert s.database == tmp_path / "x.db"
    assert load_settings({"port": 1234}, env).port == 1234  # the flag wins
    url = "postgresql://u:p@host:5433/db"
    assert load_settings({"db": url}, {}).database == url
    with pytest.raises(ConfigError, match="unknown database URL") as refused:
        load_settings({"db": "mysql://u:secret@host/db"}, {})
    assert "secret" not in str(refused.value)
    with pytest.raises(ConfigError):
        load_settings({}, {"OPENSFN_WAIT_SCALE": "-1"})


def test_postgresql_migrations_durability_and_one_owner() -> None:
    """On PostgreSQL: the migrations apply once (their number kept in opensfn_schema),
    --durability sets synchronous_commit, and the database belongs to one server (an
    advisory lock), said without the password, until that server closes it."""
    from opensfn.store.database import StoreInUse

    with pg.database() as url:
        full = open_store(url)
        assert full.rows("SHOW synchronous_commit") == [("on",)]
        version = full.rows("SELECT MAX(version) FROM opensfn_schema")[0][0]
        assert version >= 5
        user = full.rows("SELECT current_user")[0][0]
        parts = urlsplit(url)
        with_password = parts._replace(netloc=f"{user}:s3cret@{parts.hostname}:{parts.port}")
        with pytest.raises(StoreInUse, match="in use by another opensfn server") as refused:
            open_store(with_password.geturl())  # trust auth: the password is not checked
        assert "s3cret" not in str(refused.value) and f"{user}@" in str(refused.value)
        full.close_sync()
        normal = open_store(url, "NORMAL")  # reopened: nothing applied twice
        assert normal.rows("SHOW synchronous_commit") == [("off",)]
        assert normal.rows("SELECT COUNT(*), MAX(version) FROM opensfn_schema") == [
            (version, version)
        ]
        normal.close_sync()


def test_durability_setting(tmp_path: Path) -> None:
    assert load_settings({}, {}).durability == "full"
    assert load_settings({}, {"OPENSFN_DURABILITY": "normal"}).durability == "normal"
    with pytest.raises(ConfigError):
        load_settings({"durability": "none"}, {})
    for synchronous, level in (("FULL", 2), ("NORMAL", 1)):
        store = open_store(tmp_path / f"{synchronous}.db", synchronous)
        assert store.rows("PRAGMA synchronous") == [(level,)]
        assert store._conn.execute("PRAGMA synchronous").fetchone() == (level,)
        store.close_sync()


def test_execution_closed_in_its_start_is_one_row(db: Path | str) -> None:
    store = open_store(db)
    record = ExecutionRecord(
        store.new_execution_id(), "arn:e", "arn:m", "r1", "e", "role", "RUNNING", "{}",
        None, None, None, 1.0, None,
    )  # fmt: skip
    closing = Closing("SUCCEEDED", 2.0, '{"ok":1}', map_runs=False)
    store.write_now(writes.start_execution(record, [], b'{"s":1}', closing))
    got = store.get_execution("arn:e")
    assert got is not None and (got.status, got.output, got.stop_date) == (
        "SUCCEEDED",
        '{"ok":1}',
        2.0,
    )
    assert store.closed_state("arn:e") is None  # a SUCCEEDED execution keeps no state
    store.close_sync()


def test_cached_rows_follow_committed_writes(db: Path | str) -> None:
    """State machine and activity rows are cached; a write to one is seen once committed."""
    from opensfn.store.records import ActivityRecord, MachineRecord, RevisionRecord

    async def scenario() -> None:
        store = open_store(db)
        m = MachineRecord("arn:m", "us-east-1", "1", "m", "STANDARD", "r1", False, "ACTIVE", 1.0, 1)
        r1 = RevisionRecord("arn:m", "r1", "{}", "role", "{}", "{}", 1.0)
        r2 = RevisionRecord("arn:m", "r2", "{}", "role", "{}", "{}", 2.0)
        a = ActivityRecord("arn:a", "us-east-1", "1", "a", 1.0, 2)
        await store.submit(writes.create_machine(m, r1, []))
        await store.submit(writes.create_activity(a, []))
        assert store.get_machine("arn:m") == m
        assert store.get_machine("arn:m") is store.get_machine("arn:m")  # served from memory
        assert store.get_activity("arn:a") == a
        await store.submit(writes.update_machine(r2))
        updated = store.get_machine("arn:m")
        assert updated is not None and (updated.revision_id, updated.updated) == ("r2", True)
        await store.submit(writes.set_machine_status("arn:m", "DELETING"))
        deleting = store.get_machine("arn:m")
        assert deleting is not None and deleting.status == "DELETING"
        await store.submit(writes.delete_machine("arn:m"))
        await store.submit(writes.delete_activity("arn:a"))
        assert store.get_machine("arn:m") is None
        assert store.get_activity("arn:a") is None
        await store.close()

    asyncio.run(scenario())


def test_start_answers_once_its_start_is_committed_and_the_run_follows(
    db: Path | str,
) -> None:
    """StartExecution's contract with the store: when it returns, ExecutionStarted is
    committed and the states have not run yet; they run and commit after it, and a name
    used before is refused by the store's unique index without writing anything."""
    from opensfn.errors import ExecutionAlreadyExists
    from opensfn.runtime.runner import Runtime
    from opensfn.store.records import MachineRecord, RevisionRecord

    async def scenario() -> None:
        store = open_store(db)
        runtime = Runtime(store, wait_scale=1.0)
        await runtime.start()
        arn = "arn:aws:states:us-east-1:123456789012:stateMachine:m"
        states = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(3)}
        states["P3"] = {"Type": "Pass", "End": True}
        definition = json.dumps({"StartAt": "P0", "States": states})
        revision = RevisionRecord(arn, "1", definition, "arn:role", "{}", "{}", 1.0)
        machine = MachineRecord(arn, "us-east-1", "123456789012", "m", "STANDARD", "1",
                                False, "ACTIVE", 1.0, 1)  # fmt: skip
        ex_arn = arn.replace(":stateMachine:", ":execution:") + ":e1"

        started = await runtime.start_execution(machine, revision, ex_arn, "e1", '{"a": 1}')
        assert started.execution_arn == ex_arn
        rec = store.get_execution(ex_arn)
        assert rec is not None and rec.status == "RUNNING"
        events = [json.loads(body)["type"] for _, body in store.get_events(rec.id, 0, 100, False)]
        assert events == ["ExecutionStarted"]

        for _ in range(200):  # the run goes on after the answer
            await asyncio.sleep(0.01)
            rec = store.get_execution(ex_arn)
            assert rec is not None
            if rec.status != "RUNNING":
                break
        assert (rec.status, rec.output) == ("SUCCEEDED", '{"a": 1}')
        assert len(store.get_events(rec.id, 0, 100, False)) == 10

        # Stopped before its run went on: it ends there, and the run never follows.
        stop_arn = ex_arn[:-2] + "e2"
        await runtime.start_execution(machine, revision, stop_arn, "e2", "{}")
        await runtime.stop_execution(runtime.open[stop_arn], "Err", None)
        await asyncio.sleep(0.2)
        stopped = store.get_execution(stop_arn)
        assert stopped is not None and stopped.status == "ABORTED"
        kinds = [json.loads(b)["type"] for _, b in store.get_events(stopped.id, 0, 100, False)]
        assert kinds == ["ExecutionStarted", "ExecutionAborted"]

        with pytest.raises(ExecutionAlreadyExists):  # closed: its name is taken for good
            await runtime.start_execution(machine, revision, ex_arn, "e1", '{"a": 1}')
        assert ex_arn not in runtime.open
        assert len(store.get_events(rec.id, 0, 100, False)) == 10
        # The same refused start twice at once: the second waits for the first's write.
        twice = await asyncio.gather(
            runtime.start_execution(machine, revision, ex_arn, "e1", '{"a": 1}'),
            runtime.start_execution(machine, revision, ex_arn, "e1", '{"a": 1}'),
            return_exceptions=True,
        )
        assert [type(r) for r in twice] == [ExecutionAlreadyExists, ExecutionAlreadyExists]
        assert ex_arn not in runtime.open
        # A new name twice at once: one execution, both answered with it once it is written.
        new_arn = ex_arn[:-2] + "e3"
        first, again = await asyncio.gather(
            runtime.start_execution(machine, revision, new_arn, "e3", "{}"),
            runtime.start_execution(machine, revision, new_arn, "e3", "{}"),
        )
        assert first == again
        new_rec = store.get_execution(new_arn)
        assert new_rec is not None and new_rec.start_date == first.start_date
        await runtime.shutdown()
        await store.close()

    asyncio.run(scenario())


def _runtime_machine(definition: dict[str, Any], name: str = "m") -> tuple[Any, Any, str]:
    """A machine and revision record for the runtime tests, and an execution ARN prefix."""
    from opensfn.store.records import MachineRecord, RevisionRecord

    arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    revision = RevisionRecord(arn, "1", json.dumps(definition), "arn:role", "{}", "{}", 1.0)
    machine = MachineRecord(arn, "us-east-1", "123456789012", name, "STANDARD", "1",
                            False, "ACTIVE", 1.0, 1)  # fmt: skip
    return machine, revision, arn.replace(":stateMachine:", ":execution:") + ":"


def test_a_first_task_is_scheduled_in_the_start_and_other_first_states_run_after(
    db: Path | str,
) -> None:
    """Entering a Task or a Wait only schedules work: the start writes it in its own
    commit. A first Map (or any state that computes) runs after the answer."""
    from opensfn.runtime.runner import Runtime

    activity = "arn:aws:states:us-east-1:123456789012:activity:work"

    async def scenario() -> None:
        store = open_store(db)
        runtime = Runtime(store, wait_scale=1.0)
        await runtime.start()

        def committed(arn: str) -> list[str]:
            rec = store.get_execution(arn)
            assert rec is not None
            return [json.loads(b)["type"] for _, b in store.get_events(rec.id, 0, 100, False)]

        task = {
            "StartAt": "T",
            "States": {"T": {"Type": "Task", "Resource": activity, "End": True}},
        }
        machine, revision, prefix = _runtime_machine(task, "task")
        await runtime.start_execution(machine, revision, prefix + "t", "t", "{}")
        assert committed(prefix + "t") == [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
        ]
        assert runtime.queues.queued(activity) == 1  # handed to the queue once committed

        wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}
        machine, revision, prefix = _runtime_machine(wait, "wait")
        await runtime.start_execution(machine, revision, prefix + "w", "w", "{}")
        assert committed(prefix + "w") == ["ExecutionStarted", "WaitStateEntered"]

        items = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        fanout = {"Type": "Map", "ItemProcessor": items, "End": True}
        machine, revision, prefix = _runtime_machine(
            {"StartAt": "M", "States": {"M": fanout}}, "map"
        )
        await runtime.start_execution(machine, revision, prefix + "m", "m", "[1, 2, 3]")
        assert committed(prefix + "m") == ["ExecutionStarted"]
        for _ in range(200):
            await asyncio.sleep(0.01)
            if committed(prefix + "m")[-1] == "ExecutionSucceeded":
                break
        assert committed(prefix + "m").count("MapIterationSucceeded") == 3
        await runtime.shutdown()
        await store.close()

    asyncio.run(scenario())


def test_a_worker_already_waiting_is_handed_the_task_in_the_commit_that_schedules_it(
    db: Path | str,
) -> None:
    """A GetActivityTask waiting when a Task is entered gets the task with the start's own
    commit (ActivityStarted is written with ActivityScheduled: one fsync, not two). A start
    whose write fails hands nothing out: the worker waits on for a real task."""
    from opensfn.errors import ExecutionAlreadyExists
    from opensfn.runtime.runner import Runtime

    activity = "arn:aws:states:us-east-1:123456789012:activity:work"
    task = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity, "End": True}}}

    async def scenario() -> None:
        store = open_store(db)
        runtime = Runtime(store, wait_scale=1.0)
        await runtime.start()
        machine, revision, prefix = _runtime_machine(task, "task")

        def committed(arn: str) -> list[dict[str, Any]]:
            rec = store.get_execution(arn)
            assert rec is not None
            return [json.loads(b) for _, b in store.get_events(rec.id, 0, 100, False)]

        async def worker(name: str) -> tuple[str, str] | None:
            return await runtime.take_activity_task(activity, name, "123456789012", 5.0)

        polling = asyncio.create_task(worker("early"))
        await asyncio.sleep(0.01)  # the worker waits now
        await runtime.start_execution(machine, revision, prefix + "a", "a", '{"n": 1}')
        # Answered once committed: the hand-out was in that same commit.
        events = committed(prefix + "a")
        assert [e["type"] for e in events] == [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
        ]
        assert [e["id"] for e in events] == [1, 2, 3, 4]
        assert events[3]["activityStartedEventDetails"] == {"workerName": "early"}
        got = await polling
        assert got is not None and json.loads(got[1]) == {"n": 1}
        assert runtime.queues.queued(activity) == 0
        await runtime.answer_task(runtime.open[prefix + "a"], _succeeded(runtime, got[0]))
        assert committed(prefix + "a")[-1]["type"] == "ExecutionSucceeded"

        # The name is taken (a closed execution): the start's write fails, and the
        # ActivityStarted queued behind it must neither commit nor reach the worker.
        polling = asyncio.create_task(worker("patient"))
        await asyncio.sleep(0.01)
        with pytest.raises(ExecutionAlreadyExists):
            await runtime.start_execution(machine, revision, prefix + "a", "a", '{"n": 2}')
        await asyncio.sleep(0.05)
        assert not polling.done()
        assert len(committed(prefix + "a")) == 7  # the first run's history, untouched
        await runtime.start_execution(machine, revision, prefix + "b", "b", '{"n": 3}')
        got = await polling
        assert got is not None and json.loads(got[1]) == {"n": 3}
        assert [e["type"] for e in committed(prefix + "b")][-1] == "ActivityStarted"

        # Two branches schedule two tasks at once: two waiting workers get one each.
        branch = {"StartAt": "T", "States": task["States"]}
        both = {"Type": "Parallel", "Branches": [branch, branch], "End": True}
        machine, revision, prefix = _runtime_machine({"StartAt": "P", "States": {"P": both}}, "par")
        pollers = [asyncio.create_task(worker(f"w{i}")) for i in range(2)]
        await asyncio.sleep(0.01)
        await runtime.start_execution(machine, revision, prefix + "p", "p", "{}")
        for _ in range(100):  # the first Parallel runs after the answer
            if all(p.done() for p in pollers):
                break
            await asyncio.sleep(0.01)
        tokens = [p.result() for p in pollers]
        assert all(t is not None for t in tokens) and len({t[0] for t in tokens if t}) == 2
        types = [e["type"] for e in committed(prefix + "p")]
        assert types.count("ActivityScheduled") == types.count("ActivityStarted") == 2
        assert runtime.queues.queued(activity) == 0
        await runtime.shutdown()
        await store.close()

    asyncio.run(scenario())


def _succeeded(runtime: Any, token: str) -> Any:
    """The TaskSucceeded trigger that answers ``token``."""
    from opensfn.engine.protocol import TaskSucceeded
    from opensfn.runtime import tokens

    target = tokens.read_token(runtime.secret, "123456789012", token)
    assert target is not None
    return TaskSucceeded(target.task_id, "{}")


@pytest.mark.parametrize("failure", ["raised", "refused by the database"])
def test_a_write_queued_after_a_failed_one_of_the_same_execution_is_not_committed(
    db: Path | str, failure: str
) -> None:
    """Group commit rolls a failing write back alone; a later write of the same execution
    in the same commit must fail with it, or the history would skip the lost step. The
    failure is the batch's own exception or the database's refusal of a statement (on
    PostgreSQL, whose group commit is one pipeline, that error must still be told inside
    the batch that sent the statement)."""
    from opensfn.engine.protocol import Transition
    from opensfn.runtime.runner import Runtime, WriteSkipped

    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}

    async def scenario() -> None:
        store = open_store(db)
        runtime = Runtime(store, wait_scale=1.0)
        await runtime.start()
        machine, revision, prefix = _runtime_machine(wait)
        await runtime.start_execution(machine, revision, prefix + "a", "a", "{}")
        await runtime.start_execution(machine, revision, prefix + "b", "b", "{}")
        a, b = runtime.open[prefix + "a"], runtime.open[prefix + "b"]
        rec_a = store.get_execution(prefix + "a")
        assert rec_a is not None
        before = len(store.get_events(rec_a.id, 0, 100, False))

        def failing(conn: Any) -> None:
            conn.execute(
                "INSERT INTO events (execution_id, id, body) VALUES (?, 1000, '{}')", (a.id,)
            )
            if failure == "raised":
                raise RuntimeError("disk trouble")
            # event 1 exists: the primary key refuses it
            conn.execute("INSERT INTO events (execution_id, id, body) VALUES (?, 1, '{}')", (a.id,))

        def later(conn: Any) -> None:
            conn.execute(
                "INSERT INTO events (execution_id, id, body) VALUES (?, 1001, '{}')", (a.id,)
            )

        def other(conn: Any) -> str:
            return "written"

        nothing = Transition(a.state)
        results = await asyncio.gather(
            runtime._commit(a, nothing, failing),
            runtime._commit(a, nothing, later),
            runtime._commit(b, Transition(b.state), other),
            return_exceptions=True,
        )
        if failure == "raised":
            assert isinstance(results[0], RuntimeError)
        else:
            assert "unique" in str(results[0]).lower() or "duplicate" in str(results[0]).lower()
        assert [type(r) for r in results[1:]] == [WriteSkipped, str]
        assert len(store.get_events(rec_a.id, 0, 2000, False)) == before  # neither landed
        assert prefix + "a" not in runtime.open  # resumes from the store on restart
        assert prefix + "b" in runtime.open
        await runtime.shutdown()
        await store.close()

    asyncio.run(scenario())


def test_one_process_owns_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store keeps SQLite's lock while it is open: a second server on the same file
    is refused with a message that says why (instead of both handing out the same
    execution ids), other readers wait, and once the first closes the file opens again."""
    import time

    from opensfn.api.app import App
    from opensfn.config import Settings
    from opensfn.store import dialect
    from opensfn.store.database import StoreInUse

    setup = tuple(
        "PRAGMA busy_timeout=200" if s.startswith("PRAGMA busy_timeout") else s
        for s in dialect.setup_statements("sqlite")
    )
    monkeypatch.setitem(dialect.DIALECTS["sqlite"], "setup", setup)
    db = tmp_path / "owned.db"
    first = open_store(db)
    assert not (tmp_path / "owned.db-shm").exists()  # the WAL index is the process's own
    t0 = time.monotonic()
    with pytest.raises(StoreInUse, match="in use by another process"):
        open_store(db)
    assert time.monotonic() - t0 < 3
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        sqlite3.connect(db, timeout=0.1).execute("SELECT COUNT(*) FROM executions").fetchone()

    async def lifespan() -> list[dict[str, Any]]:
        app = App(Settings(db=str(db)))
        inbox = [{"type": "lifespan.startup"}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return inbox.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app({"type": "lifespan"}, receive, send)
        return sent

    (failed,) = asyncio.run(lifespan())
    assert failed["type"] == "lifespan.startup.failed"
    assert str(db) in failed["message"] and "another --db" in failed["message"]
    first.close_sync()
    again = open_store(db)
    assert again.get_meta("nothing") is None
    again.close_sync()


def test_running_executions_are_read_page_by_page_in_start_order(db: Path | str) -> None:
    store = open_store(db)
    ids = []
    for i, status in enumerate(
        ["RUNNING", "SUCCEEDED", "RUNNING", "RUNNING", "RUNNING", "RUNNING"]
    ):
        record = ExecutionRecord(
            store.new_execution_id(), f"arn:e{i}", "arn:m", "r1", f"e{i}", "role", "RUNNING",
            "{}", None, None, None, 1.0, None,
        )  # fmt: skip
        closing = None if status == "RUNNING" else Closing(status, 2.0, "{}")
        store.write_now(writes.start_execution(record, [], f'{{"n":{i}}}'.encode(), closing))
        if status == "RUNNING":
            ids.append(record.id)
    got = [(rec.id, state) for rec, state in store.running_executions(page=2)]
    assert [i for i, _ in got] == ids  # across three pages, the closed one left out
    assert got[0][1] == '{"n":0}'
    store.close_sync()
