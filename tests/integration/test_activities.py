"""Activities: Create/Describe/Delete/ListActivities, GetActivityTask, SendTask*."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import wait_status


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def task_machine(activity_arn: str, **task: Any) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": activity_arn, "End": True, **task}},
    }


@pytest.fixture
def activity(sfn: Any, unique: Callable[[str], str]) -> str:
    return str(sfn.create_activity(name=unique("act"))["activityArn"])


def test_activity_lifecycle(sfn: Any, unique: Callable[[str], str]) -> None:
    name = unique("activity")
    out = sfn.create_activity(name=name)
    arn = out["activityArn"]
    assert arn == f"arn:aws:states:us-east-1:123456789012:activity:{name}"
    assert sfn.create_activity(name=name)["activityArn"] == arn  # idempotent
    d = sfn.describe_activity(activityArn=arn)
    assert (d["name"], d["activityArn"], d["creationDate"]) == (name, arn, out["creationDate"])
    sfn.delete_activity(activityArn=arn)
    with pytest.raises(ClientError) as exc:
        sfn.describe_activity(activityArn=arn)
    assert error_of(exc) == ("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
    sfn.delete_activity(activityArn=arn)  # deleting again succeeds
    with pytest.raises(ClientError) as exc:
        sfn.create_activity(name="bad name")
    assert error_of(exc) == ("InvalidName", "Invalid Name: 'bad name'")
    with pytest.raises(ClientError) as exc:
        sfn.describe_activity(activityArn="arn:aws:states:us-east-1:123456789012:stateMachine:x")
    assert error_of(exc)[0] == "InvalidArn"


def test_activity_encryption_configuration(sfn: Any, unique: Callable[[str], str]) -> None:
    """Kept and described; a repeat CreateActivity may not change it (ActivityAlreadyExists)
    but may leave it out; an activity created without one describes AWS's own key, as a
    state machine does."""
    key = "arn:aws:kms:us-east-1:123456789012:alias/workers"
    config = {
        "type": "CUSTOMER_MANAGED_KMS_KEY",
        "kmsKeyId": key,
        "kmsDataKeyReusePeriodSeconds": 60,
    }
    name = unique("sealed")
    arn = sfn.create_activity(name=name, encryptionConfiguration=config)["activityArn"]
    assert sfn.describe_activity(activityArn=arn)["encryptionConfiguration"] == config
    assert sfn.create_activity(name=name, encryptionConfiguration=config)["activityArn"] == arn
    assert sfn.create_activity(name=name)["activityArn"] == arn
    with pytest.raises(ClientError) as exc:
        sfn.create_activity(name=name, encryptionConfiguration={"type": "AWS_OWNED_KEY"})
    assert error_of(exc) == ("ActivityAlreadyExists", f"Activity Already Exists: '{arn}'")
    assert sfn.describe_activity(activityArn=arn)["encryptionConfiguration"] == config
    plain = sfn.create_activity(name=unique("plain"))["activityArn"]
    owned = {"type": "AWS_OWNED_KEY"}
    assert sfn.describe_activity(activityArn=plain)["encryptionConfiguration"] == owned
    # naming AWS's own key is the same as naming none: the repeat is idempotent
    assert (
        sfn.create_activity(name=plain.rsplit(":", 1)[1], encryptionConfiguration=owned)[
            "activityArn"
        ]
        == plain
    )


def test_list_activities_paginates(server: Any) -> None:
    sfn = server.client(region="ap-south-2")
    arns = [sfn.create_activity(name=f"listed-{i}")["activityArn"] for i in range(3)]
    first = sfn.list_activities(maxResults=2)
    assert [a["activityArn"] for a in first["activities"]] == arns[:2]
    rest = sfn.list_activities(maxResults=2, nextToken=first["nextToken"])
    assert [a["activityArn"] for a in rest["activities"]] == arns[2:]
    assert "nextToken" not in rest


def test_worker_round_trip(sfn: Any, make_machine: Any, activity: str) -> None:
    ex = sfn.start_execution(stateMachineArn=make_machine(task_machine(activity)), input='{"v": 1}')
    task = sfn.get_activity_task(activityArn=activity, workerName="worker-1")
    assert json.loads(task["input"]) == {"v": 1}
    sfn.send_task_heartbeat(taskToken=task["taskToken"])
    sfn.send_task_success(taskToken=task["taskToken"], output='{"done": true}')
    d = wait_status(sfn, ex["executionArn"])
    assert json.loads(d["output"]) == {"done": True}
    types = [
        e["type"] for e in sfn.get_execution_history(executionArn=ex["executionArn"])["events"]
    ]
    assert types == [
        "ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted",
        "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]  # fmt: skip
    started = sfn.get_execution_history(executionArn=ex["executionArn"])["events"][3]
    assert started["activityStartedEventDetails"] == {"workerName": "worker-1"}
    # the token is used up: a second answer changes nothing
    for call in (
        lambda: sfn.send_task_success(taskToken=task["taskToken"], output="{}"),
        lambda: sfn.send_task_failure(taskToken=task["taskToken"]),
        lambda: sfn.send_task_heartbeat(taskToken=task["taskToken"]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == (
            "TaskTimedOut",
            "Task Timed Out: 'Provided task does not exist anymore'",
        )


def test_send_task_failure(sfn: Any, make_machine: Any, activity: str) -> None:
    ex = sfn.start_execution(stateMachineArn=make_machine(task_machine(activity)))
    task = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Boom", cause="it broke")
    d = wait_status(sfn, ex["executionArn"], "FAILED")
    assert (d["error"], d["cause"]) == ("Boom", "it broke")


def test_invalid_tokens_and_output(sfn: Any, make_machine: Any, activity: str) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken="garbage", output="{}")
    assert error_of(exc) == ("InvalidToken", "Invalid Token: 'Invalid token'")
    ex = sfn.start_execution(stateMachineArn=make_machine(task_machine(activity)))
    task = sfn.get_activity_task(activityArn=activity)
    tampered = task["taskToken"][:-3] + ("AAA" if not task["taskToken"].endswith("AAA") else "BBB")
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=tampered, output="{}")
    assert error_of(exc)[0] == "InvalidToken"
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=task["taskToken"], output="{not json")
    assert error_of(exc)[0] == "InvalidOutput"
    with pytest.raises(ClientError) as exc:  # nested deeper than opensfn handles
        sfn.send_task_success(taskToken=task["taskToken"], output="[" * 300 + "]" * 300)
    assert error_of(exc) == (
        "InvalidOutput",
        "Invalid Output: 'The output nests arrays and objects deeper than 254 levels, "
        "the most opensfn supports'",
    )
    sfn.stop_execution(executionArn=ex["executionArn"])
    with pytest.raises(ClientError) as exc:  # stopped execution: the task is gone
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    assert error_of(exc)[0] == "TaskTimedOut"


def test_empty_poll(sfn: Any, activity: str) -> None:
    started = time.monotonic()
    out = sfn.get_activity_task(activityArn=activity)
    assert "taskToken" not in out
    assert 0.9 <= time.monotonic() - started < 5  # the server polls for 1 s in this suite
    missing = activity + "-missing"
    with pytest.raises(ClientError) as exc:
        sfn.get_activity_task(activityArn=missing)
    assert error_of(exc) == ("ActivityDoesNotExist", f"Activity Does Not Exist: '{missing}'")


def test_many_pollers_wait_at_once(server: Any, make_machine: Any, activity: str) -> None:
    sfn = server.client()
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(server.client().get_activity_task(activityArn=activity))
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    time.sleep(0.2)
    # the server still answers while every poller waits
    assert sfn.list_activities()["ResponseMetadata"]["HTTPStatusCode"] == 200
    ex = sfn.start_execution(stateMachineArn=make_machine(task_machine(activity)))
    for t in threads:
        t.join()
    tokens = [r["taskToken"] for r in results if "taskToken" in r]
    assert len(tokens) == 1  # delivered once
    sfn.send_task_success(taskToken=tokens[0], output="{}")
    wait_status(sfn, ex["executionArn"])


def test_task_timeout(sfn: Any, make_machine: Any, activity: str) -> None:
    ex = sfn.start_execution(stateMachineArn=make_machine(task_machine(activity, TimeoutSeconds=1)))
    d = wait_status(sfn, ex["executionArn"], "FAILED", timeout=5)
    assert d["error"] == "States.Timeout"


def test_heartbeat_timeout(sfn: Any, make_machine: Any, activity: str) -> None:
    definition = task_machine(activity, TimeoutSeconds=30, HeartbeatSeconds=1)
    ex = sfn.start_execution(stateMachineArn=make_machine(definition))
    task = sfn.get_activity_task(activityArn=activity)
    d = wait_status(sfn, ex["executionArn"], "FAILED", timeout=5)  # long before TimeoutSeconds
    # AWS records heartbeat expiry as States.Timeout (conformance: test_heartbeat_timeout)
    assert d["error"] in ("States.Timeout", "States.HeartbeatTimeout")
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    assert error_of(exc)[0] == "TaskTimedOut"


def test_a_poller_that_hangs_up_is_not_handed_the_task(
    server: Any, sfn: Any, make_machine: Any, activity: str
) -> None:
    """A GetActivityTask whose client disconnected must leave the task for others."""
    import socket

    body = json.dumps({"activityArn": activity}).encode()
    request = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/x-amz-json-1.0\r\n"
        "X-Amz-Target: AWSStepFunctions.GetActivityTask\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", server.port)) as conn:
        conn.sendall(request)
        time.sleep(0.2)  # the poll is waiting on the server now
    time.sleep(0.1)  # ... and the client is gone
    arn = sfn.start_execution(stateMachineArn=make_machine(task_machine(activity)))["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="live")
    assert task.get("taskToken"), "the task went to the poller that hung up"
    sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    wait_status(sfn, arn, "SUCCEEDED")
