"""TestState against a live server: one state run in isolation, mocks, retry and catch."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ROLE
from live_server import Server

TASK = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "After"}


@pytest.fixture(scope="module")
def sfn(server: Server) -> Any:
    # boto3 sends TestState to the "sync-" host prefix; a local endpoint has none.
    return server.client(inject_host_prefix=False)


def run(sfn: Any, state: dict[str, Any], **params: Any) -> dict[str, Any]:
    out: dict[str, Any] = sfn.test_state(definition=json.dumps(state), roleArn=ROLE, **params)
    return out


def test_pass_reports_output_and_next_state(sfn: Any) -> None:
    state = {"Type": "Pass", "InputPath": "$.a", "ResultPath": "$.r", "Next": "Done"}
    out = run(sfn, state, input='{"a": {"b": 1}}')
    assert out["status"] == "SUCCEEDED"
    # ResultPath merges the result into the raw input, not the InputPath selection.
    assert json.loads(out["output"]) == {"a": {"b": 1}, "r": {"b": 1}}
    assert out["nextState"] == "Done"
    assert "inspectionData" not in out
    debug = run(sfn, state, input='{"a": {"b": 1}}', inspectionLevel="DEBUG")
    assert json.loads(debug["inspectionData"]["input"]) == {"a": {"b": 1}}


def test_fail_state(sfn: Any) -> None:
    out = run(sfn, {"Type": "Fail", "Error": "E", "Cause": "C"})
    assert (out["status"], out["error"], out["cause"]) == ("FAILED", "E", "C")


def test_state_of_a_machine(sfn: Any) -> None:
    machine = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Result": 7, "End": True},
        },
    }
    out = run(sfn, machine, stateName="B", input="{}")
    assert (out["status"], json.loads(out["output"])) == ("SUCCEEDED", 7)
    assert "nextState" not in out


def test_task_mock_result(sfn: Any) -> None:
    out = run(sfn, TASK, input="{}", mock={"result": '{"ok": true}'})
    assert (out["status"], json.loads(out["output"]), out["nextState"]) == (
        "SUCCEEDED",
        {"ok": True},
        "After",
    )


def test_mocked_error_retried_then_caught(sfn: Any) -> None:
    state = {
        **TASK,
        "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 2, "IntervalSeconds": 3}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}],
    }
    mock = {"errorOutput": {"error": "Boom", "cause": "bad"}}
    out = run(sfn, state, input="{}", mock=mock, inspectionLevel="DEBUG")
    assert (out["status"], out["error"], out["cause"]) == ("RETRIABLE", "Boom", "bad")
    assert out["inspectionData"]["errorDetails"] == {
        "retryIndex": 0,
        "retryBackoffIntervalSeconds": 3,
    }
    out = run(sfn, state, input="{}", mock=mock, stateConfiguration={"retrierRetryCount": 2})
    assert (out["status"], out["nextState"]) == ("CAUGHT_ERROR", "Handler")
    assert json.loads(out["output"]) == {"Error": "Boom", "Cause": "bad"}


def test_mock_only_for_task_map_parallel(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        run(sfn, {"Type": "Pass", "End": True}, mock={"result": "{}"})
    assert exc.value.response["Error"]["Code"] == "ValidationException"
