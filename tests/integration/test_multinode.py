"""Several servers on one PostgreSQL database: one active, the others standbys that
forward calls to it and take over when it dies (kill -9) — nothing acknowledged is lost."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pg
import pytest
from conftest import ROLE, wait_status
from live_server import Server

pytestmark = pytest.mark.slow


def _health(srv: Server) -> int:
    try:
        with urllib.request.urlopen(f"{srv.url}/_opensfn/health", timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_a_standby_forwards_then_takes_over_when_the_active_server_is_killed() -> None:
    args = ("--standby", "--activity-poll-seconds", "2")
    with pg.database() as url:
        active = Server(url, args=args).start()
        standby = Server(url, args=args).start()
        try:
            assert _health(active) == 200 and _health(standby) == 503  # standby: not for LBs
            # Through the standby only, with the SDK's retries (503s while it takes over).
            sfn = standby.client(retries={"mode": "standard", "max_attempts": 20})
            act = sfn.create_activity(name="ha-work")["activityArn"]
            definition = {
                "StartAt": "Nap",
                "States": {
                    "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Work"},
                    # A task handed out by the server that was killed, whose answer never
                    # reached its worker, is lost to that worker (as on AWS): its timeout
                    # and Retry bring it back.
                    "Work": {
                        "Type": "Task",
                        "Resource": act,
                        "TimeoutSeconds": 6,
                        "End": True,
                        "Retry": [
                            {
                                "ErrorEquals": ["States.Timeout"],
                                "IntervalSeconds": 1,
                                "MaxAttempts": 5,
                            }
                        ],
                    },
                },
            }
            arn = sfn.create_state_machine(
                name="ha", definition=json.dumps(definition), roleArn=ROLE
            )["stateMachineArn"]
            started = [
                sfn.start_execution(stateMachineArn=arn, input=json.dumps({"i": i}))["executionArn"]
                for i in range(20)
            ]
            answered: list[int] = []
            stop = threading.Event()

            def worker() -> None:
                wc = standby.client(retries={"mode": "standard", "max_attempts": 20})
                while not stop.is_set():
                    task = wc.get_activity_task(activityArn=act, workerName="w")
                    if task.get("taskToken"):
                        i = json.loads(task["input"])["i"]
                        try:
                            wc.send_task_success(
                                taskToken=task["taskToken"], output=json.dumps({"i": i})
                            )
                        except wc.exceptions.TaskTimedOut:
                            continue  # answered too late (the failover): Retry sends it again
                        answered.append(i)

            threads = [threading.Thread(target=worker, daemon=True) for _ in range(2)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 20
            while len(answered) < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(answered) >= 5
            active.kill()  # mid-run: tasks handed out, answers and Waits in flight
            killed_at = time.monotonic()
            while _health(standby) != 200:
                assert time.monotonic() - killed_at < 10, "the standby did not take over"
                time.sleep(0.05)
            took_over = time.monotonic() - killed_at
            timed_out = 0
            for run in started:
                out = wait_status(sfn, run, timeout=40)
                assert json.loads(out["output"]) == json.loads(out["input"])
                events = sfn.get_execution_history(executionArn=run, maxResults=1000)["events"]
                assert [e["id"] for e in events] == list(range(1, len(events) + 1))
                timed_out += sum(e["type"] == "ActivityTimedOut" for e in events)
            # At most the tasks in flight at the kill: one held and one being handed out
            # per worker.
            assert timed_out <= 2 * len(threads)
            stop.set()
            for t in threads:  # each ends when its poll does (2 s), before the servers stop
                t.join(10)
            assert not any(t.is_alive() for t in threads)
            assert standby.log is not None
            log = standby.log.read_text()
            assert "this server takes over" in log and "Traceback" not in log
            assert took_over < 5
        finally:
            stop_all = [
                s for s in (active, standby) if s.proc is not None and s.proc.poll() is None
            ]
            for s in stop_all:
                s.stop()


def test_without_standby_a_second_server_stops_and_standby_needs_postgresql(tmp_path: Any) -> None:
    with pg.database() as url, Server(url):
        second = Server(url)
        with pytest.raises(RuntimeError, match="in use by another opensfn server"):
            second.start()
        # A standby that never took over stops cleanly too.
        standby = Server(url, args=("--standby",)).start()
        assert _health(standby) == 503
        # A call a standby already forwarded is never passed on again (no loop when two
        # servers advertise the same address).
        looped = urllib.request.Request(
            f"{standby.url}/",
            data=b"{}",
            headers={
                "X-Amz-Target": "AWSStepFunctions.ListActivities",
                "Content-Type": "application/x-amz-json-1.0",
                "X-Opensfn-Forwarded": "1",
            },
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(looped, timeout=5)
        assert refused.value.code == 503
        assert json.loads(refused.value.read())["__type"] == "ServiceUnavailable"
        assert standby.stop() == 0
        assert standby.log is not None and "Traceback" not in standby.log.read_text()
    with pytest.raises(RuntimeError, match="--standby needs a PostgreSQL database"):
        Server(tmp_path / "x.db", args=("--standby",)).start()


def test_a_poller_that_hangs_up_on_a_standby_is_not_handed_a_task() -> None:
    """GetActivityTask through a standby, abandoned by its client: the forwarded poll ends
    too, so the task goes to the next poller instead of to nobody."""
    from botocore.exceptions import ReadTimeoutError

    with pg.database() as url:
        active = Server(url, args=("--standby", "--activity-poll-seconds", "20")).start()
        standby = Server(url, args=("--standby", "--activity-poll-seconds", "20")).start()
        try:
            sfn = active.client()
            act = sfn.create_activity(name="hang-up")["activityArn"]
            definition = {
                "StartAt": "T",
                "States": {"T": {"Type": "Task", "Resource": act, "End": True}},
            }
            arn = sfn.create_state_machine(
                name="hang-up", definition=json.dumps(definition), roleArn=ROLE
            )["stateMachineArn"]
            impatient = standby.client(read_timeout=1)
            with pytest.raises(ReadTimeoutError):
                impatient.get_activity_task(activityArn=act, workerName="gone")
            time.sleep(0.5)  # the hang-up travels: client -> standby -> active
            run = sfn.start_execution(stateMachineArn=arn, input='{"x": 1}')["executionArn"]
            got = active.client().get_activity_task(activityArn=act, workerName="here")
            assert got.get("taskToken"), "the task went to the abandoned poll"
            sfn.send_task_success(taskToken=got["taskToken"], output='{"ok": true}')
            assert wait_status(sfn, run)["status"] == "SUCCEEDED"
        finally:
            for s in (standby, active):
                if s.proc is not None and s.proc.poll() is None:
                    s.stop()


def test_a_database_that_cannot_be_reached_is_said_at_start_without_a_traceback() -> None:
    pg.require()
    missing = pg.ADMIN.rsplit("/", 1)[0] + "/opensfn_no_such_database"
    with pytest.raises(RuntimeError) as failed:
        Server(missing).start()
    said = str(failed.value)
    assert "cannot connect to the database" in said and "opensfn_no_such_database" in said
    assert "Traceback" not in said


def test_a_call_reaching_a_standby_as_it_takes_over_is_not_forwarded() -> None:
    """Once the standby holds the database (its forwarding client closed), a call that was
    on its way to be forwarded is told TookOver, which the server answers itself — the
    failover test once saw a 500 ('the client has been closed') in that instant."""
    import asyncio

    from opensfn.api.standby import Standby, TookOver
    from opensfn.api.wire import HttpRequest

    async def scenario() -> None:
        standby = Standby(conn=None, long_poll_seconds=1.0)  # type: ignore[arg-type]
        await standby.close()
        request = HttpRequest("POST", "/", "", {"x-amz-target": "x"}, b"{}")
        with pytest.raises(TookOver):
            await standby.forward(request)

    asyncio.run(scenario())
