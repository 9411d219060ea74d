"""Map runs and their child executions, RedriveExecution's rules, and every botocore
operation having a handler."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import PASS_MACHINE, wait_status

from opensfn.api.model import OPERATIONS as MODEL_OPERATIONS
from opensfn.api.operations import OPERATIONS

DISTRIBUTED = {
    "StartAt": "M",
    "States": {
        "M": {
            "Type": "Map",
            "Label": "Fan",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P",
                "States": {"P": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    },
}


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def test_every_model_operation_has_a_handler() -> None:
    assert len(MODEL_OPERATIONS) == 37
    assert set(OPERATIONS) == set(MODEL_OPERATIONS)


def test_map_runs_are_recorded(sfn: Any, make_machine: Callable[..., str]) -> None:
    arn = make_machine(DISTRIBUTED)
    run = sfn.start_execution(stateMachineArn=arn, input='{"items": [1, 2, 3]}')
    wait_status(sfn, run["executionArn"])
    runs = sfn.list_map_runs(executionArn=run["executionArn"])["mapRuns"]
    assert len(runs) == 1
    map_run = runs[0]["mapRunArn"]
    name = arn.rsplit(":", 1)[1]
    assert map_run.startswith(f"arn:aws:states:us-east-1:123456789012:mapRun:{name}/Fan:")
    assert runs[0]["stateMachineArn"] == f"{arn}/Fan"
    assert runs[0]["executionArn"] == run["executionArn"]
    described = sfn.describe_map_run(mapRunArn=map_run)
    assert described["status"] == "SUCCEEDED"
    assert described["executionArn"] == run["executionArn"]
    assert described["itemCounts"]["total"] == 3
    assert described["itemCounts"]["succeeded"] == 3
    assert described["executionCounts"]["running"] == 0
    sfn.update_map_run(mapRunArn=map_run, maxConcurrency=5, toleratedFailureCount=2)
    updated = sfn.describe_map_run(mapRunArn=map_run)
    assert (updated["maxConcurrency"], updated["toleratedFailureCount"]) == (5, 2)
    children = sfn.list_executions(mapRunArn=map_run)["executions"]
    assert len(children) == 3 and {c["status"] for c in children} == {"SUCCEEDED"}


def test_map_run_errors(sfn: Any) -> None:
    missing = (
        "arn:aws:states:us-east-1:123456789012:mapRun:nope/Fan:0a0a0a0a-0000-0000-0000-000000000000"
    )
    with pytest.raises(ClientError) as exc:
        sfn.describe_map_run(mapRunArn=missing)
    assert error(exc) == ("ResourceNotFound", f"Resource not found: '{missing}'")
    with pytest.raises(ClientError) as exc:
        sfn.update_map_run(mapRunArn=missing)
    assert error(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sfn.describe_map_run(mapRunArn="arn:aws:states:us-east-1:123456789012:activity:x")
    assert error(exc)[0] == "InvalidArn"


def test_redrive_refuses_running_and_succeeded(sfn: Any, make_machine: Callable[..., str]) -> None:
    done = sfn.start_execution(stateMachineArn=make_machine(PASS_MACHINE))["executionArn"]
    wait_status(sfn, done)
    with pytest.raises(ClientError) as exc:
        sfn.redrive_execution(executionArn=done)
    assert error(exc) == ("ExecutionNotRedrivable", "Execution is SUCCEEDED and cannot be redriven")
    waiting = make_machine(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}
    )
    running = sfn.start_execution(stateMachineArn=waiting)["executionArn"]
    with pytest.raises(ClientError) as exc:
        sfn.redrive_execution(executionArn=running)
    assert error(exc) == ("ExecutionNotRedrivable", "Execution is RUNNING and cannot be redriven")
    sfn.stop_execution(executionArn=running)
    missing = running + "-nope"
    with pytest.raises(ClientError) as exc:
        sfn.redrive_execution(executionArn=missing)
    assert error(exc) == ("ExecutionDoesNotExist", f"Execution Does Not Exist: '{missing}'")


def test_each_call_has_a_request_id_and_a_log_line(sfn: Any, server: Any) -> None:
    import time
    import uuid

    seen = set()
    for _ in range(3):
        meta = sfn.list_state_machines()["ResponseMetadata"]
        headers = meta["HTTPHeaders"]
        assert "server" not in headers  # AWS names no server
        rid = uuid.UUID(meta["RequestId"])
        assert (rid.version, rid.variant) == (4, uuid.RFC_4122)
        seen.add(rid)
    assert len(seen) == 3
    deadline = time.monotonic() + 5
    while "INFO opensfn.api: ListStateMachines 200 " not in server.log.read_text():
        assert time.monotonic() < deadline, "no request line in the server log"
        time.sleep(0.05)


def test_a_long_first_run_is_stamped_as_it_goes(sfn: Any, make_machine: Callable[..., str]) -> None:
    """StartExecution answers before a long Choice loop is computed; the events and the
    stop date carry the times they happened at, never going back."""
    loop = {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Result": {"n": 0}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 600, "Next": "Done"}],
                "Default": "Inc",
            },
            "Inc": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    arn = sfn.start_execution(stateMachineArn=make_machine(loop))["executionArn"]
    desc = wait_status(sfn, arn)
    assert desc["output"] == '{"n":600}'
    events = []
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    for page in pages:
        events.extend(page["events"])
    assert len(events) == 1 + 2 + 600 * 4 + 2 + 2 + 1  # started, Init, loop, Check, Done, end
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)
    assert desc["stopDate"] == stamps[-1]
    assert desc["startDate"] == stamps[0]


def _children(sfn: Any, execution_arn: str, **filters: Any) -> list[dict[str, Any]]:
    (run,) = sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
    found: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = sfn.list_executions(mapRunArn=run["mapRunArn"], maxResults=2, **filters, **token)
        found += page["executions"]
        if "nextToken" not in page:
            return found
        token = {"nextToken": page["nextToken"]}


def test_a_distributed_maps_child_executions_are_recorded(
    sfn: Any, make_machine: Callable[..., str]
) -> None:
    """Each item of a Distributed Map with STANDARD child workflows is an execution of its
    own, as on AWS: listed by its Map Run, described, with its own history; the parent's
    history still shows the Map Run only."""
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "F"}],
                "Default": "OK",
            },
            "F": {"Type": "Fail", "Error": "Two", "Cause": "item two"},
            "OK": {"Type": "Pass", "Parameters": {"seen.$": "$"}, "End": True},
        },
    }
    definition = {
        "StartAt": "M",
        "States": {
            "M": {"Type": "Map", "Label": "Items", "ToleratedFailureCount": 1,
                  "ItemProcessor": processor, "End": True},
        },
    }  # fmt: skip
    arn = make_machine(definition)
    name = arn.rsplit(":", 1)[1]
    parent = sfn.start_execution(stateMachineArn=arn, input="[1, 2, 3, 4, 5]")["executionArn"]
    assert wait_status(sfn, parent)["output"] == (
        '[{"seen":1},{"Error":"Two","Cause":"item two"},{"seen":3},{"seen":4},{"seen":5}]'
    )
    parent_types = [e["type"] for e in sfn.get_execution_history(executionArn=parent)["events"]]
    assert "ChoiceStateEntered" not in parent_types and "MapRunSucceeded" in parent_types
    children = _children(sfn, parent)  # pages of 2
    assert len(children) == 5
    assert len({c["executionArn"] for c in children}) == 5
    prefix = f"arn:aws:states:us-east-1:123456789012:execution:{name}/Items:"
    for c in children:
        assert (
            c["executionArn"].startswith(prefix) and c["name"] == c["executionArn"][len(prefix) :]
        )
        assert c["stateMachineArn"] == f"{arn}/Items" and c["itemCount"] == 1
    assert sorted(c["status"] for c in children) == ["FAILED"] + ["SUCCEEDED"] * 4
    assert [c["status"] for c in _children(sfn, parent, statusFilter="FAILED")] == ["FAILED"]
    run = sfn.describe_map_run(mapRunArn=children[0]["mapRunArn"])
    for counts in (run["itemCounts"], run["executionCounts"]):
        assert (counts["total"], counts["succeeded"], counts["failed"], counts["running"]) == (
            5, 4, 1, 0,
        )  # fmt: skip

    failed = next(c for c in children if c["status"] == "FAILED")
    described = sfn.describe_execution(executionArn=failed["executionArn"])
    assert (described["input"], described["error"], described["cause"]) == ("2", "Two", "item two")
    assert described["mapRunArn"] == children[0]["mapRunArn"]
    history = sfn.get_execution_history(executionArn=failed["executionArn"])["events"]
    assert [(e["id"], e["previousEventId"], e["type"]) for e in history] == [
        (1, 0, "ExecutionStarted"), (2, 1, "ChoiceStateEntered"), (3, 2, "ChoiceStateExited"),
        (4, 3, "FailStateEntered"), (5, 4, "ExecutionFailed"),
    ]  # fmt: skip
    assert history[0]["executionStartedEventDetails"]["input"] == "2"
    ok = next(c for c in children if c["status"] == "SUCCEEDED")
    history = sfn.get_execution_history(executionArn=ok["executionArn"])["events"]
    assert history[-1]["type"] == "ExecutionSucceeded"
    assert history[-1]["executionSucceededEventDetails"]["output"].startswith('{"seen":')

    machine = sfn.describe_state_machine_for_execution(executionArn=ok["executionArn"])
    assert (machine["name"], machine["label"]) == (f"{name}/Items", "Items")
    assert json.loads(machine["definition"])["StartAt"] == "C"
    assert "ProcessorConfig" not in json.loads(machine["definition"])
    # The Distributed Map state as a "state machine" of its own: described, never started.
    described_map = sfn.describe_state_machine(stateMachineArn=f"{arn}/Items")
    assert (described_map["name"], described_map["label"]) == (f"{name}/Items", "Items")
    assert json.loads(described_map["definition"]) == json.loads(machine["definition"])
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=f"{arn}/Items")
    assert error(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=f"{arn}/NoSuchLabel")
    assert error(exc)[0] == "StateMachineDoesNotExist"
    # The parent machine's own list shows the parent only.
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["executionArn"] for e in listed] == [parent]


def test_children_left_running_end_aborted_with_their_parent(
    sfn: Any, make_machine: Callable[..., str], unique: Callable[[str], str]
) -> None:
    activity = sfn.create_activity(name=unique("child-work"))["activityArn"]
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Work",
        "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}},
    }
    express = {**processor, "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}}
    arn = make_machine(
        {
            "StartAt": "M",
            "States": {"M": {"Type": "Map", "ItemProcessor": processor, "End": True}},
        }
    )
    parent = sfn.start_execution(stateMachineArn=arn, input="[1, 2, 3]")["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="w")
    sfn.send_task_success(taskToken=task["taskToken"], output='"done"')
    for _ in range(200):
        statuses = sorted(c["status"] for c in _children(sfn, parent))
        if statuses == ["RUNNING", "RUNNING", "SUCCEEDED"]:
            break
        time.sleep(0.02)
    assert statuses == ["RUNNING", "RUNNING", "SUCCEEDED"]
    running = _children(sfn, parent, statusFilter="RUNNING")[0]["executionArn"]
    with pytest.raises(ClientError) as exc:  # stopped through the parent only
        sfn.stop_execution(executionArn=running)
    assert error(exc)[0] == "ValidationException"
    sfn.stop_execution(executionArn=parent)
    assert sorted(c["status"] for c in _children(sfn, parent)) == [
        "ABORTED",
        "ABORTED",
        "SUCCEEDED",
    ]
    history = sfn.get_execution_history(executionArn=running)["events"]
    assert [e["type"] for e in history] == [
        "ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ExecutionAborted",
    ]  # fmt: skip

    # EXPRESS child workflows keep no history, on AWS as here: none is listed.
    quick = make_machine(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {**express, "States": {"Work": {"Type": "Pass", "End": True}}},
                    "End": True,
                }
            },
        }
    )
    done = sfn.start_execution(stateMachineArn=quick, input="[1, 2]")["executionArn"]
    wait_status(sfn, done)
    assert _children(sfn, done) == []
