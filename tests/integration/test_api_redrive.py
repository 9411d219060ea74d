"""RedriveExecution end to end: a failed execution reopens at the state that failed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import wait_status


def test_redrive_reruns_the_failed_state_and_succeeds(
    sfn: Any, make_machine: Callable[..., str], unique: Callable[[str], str]
) -> None:
    activity = sfn.create_activity(name=unique("redrive"))["activityArn"]
    arn = make_machine(
        {
            "StartAt": "Prep",
            "States": {
                "Prep": {"Type": "Pass", "Result": "ready", "ResultPath": "$.prep", "Next": "Work"},
                "Work": {"Type": "Task", "Resource": activity, "End": True},
            },
        }
    )
    ex = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="w")
    sfn.send_task_failure(taskToken=task["taskToken"], error="Flaky", cause="first try")
    failed = wait_status(sfn, ex, "FAILED")
    assert failed["redriveStatus"] == "REDRIVABLE" and failed["redriveCount"] == 0

    out = sfn.redrive_execution(executionArn=ex)
    assert "redriveDate" in out
    task = sfn.get_activity_task(activityArn=activity, workerName="w")
    assert json.loads(task["input"]) == {"n": 1, "prep": "ready"}
    sfn.send_task_success(taskToken=task["taskToken"], output='{"done": true}')
    done = wait_status(sfn, ex, "SUCCEEDED")
    assert json.loads(done["output"]) == {"done": True}
    assert done["redriveCount"] == 1 and "redriveDate" in done

    events = sfn.get_execution_history(executionArn=ex, maxResults=1000)["events"]
    types = [e["type"] for e in events]
    i = types.index("ExecutionRedriven")
    assert types[i - 1] == "ExecutionFailed"
    assert types[i + 1 : i + 3] == ["TaskStateEntered", "ActivityScheduled"]
    assert events[i]["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert types.count("PassStateEntered") == 1  # the succeeded state is not run again


def test_a_retried_redrive_answers_as_the_first_and_redriven_executions_are_listed(
    sfn: Any, make_machine: Callable[..., str], unique: Callable[[str], str]
) -> None:
    """The same clientToken again (an SDK retrying a redrive whose answer was lost) gets the
    first answer, not ExecutionNotRedrivable; another token is refused while the execution
    runs. ListExecutions' redriveFilter tells redriven executions from the others."""
    activity = sfn.create_activity(name=unique("again"))["activityArn"]
    arn = make_machine(
        {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}}}
    )
    redriven = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="w")
    sfn.send_task_failure(taskToken=task["taskToken"], error="Flaky")
    wait_status(sfn, redriven, "FAILED")
    plain = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="w")
    sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    wait_status(sfn, plain, "SUCCEEDED")

    first = sfn.redrive_execution(executionArn=redriven, clientToken="token-1")
    again = sfn.redrive_execution(executionArn=redriven, clientToken="token-1")
    assert again["redriveDate"] == first["redriveDate"]
    with pytest.raises(ClientError) as exc:
        sfn.redrive_execution(executionArn=redriven, clientToken="token-2")
    assert exc.value.response["Error"]["Code"] == "ExecutionNotRedrivable"

    def listed(**kw: Any) -> list[str]:
        out = sfn.list_executions(stateMachineArn=arn, **kw)["executions"]
        return [e["executionArn"] for e in out]

    assert listed(redriveFilter="REDRIVEN") == [redriven]
    assert listed(redriveFilter="NOT_REDRIVEN") == [plain]
    assert listed() == [plain, redriven]
    assert listed(redriveFilter="REDRIVEN", statusFilter="RUNNING") == [redriven]
    assert listed(redriveFilter="NOT_REDRIVEN", statusFilter="RUNNING") == []
    task = sfn.get_activity_task(activityArn=activity, workerName="w")
    sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    wait_status(sfn, redriven, "SUCCEEDED")
