"""Durability: kill -9 mid-execution, restart on the same database, carry on."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pg
import pytest
from conftest import ROLE, wait_event, wait_status
from conftest import task as one_task
from live_server import Server

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Starts servers on one new database of each kind (a SQLite file, a PostgreSQL one)."""
    servers: list[Server] = []
    with contextlib.ExitStack() as stack:
        default: Path | str = (
            tmp_path / "restart.db"
            if request.param == "sqlite"
            else stack.enter_context(pg.database())
        )

        def start(db: Path | str | None = None) -> Server:
            srv = Server(db or default, args=("--activity-poll-seconds", "1")).start()
            servers.append(srv)
            return srv

        yield start
        for srv in servers:
            if srv.proc is not None and srv.proc.poll() is None:
                srv.stop()


def machine(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    return str(
        sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
            "stateMachineArn"
        ]
    )


def test_wait_fires_at_its_time_after_kill(fresh: Any) -> None:
    srv = fresh()
    sfn = srv.client()
    arn = machine(
        sfn,
        "waiter",
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3, "End": True}}},
    )
    ex = sfn.start_execution(stateMachineArn=arn, input='{"k": 1}')["executionArn"]
    srv.kill()
    restarted = fresh(srv.db)
    sfn = restarted.client()
    assert sfn.describe_execution(executionArn=ex)["status"] == "RUNNING"
    d = wait_status(sfn, ex, timeout=10)
    assert (d["stopDate"] - d["startDate"]).total_seconds() >= 3.0  # never early
    types = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
    assert types.count("WaitStateExited") == 1  # and once
    assert json.loads(d["output"]) == {"k": 1}


def test_handed_out_token_survives_kill(fresh: Any) -> None:
    srv = fresh()
    sfn = srv.client()
    act = sfn.create_activity(name="durable")["activityArn"]
    task_def = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": True}}}
    arn = machine(sfn, "worker", task_def)
    handed = sfn.start_execution(stateMachineArn=arn, name="handed")["executionArn"]
    queued = sfn.start_execution(stateMachineArn=arn, name="queued", input='{"q": 1}')[
        "executionArn"
    ]
    task = sfn.get_activity_task(activityArn=act, workerName="w1")
    srv.kill()
    restarted = fresh(srv.db)
    sfn = restarted.client()
    # the task handed out before the crash is not handed out again; the queued one is
    again = sfn.get_activity_task(activityArn=act)
    assert json.loads(again["input"]) == {"q": 1}
    sfn.send_task_success(taskToken=task["taskToken"], output='{"first": true}')
    sfn.send_task_success(taskToken=again["taskToken"], output='{"second": true}')
    assert json.loads(wait_status(sfn, handed)["output"]) == {"first": True}
    assert json.loads(wait_status(sfn, queued)["output"]) == {"second": True}
    assert "taskToken" not in sfn.get_activity_task(activityArn=act)


def test_everything_acknowledged_survives(fresh: Any) -> None:
    srv = fresh()
    sfn = srv.client()
    arn = machine(
        sfn, "many", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    )
    arns = [sfn.start_execution(stateMachineArn=arn)["executionArn"] for _ in range(20)]
    sfn.stop_execution(executionArn=arns[0], error="E", cause="C")
    srv.kill()
    restarted = fresh(srv.db)
    sfn = restarted.client()
    assert sfn.describe_execution(executionArn=arns[0])["status"] == "ABORTED"
    running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert sorted(e["executionArn"] for e in running) == sorted(arns[1:])
    started = time.monotonic()
    assert restarted.stop() in (0, -15)  # a clean shutdown with open executions is quick
    assert time.monotonic() - started < 10


