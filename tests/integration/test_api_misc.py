"""Map runs, RedriveExecution's rules, and every botocore operation having a handler."""

from __future__ import annotations

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
    assert sfn.list_executions(mapRunArn=map_run)["executions"] == []


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
