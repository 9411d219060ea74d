"""Activity workers as real processes (``opensfn worker``) and in-process (``Worker``),
against a live server whose GetActivityTask long poll lasts 1 s."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_status
from live_server import CREDENTIALS, Server

from opensfn.client import ExecutionFailed, start_and_wait, wait_for_execution
from opensfn.worker import Task, TaskGone, Worker

HANDLERS = """
import json, os, time
from pathlib import Path
from opensfn.worker import TaskFailed

LOG = Path(os.environ["TASK_LOG"])

class PaymentDeclined(Exception):
    pass

def record(x):
    start = time.time()
    time.sleep(x.get("sleep", 0))
    with LOG.open("a") as f:  # one short O_APPEND write per task: lines never interleave
        f.write(json.dumps({"id": x["id"], "pid": os.getpid(), "start": start, "end": time.time()}) + "\\n")
    return {"id": x["id"], "pid": os.getpid()}

def charge(x):
    if x["mode"] == "declined":
        raise PaymentDeclined(f"card {x['card']} declined")
    if x["mode"] == "explicit":
        raise TaskFailed("Payment.Unavailable", "the bank is closed")
    return {"charged": x["card"]}

def slow(x, task):
    LOG.write_text("started")
    time.sleep(x["sleep"])
    return {"slept": x["sleep"], "token_seen": bool(task.token)}
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "handlers.py").write_text(textwrap.dedent(HANDLERS))
    return tmp_path