def test_sync_parent_finds_its_child_after_kill(fresh: Any) -> None:
    """A parent waiting on a `.sync` child gets the child's result after a restart."""
    srv = fresh()
    sfn = srv.client()
    act = sfn.create_activity(name="child-work")["activityArn"]
    child = machine(
        sfn,
        "child",
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": True}}},
    )
    parent = machine(
        sfn,
        "parent",
        {
            "StartAt": "Run",
            "States": {
                "Run": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": child, "Input": {"n": 7}},
                    "OutputPath": "$.Output",
                    "End": True,
                }
            },
        },
    )
    ex = sfn.start_execution(stateMachineArn=parent)["executionArn"]
    task = sfn.get_activity_task(activityArn=act, workerName="w")
    assert json.loads(task["input"])["n"] == 7
    wait_event(sfn, ex, "TaskSubmitted", timeout=5)  # the parent recorded the child's ARN
    srv.kill()
    sfn = fresh(srv.db).client()
    sfn.send_task_success(taskToken=task["taskToken"], output='{"done": 7}')
    assert json.loads(wait_status(sfn, ex)["output"]) == {"done": 7}


def test_mocked_execution_stays_mocked_after_kill(fresh: Any, tmp_path: Path) -> None:
    """The test case chosen with ``arn#TestCase`` is durable, and so is the count of mocked
    invocations: the retry after the restart gets the mock's second answer."""
    config = tmp_path / "mocks.json"
    config.write_text(
        json.dumps(
            {
                "StateMachines": {"mocked": {"TestCases": {"Retried": {"T": "ThrowThenOk"}}}},
                "MockedResponses": {
                    "ThrowThenOk": {
                        "0": {"Throw": {"Error": "Boom", "Cause": "first call"}},
                        "1": {"Return": {"Payload": "ok"}},
                    }
                },
            }
        )
    )
    db = tmp_path / "mocked.db"
    args = ("--activity-poll-seconds", "1", "--mock-config", str(config))
    srv = Server(db, args=args).start()
    try:
        sfn = srv.client()
        definition = one_task(
            "arn:aws:states:::lambda:invoke",
            Parameters={"FunctionName": "not-deployed-anywhere"},
            Retry=[{"ErrorEquals": ["Boom"], "IntervalSeconds": 3, "MaxAttempts": 1}],
        )
        arn = machine(sfn, "mocked", definition)
        ex = sfn.start_execution(stateMachineArn=arn + "#Retried")["executionArn"]
        wait_event(sfn, ex, "TaskFailed")
        srv.kill()
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.kill()
    restarted = Server(db, args=args).start()
    try:
        sfn = restarted.client()
        d = wait_status(sfn, ex, timeout=15)
        assert json.loads(d["output"]) == {"Payload": "ok"}
        types = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
        assert types.count("TaskFailed") == 1 and types.count("TaskScheduled") == 2
    finally:
        restarted.stop()


def test_a_submitted_job_is_followed_again_after_kill(tmp_path: Path) -> None:
    """A ``.sync`` job started before the kill is described again after the restart (not
    started twice) and its Task ends with the job."""
    from fixtures_integrations import Moto

    moto = Moto(tmp_path / "moto.log")
    db = tmp_path / "jobs.db"
    args = ("--endpoint", f"glue={moto.url}")
    try:
        moto.client("glue").create_job(
            Name="nightly", Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://b/k"}
        )
        srv = Server(db, args=args).start()
        sfn = srv.client()
        definition = one_task(
            "arn:aws:states:::glue:startJobRun.sync", Parameters={"JobName": "nightly"}
        )
        ex = sfn.start_execution(stateMachineArn=machine(sfn, "job", definition))["executionArn"]
        wait_event(sfn, ex, "TaskSubmitted")
        assert sfn.describe_execution(executionArn=ex)["status"] == "RUNNING"
        srv.kill()  # before the job's first description (a second after it was submitted)
        restarted = Server(db, args=args).start()
        try:
            sfn = restarted.client()
            d = wait_status(sfn, ex, timeout=15)
            assert json.loads(d["output"])["JobRunState"] == "SUCCEEDED"
            types = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
            assert types[2:] == [
                "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded",
                "TaskStateExited", "ExecutionSucceeded",
            ]  # fmt: skip
            runs = moto.client("glue").get_job_runs(JobName="nightly")["JobRuns"]
            assert len(runs) == 1  # started once
        finally:
            restarted.stop()
    finally:
        moto.stop()


