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


def test_inspection_data_per_state_type(sfn: Any) -> None:
    state = {
        "Type": "Pass",
        "InputPath": "$.a",
        "Parameters": {"v.$": "$.b"},
        "ResultPath": "$.r",
        "End": True,
    }
    out = run(sfn, state, input='{"a": {"b": [1, 2]}}', inspectionLevel="DEBUG")
    data = {k: json.loads(v) for k, v in out["inspectionData"].items()}
    assert data == {
        "input": {"a": {"b": [1, 2]}},
        "afterInputPath": {"b": [1, 2]},
        "afterParameters": {"v": [1, 2]},
        "afterResultSelector": {"v": [1, 2]},
        "afterResultPath": {"a": {"b": [1, 2]}, "r": {"v": [1, 2]}},
    }
    # A JSONata Task reports its evaluated Arguments; INFO reports nothing.
    task = {**TASK, "QueryLanguage": "JSONata", "Arguments": {"x": "{% $states.input.n + 1 %}"}}
    mock = {"errorOutput": {"error": "E", "cause": "c"}}
    out = run(sfn, task, input='{"n": 1}', mock=mock, inspectionLevel="TRACE")
    assert json.loads(out["inspectionData"]["afterArguments"]) == {"x": 2}
    assert "inspectionData" not in run(sfn, task, input='{"n": 1}', mock=mock)


def test_mock_result_checked_against_the_service_output_shape(sfn: Any) -> None:
    state = {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution", "End": True}
    with pytest.raises(ClientError) as exc:
        run(sfn, state, mock={"result": '{"ExecutionArn": "arn"}'})
    assert exc.value.response["Error"]["Message"] == (
        "Mock result schema validation error: Required field 'StartDate' is missing"
    )
    present = {"result": '{"ExecutionArn": 1}', "fieldValidationMode": "PRESENT"}
    with pytest.raises(ClientError) as exc:
        run(sfn, state, mock=present)
    assert "Field 'ExecutionArn' must be a string" in exc.value.response["Error"]["Message"]
    loose = {"result": '{"ExecutionArn": 1}', "fieldValidationMode": "NONE"}
    assert json.loads(run(sfn, state, mock=loose)["output"]) == {"ExecutionArn": 1}


def test_mocked_map_reports_items_and_tolerance(sfn: Any) -> None:
    state = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ToleratedFailureCount": 1,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}],
        "End": True,
    }
    params: dict[str, Any] = {"input": '{"items": [1, 2, 3]}', "inspectionLevel": "DEBUG"}
    out = run(sfn, state, mock={"result": "[1, 2, 3]"}, **params)
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["inspectionData"]["afterItemsPath"]) == [1, 2, 3]
    assert out["inspectionData"]["toleratedFailureCount"] == 1
    over = {"mapIterationFailureCount": 2}
    out = run(sfn, state, mock={"result": "[1, 2, 3]"}, stateConfiguration=over, **params)
    assert (out["status"], out["nextState"]) == ("CAUGHT_ERROR", "Handler")
    assert out["error"] == "States.ExceedToleratedFailureThreshold"
    with pytest.raises(ClientError) as exc:
        run(sfn, state, input="{}")  # a Map needs a mock
    assert exc.value.response["Error"]["Code"] == "InvalidDefinition"


def test_mocked_map_reports_item_selector_and_batches(sfn: Any) -> None:
    """afterItemSelector: each iteration's input (ItemSelector with the item in
    $$.Map.Item); afterItemBatcher: the batches the iterations get; only for the fields
    the state has, in JSONPath and JSONata; a selector that fails fails the state."""
    processor = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    state = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "t.$": "$.tag"},
        "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"tag.$": "$.tag"}},
        "ItemProcessor": processor,
        "End": True,
    }
    params: dict[str, Any] = {
        "input": '{"items": [1, 2, 3], "tag": "x"}',
        "inspectionLevel": "DEBUG",
    }
    data = run(sfn, state, mock={"result": "[]"}, **params)["inspectionData"]
    selected = [{"v": 1, "i": 0, "t": "x"}, {"v": 2, "i": 1, "t": "x"}, {"v": 3, "i": 2, "t": "x"}]
    assert json.loads(data["afterItemSelector"]) == selected
    assert json.loads(data["afterItemBatcher"]) == [
        {"BatchInput": {"tag": "x"}, "Items": selected[:2]},
        {"BatchInput": {"tag": "x"}, "Items": selected[2:]},
    ]
    plain = {"Type": "Map", "ItemProcessor": processor, "End": True}
    data = run(sfn, plain, mock={"result": "[]"}, input="[1]", inspectionLevel="DEBUG")
    assert "afterItemSelector" not in data["inspectionData"]
    assert "afterItemBatcher" not in data["inspectionData"]
    jsonata = {
        "Type": "Map",
        "QueryLanguage": "JSONata",
        "Items": "{% $states.input.items %}",
        "ItemSelector": {"v": "{% $states.context.Map.Item.Value * 10 %}"},
        "ItemProcessor": processor,
        "End": True,
    }
    data = run(sfn, jsonata, mock={"result": "[]"}, **params)["inspectionData"]
    assert json.loads(data["afterItemSelector"]) == [{"v": 10}, {"v": 20}, {"v": 30}]
    broken = {**state, "ItemSelector": {"v.$": "$.missing"}}
    out = run(sfn, broken, mock={"result": "[]"}, **params)
    assert (out["status"], out["error"]) == ("FAILED", "States.Runtime")
    assert "'$.missing'" in out["cause"]


def test_variables_are_visible_and_reported(sfn: Any) -> None:
    state = {
        "Type": "Pass",
        "QueryLanguage": "JSONata",
        "Assign": {"y": "{% $x * 2 %}"},
        "Output": "{% $x %}",
        "End": True,
    }
    out = run(sfn, state, input="{}", variables='{"x": 21}', inspectionLevel="DEBUG")
    assert json.loads(out["output"]) == 21
    assert json.loads(out["inspectionData"]["variables"]) == {"x": 21, "y": 42}


def test_context_names_the_role_only_in_a_mocked_run(sfn: Any) -> None:
    # As recorded against AWS: without a mock $states.context.Execution.RoleArn is null.
    state = {
        "QueryLanguage": "JSONata", "Type": "Pass", "End": True,
        "Output": "{% $states.context.Execution.RoleArn %}",
    }  # fmt: skip
    assert json.loads(run(sfn, state, input="{}")["output"]) is None
    task = {**state, "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}
    mocked = run(sfn, task, input="{}", mock={"result": "{}"})
    assert json.loads(mocked["output"]) == ROLE


def test_a_picked_state_runs_under_the_name_of_a_lone_state(sfn: Any) -> None:
    # Recorded against AWS: with stateName "State0" the context names the state "StateName".
    machine = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {
                "QueryLanguage": "JSONata",
                "Type": "Pass",
                "Next": "A",
                "Output": "{% $states.context.State.Name %}",
            },
        },
    }
    out = run(sfn, machine, stateName="B", input="{}")
    assert (json.loads(out["output"]), out["nextState"]) == ("StateName", "A")