@pytest.fixture
def spawn(server: Server, workdir: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``opensfn worker`` processes; any still running at the end are stopped."""
    procs: list[subprocess.Popen[str]] = []

    def start(handler: str, activity: str, *args: str) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENSFN_", "AWS_"))}
        env.update(CREDENTIALS, TASK_LOG=str(workdir / "tasks.log"))
        cmd = [sys.executable, "-m", "opensfn", "worker", f"handlers:{handler}"]
        cmd += ["--activity", activity, "--endpoint-url", server.url, *args]
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def wait_polling(proc: subprocess.Popen[str]) -> None:
    """Read the worker's log until it says it polls (so tasks find it waiting)."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if " polling arn:" in line:
            return
    raise AssertionError(f"worker exited with {proc.wait()}")


def terminate(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    return proc.returncode, err


def task_machine(make_machine: Any, activity: str, **task: Any) -> str:
    state = {"Type": "Task", "Resource": activity, "End": True, **task}
    return str(make_machine({"StartAt": "Work", "States": {"Work": state}}))


def new_activity(sfn: Any, unique: Callable[[str], str]) -> str:
    return str(sfn.create_activity(name=unique("act"))["activityArn"])


def test_workers_share_tasks_none_lost_or_doubled(
    sfn: Any, make_machine: Any, unique: Callable[[str], str], spawn: Any, workdir: Path
) -> None:
    activity = new_activity(sfn, unique)
    machine = task_machine(make_machine, activity)
    workers = [spawn("record", activity, "--concurrency", "3") for _ in range(2)]
    for proc in workers:
        wait_polling(proc)
    count = 24
    runs = [
        sfn.start_execution(stateMachineArn=machine, input=json.dumps({"id": i, "sleep": 0.15}))
        for i in range(count)
    ]
    outputs = [json.loads(wait_status(sfn, r["executionArn"], timeout=30)["output"]) for r in runs]
    assert [o["id"] for o in outputs] == list(range(count))
    done = [json.loads(line) for line in (workdir / "tasks.log").read_text().splitlines()]
    assert Counter(d["id"] for d in done) == Counter(range(count))  # each exactly once
    pids = {p.pid for p in workers}
    assert {d["pid"] for d in done} == pids  # both workers took tasks
    for pid in pids:  # each ran up to --concurrency tasks at once, and more than one
        spans = [(d["start"], d["end"]) for d in done if d["pid"] == pid]
        overlap = max(sum(s <= start < e for s, e in spans) for start, _ in spans)
        assert 2 <= overlap <= 3
    for proc in workers:
        status, err = terminate(proc)
        assert status == 0, err
        assert "stopped: " in err


def test_raising_handler_fails_the_task_with_its_error(
    sfn: Any, make_machine: Any, unique: Callable[[str], str], spawn: Any
) -> None:
    activity = new_activity(sfn, unique)
    machine = make_machine(
        {
            "StartAt": "Charge",
            "States": {
                "Charge": {
                    "Type": "Task",
                    "Resource": activity,
                    "Catch": [{"ErrorEquals": ["PaymentDeclined"], "Next": "Declined"}],
                    "Next": "Charged",
                },
                "Charged": {"Type": "Succeed"},
                "Declined": {
                    "Type": "Pass",
                    "Result": "declined",
                    "ResultPath": "$.outcome",
                    "End": True,
                },
            },
        }
    )
    proc = spawn("charge", activity, "--concurrency", "2")
    caught = start_and_wait(machine, {"mode": "declined", "card": 4242}, client=sfn, timeout=20)
    assert caught == {
        "Error": "PaymentDeclined",
        "Cause": "card 4242 declined",
        "outcome": "declined",  # the Catch matched the exception's type name
    }
    with pytest.raises(ExecutionFailed) as failed:
        start_and_wait(machine, {"mode": "explicit", "card": 1}, client=sfn, timeout=20)
    assert (failed.value.error, failed.value.cause) == ("Payment.Unavailable", "the bank is closed")
    assert start_and_wait(machine, {"mode": "ok", "card": 7}, client=sfn, timeout=20) == {
        "charged": 7
    }
    status, err = terminate(proc)
    assert status == 0
    assert "stopped: 1 succeeded, 2 failed" in err


def test_heartbeats_keep_a_slow_task_alive(
    sfn: Any, make_machine: Any, unique: Callable[[str], str], spawn: Any
) -> None:
    beating, silent = new_activity(sfn, unique), new_activity(sfn, unique)
    spawn("slow", beating, "--heartbeat-seconds", "0.3")
    spawn("slow", silent, "--heartbeat-seconds", "0")  # the control: no heartbeats
    runs = [
        sfn.start_execution(
            stateMachineArn=task_machine(make_machine, act, HeartbeatSeconds=1),
            input='{"sleep": 2.5}',
        )["executionArn"]
        for act in (beating, silent)
    ]
    kept, lost = (wait_for_execution(r, client=sfn, timeout=20) for r in runs)
    assert kept["status"] == "SUCCEEDED"
    assert json.loads(kept["output"]) == {"slept": 2.5, "token_seen": True}
    assert (lost["status"], lost["error"]) == ("FAILED", "States.Timeout")


def test_sigterm_mid_task_finishes_the_task(
    sfn: Any, make_machine: Any, unique: Callable[[str], str], spawn: Any, workdir: Path
) -> None:
    activity = new_activity(sfn, unique)
    machine = task_machine(make_machine, activity)
    proc = spawn("slow", activity, "--concurrency", "2")
    ex = sfn.start_execution(stateMachineArn=machine, input='{"sleep": 1.5}')["executionArn"]
    marker = workdir / "tasks.log"
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    stopped_at = time.monotonic()
    status, err = terminate(proc)
    assert status == 0, err
    assert time.monotonic() - stopped_at < 6  # the task (1.5 s) and the open 1 s poll
    assert "stopped: 1 succeeded, 0 failed" in err
    assert json.loads(wait_status(sfn, ex)["output"]) == {"slept": 1.5, "token_seen": True}
    # Nobody polls any more: a new task waits.
    later = sfn.start_execution(stateMachineArn=machine, input='{"sleep": 0}')["executionArn"]
    time.sleep(1.2)
    assert sfn.describe_execution(executionArn=later)["status"] == "RUNNING"
    sfn.stop_execution(executionArn=later)


def test_worker_library_in_process(
    sfn: Any, make_machine: Any, unique: Callable[[str], str]
) -> None:
    activity = new_activity(sfn, unique)
    machine = task_machine(make_machine, activity, TimeoutSeconds=30)
    seen: list[str] = []

    def handler(data: Any, task: Task) -> Any:
        task.heartbeat()
        seen.append(task.activity_arn)
        return {"sum": sum(data["xs"]), "gone": task.gone}

    worker = Worker(activity, handler, concurrency=2, heartbeat_seconds=None, client=sfn)
    thread = threading.Thread(target=worker.run, kwargs={"handle_signals": False})
    thread.start()
    try:
        assert start_and_wait(machine, {"xs": [1, 2, 3]}, client=sfn, timeout=20) == {
            "sum": 6,
            "gone": False,
        }
    finally:
        worker.stop()
        thread.join(10)
    assert not thread.is_alive()
    assert (worker.succeeded, worker.failed, seen) == (1, 0, [activity])


def test_heartbeat_after_timeout_raises_task_gone(
    sfn: Any, make_machine: Any, unique: Callable[[str], str]
) -> None:
    activity = new_activity(sfn, unique)
    machine = task_machine(make_machine, activity, TimeoutSeconds=1)
    outcome: list[str] = []

    def handler(data: Any, task: Task) -> Any:
        time.sleep(1.5)
        try:
            task.heartbeat()
        except TaskGone:
            outcome.append("gone")
        return {}

    worker = Worker(activity, handler, heartbeat_seconds=None, client=sfn)
    thread = threading.Thread(target=worker.run, kwargs={"handle_signals": False})
    thread.start()
    try:
        ex = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        assert wait_for_execution(ex, client=sfn, timeout=20)["error"] == "States.Timeout"
        deadline = time.monotonic() + 5
        while not outcome and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
        thread.join(10)
    assert outcome == ["gone"]