def test_nothing_acknowledged_under_load_is_lost_at_kill(fresh: Any) -> None:
    """kill -9 while starters, workers and answers are in flight from several threads:
    every StartExecution, GetActivityTask and SendTaskSuccess answered 200 holds after the
    restart, no task token is handed out twice, every execution ends with its own answer
    and every history runs on without a gap. (A task handed to a worker that never heard
    the answer is lost to it, as on AWS: its TimeoutSeconds and Retry bring it back.)"""
    import threading

    srv = fresh()
    sfn = srv.client()
    act = sfn.create_activity(name="load")["activityArn"]
    work = {
        "Type": "Task", "Resource": act, "TimeoutSeconds": 3, "Next": "P",
        "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 5}],
    }  # fmt: skip
    arn = machine(
        sfn, "load", {"StartAt": "T", "States": {"T": work, "P": {"Type": "Pass", "End": True}}}
    )
    lock = threading.Lock()
    started: set[str] = set()  # every StartExecution answered 200
    handed: dict[str, int] = {}  # token -> n, every GetActivityTask answered 200
    answered: set[str] = set()  # tokens of every SendTaskSuccess answered 200
    stop = threading.Event()

    def starter(k: int) -> None:
        client = srv.client()
        for i in range(10_000):
            try:
                out = client.start_execution(
                    stateMachineArn=arn, input=json.dumps({"n": k * 10_000 + i})
                )
            except Exception:  # the server is gone
                return
            with lock:
                started.add(out["executionArn"])

    def worker() -> None:
        client = srv.client()
        while not stop.is_set():
            try:
                task = client.get_activity_task(activityArn=act)
            except Exception:
                return
            if "taskToken" not in task:
                continue
            token, n = task["taskToken"], json.loads(task["input"])["n"]
            with lock:
                assert token not in handed
                handed[token] = n
            try:
                client.send_task_success(taskToken=token, output=json.dumps({"done": n}))
            except Exception:
                return
            with lock:
                answered.add(token)

    threads = [threading.Thread(target=starter, args=(k,)) for k in range(3)]
    threads += [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    srv.kill()
    stop.set()
    for t in threads:
        t.join(10)
    assert len(started) > 50 and len(answered) > 20  # the kill came in the middle of it all

    restarted = fresh(srv.db)
    sfn = restarted.client()
    # Every execution written, acknowledged or not (a start may commit just before the kill
    # and its answer never arrive), by its input's n.
    by_n: dict[int, str] = {}
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        for e in page["executions"]:
            d = sfn.describe_execution(executionArn=e["executionArn"])
            by_n[json.loads(d["input"])["n"]] = e["executionArn"]
    assert started <= set(by_n.values())  # every acknowledged start is there
    # A token handed out before the kill still answers its task, unless the answer was
    # written just before the kill (its 200 never arrived) or the task timed out meanwhile
    # (then it is retried); the end checks every output.
    late = contextlib.suppress(sfn.exceptions.TaskTimedOut)
    for token in handed.keys() - answered:
        with late:
            sfn.send_task_success(taskToken=token, output=json.dumps({"done": handed[token]}))
    deadline = time.monotonic() + 30
    while sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
        assert time.monotonic() < deadline, "executions left waiting"
        task = sfn.get_activity_task(activityArn=act)  # what was queued, or retried
        if "taskToken" in task:
            token, n = task["taskToken"], json.loads(task["input"])["n"]
            assert token not in handed, f"the task of {n} was handed out twice"
            handed[token] = n
            with late:  # (handed out as its TimeoutSeconds ran out: it is retried)
                sfn.send_task_success(taskToken=token, output=json.dumps({"done": n}))
    for n, ex in by_n.items():  # all of them end with their own answer, histories unbroken
        assert json.loads(wait_status(sfn, ex)["output"]) == {"done": n}
        events = sfn.get_execution_history(executionArn=ex, maxResults=1000)["events"]
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        kinds = [e["type"] for e in events]
        assert kinds.count("ExecutionStarted") == kinds.count("ActivitySucceeded") == 1
        assert kinds.count("ActivityStarted") <= kinds.count("ActivityScheduled")


def test_a_distributed_maps_children_survive_kill_9(tmp_path: Path) -> None:
    """Children waiting on an activity when the server is killed: after the restart they
    are not resumed as executions of their own (their state is the parent's), and their
    rows and histories go on and close as the parent's Map Run goes on."""
    db = tmp_path / "children.db"
    args = ("--activity-poll-seconds", "1")
    with Server(db, args=args) as srv:
        sfn = srv.client()
        activity = sfn.create_activity(name="child-work")["activityArn"]
        processor = {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}},
        }
        definition = {
            "StartAt": "M",
            "States": {"M": {"Type": "Map", "ItemProcessor": processor, "End": True}},
        }
        arn = machine(sfn, "fan", definition)
        parent = sfn.start_execution(stateMachineArn=arn, input="[1, 2]")["executionArn"]
        wait_event(sfn, parent, "MapRunStarted")
        srv.kill_and_restart()
        sfn = srv.client()
        (run,) = sfn.list_map_runs(executionArn=parent)["mapRuns"]
        children = sfn.list_executions(mapRunArn=run["mapRunArn"])["executions"]
        assert [c["status"] for c in children] == ["RUNNING", "RUNNING"]
        for _ in range(2):
            task = sfn.get_activity_task(activityArn=activity, workerName="after")
            sfn.send_task_success(taskToken=task["taskToken"], output=task["input"])
        assert wait_status(sfn, parent, timeout=15)["output"] == "[1,2]"
        for child in sfn.list_executions(mapRunArn=run["mapRunArn"])["executions"]:
            assert child["status"] == "SUCCEEDED"
            events = sfn.get_execution_history(executionArn=child["executionArn"])["events"]
            assert [e["type"] for e in events] == [
                "ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted",
                "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded",
            ]  # fmt: skip
            assert [e["id"] for e in events] == list(range(1, 8))


def test_losing_the_postgresql_connection_stops_the_server_and_a_restart_resumes() -> None:
    """PostgreSQL goes away under a running server (its session is terminated): the next
    call fails with an AWS-shaped error, the server stops with exit code 3 (its memory may
    be ahead of the database), and a restart on the same database carries on."""
    import psycopg
    from botocore.exceptions import ClientError

    with pg.database() as url:
        srv = Server(url, args=("--activity-poll-seconds", "1")).start()
        try:
            sfn = srv.client()
            arn = machine(
                sfn,
                "lost",
                {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "End": True}}},
            )
            run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
            with psycopg.connect(pg.ADMIN, autocommit=True) as admin:
                (terminated,) = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = %s)",
                    (url.rsplit("/", 1)[1],),
                ).fetchone()
            assert terminated is True
            with pytest.raises(ClientError) as failed:
                sfn.describe_execution(executionArn=run)
            assert failed.value.response["Error"]["Code"] == "InternalFailure"
            assert srv.proc is not None and srv.proc.wait(20) == 3
            assert (
                srv.log is not None and "lost the connection to the database" in srv.log.read_text()
            )
            restarted = Server(url, port=srv.port).start()
            try:
                assert wait_status(restarted.client(), run, timeout=15)["status"] == "SUCCEEDED"
            finally:
                restarted.stop()
        finally:
            if srv.proc is not None and srv.proc.poll() is None:
                srv.stop()
