"""Mocked Task results (Step Functions Local's mock configuration) and the HTTP Task,
against a live ``opensfn serve`` with a real HTTP server on loopback."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from conftest import ROLE, wait_status
from live_server import Server, free_port

# The moto server, HTTP server and opensfn server these tests drive.
pytest_plugins = ["fixtures_integrations"]

FN = "arn:aws:lambda:us-east-1:123456789012:function:"


@pytest.fixture(scope="module")
def sfn(integrations_server: Server) -> Any:
    return integrations_server.client()


@pytest.fixture(scope="module")
def mocked_machine(sfn: Any) -> str:
    """The machine the mock configuration names: a Lambda call, a callback, a Map, and a
    real (not mocked) Lambda call at the end."""
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "boom"}, "ResultPath": "$.call",
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 3}],
                "Next": "Wait",
            },
            "Wait": {
                "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "https://nowhere.invalid/q", "MessageBody.$": "$$.Task.Token"},
                "ResultPath": "$.wait", "Next": "Items",
            },
            "Items": {
                "Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.items", "MaxConcurrency": 1,
                "ItemProcessor": {"StartAt": "Item", "States": {
                    "Item": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject", "End": True,
                             "Parameters": {"Bucket": "none", "Key": "none"}}}},
                "Next": "Real",
            },
            "Real": {"Type": "Task", "Resource": FN + "echo", "ResultPath": "$.real", "End": True},
        },
    }  # fmt: skip
    return str(
        sfn.create_state_machine(
            name="mocked-machine", definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
    )


def _start(sfn: Any, arn: str, payload: Any) -> str:
    return str(sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"])


def test_mocked_return_callback_and_mixed_run(sfn: Any, mocked_machine: str) -> None:
    ex = _start(sfn, mocked_machine + "#HappyPath", {"items": []})
    out = json.loads(wait_status(sfn, ex)["output"])
    assert out["call"] == {"StatusCode": 200, "Payload": {"mocked": True}}
    assert out["wait"] == {"fromCallback": 1}  # the callback needs no SendTaskSuccess
    assert out["real"]["function"] == "echo"  # not in the test case: really invoked
    types = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
    assert "LambdaFunctionSucceeded" in types and "TaskSucceeded" in types


def test_mocked_throws_follow_numbered_ranges_through_retries(
    sfn: Any, mocked_machine: str
) -> None:
    ex = _start(sfn, mocked_machine + "#RetryPath", {"items": []})
    out = wait_status(sfn, ex, "FAILED", timeout=30)  # the unmocked callback fails on SQS
    events = sfn.get_execution_history(executionArn=ex)["events"]
    failures = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert [f["error"] for f in failures[:3]] == [
        "Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.TooManyRequestsException",
    ]  # fmt: skip
    succeeded = [e for e in events if e["type"] == "TaskSucceeded"]
    assert json.loads(succeeded[0]["taskSucceededEventDetails"]["output"]) == {"Payload": "finally"}
    assert out["error"].startswith("SQS.")


def test_mocked_map_iterations(sfn: Any, mocked_machine: str) -> None:
    ex = _start(sfn, mocked_machine + "#MapPath", {"items": [1, 2, 3, 4]})
    out = json.loads(wait_status(sfn, ex)["output"])
    assert out["items"] == ["a", "a", "b", "b"]  # 0-1, then 2, then the last repeats


def _http(sfn: Any, params: dict[str, Any], status: str = "SUCCEEDED") -> dict[str, Any]:
    definition = {
        "StartAt": "H",
        "States": {
            "H": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": params,
                "End": True,
            }
        },
    }
    arn = sfn.create_state_machine(
        name=f"h-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    out: dict[str, Any] = wait_status(sfn, _start(sfn, arn, {}), status)
    return out


def test_http_task_request_and_response(sfn: Any, http_url: str) -> None:
    conn = {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c"}
    params = {
        "ApiEndpoint": http_url + "/items", "Method": "POST", "Authentication": conn,
        "Headers": {"X-Trace": "t1"}, "QueryParameters": {"q": "a b", "list": [1, 2]},
        "RequestBody": {"name": "x", "tags": ["p", "q"]},
        "Transform": {"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}},
    }  # fmt: skip
    result = json.loads(_http(sfn, params)["output"])
    assert result["StatusCode"] == 200 and result["StatusText"] == "OK"
    assert result["Headers"]["content-type"] == ["application/json"]
    seen = result["ResponseBody"]
    assert seen["method"] == "POST"
    assert seen["path"] == "/items?fromConnection=1&q=a%20b&list%5B%5D=1&list%5B%5D=2"
    assert seen["headers"]["x-api-key"] == "secret" and seen["headers"]["x-trace"] == "t1"
    assert seen["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert seen["body"] == "name=x&tags%5B%5D=p&tags%5B%5D=q"


def test_http_task_errors(sfn: Any, http_url: str) -> None:
    out = _http(sfn, {"ApiEndpoint": http_url + "/status/404", "Method": "GET"}, "FAILED")
    assert out["error"] == "States.Http.StatusCode.404"
    assert json.loads(out["cause"])["StatusCode"] == 404
    closed = f"http://127.0.0.1:{free_port()}/"
    out = _http(sfn, {"ApiEndpoint": closed, "Method": "GET"}, "FAILED")
    assert out["error"] == "States.Http.Socket"


# ----------------------------------------------------------------------------- TestState


def _test_state(sfn: Any, state: dict[str, Any], value: Any, **params: Any) -> dict[str, Any]:
    """TestState without a mock: the Task's work is really done."""
    out: dict[str, Any] = sfn.test_state(
        definition=json.dumps(state), input=json.dumps(value), roleArn=ROLE, **params
    )
    return out


def test_test_state_calls_the_lambda_function(integrations_server: Server) -> None:
    sfn = integrations_server.client(inject_host_prefix=False)
    bare = {
        "Type": "Task",
        "Resource": FN + "echo",
        "ResultSelector": {"e.$": "$.event"},
        "End": True,
    }
    out = _test_state(sfn, bare, {"n": 1}, inspectionLevel="DEBUG")
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"]) == {"e": {"n": 1}}
    data = out["inspectionData"]
    assert json.loads(data["result"]) == {"event": {"n": 1}, "function": "echo"}
    invoke = {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "echo", "Payload.$": "$"}, "OutputPath": "$.Payload",
        "Next": "After",
    }  # fmt: skip
    out = _test_state(sfn, invoke, {"m": 2})
    assert (out["status"], out["nextState"]) == ("SUCCEEDED", "After")
    assert json.loads(out["output"]) == {"event": {"m": 2}, "function": "echo"}
    # The function's error, caught by the state's catcher, as in an execution.
    failing = {
        "Type": "Task", "Resource": FN + "boom", "End": True,
        "Catch": [{"ErrorEquals": ["BadInput"], "Next": "Handled"}],
    }  # fmt: skip
    out = _test_state(sfn, failing, {"x": 1})
    assert (out["status"], out["error"], out["nextState"]) == (
        "CAUGHT_ERROR",
        "BadInput",
        "Handled",
    )
    assert "bad input" in out["cause"]


def test_test_state_calls_the_http_endpoint(integrations_server: Server, http_url: str) -> None:
    sfn = integrations_server.client(inject_host_prefix=False)
    state = {
        "Type": "Task", "Resource": "arn:aws:states:::http:invoke", "End": True,
        "Parameters": {"ApiEndpoint": http_url + "/things", "Method": "GET",
                       "QueryParameters": {"id.$": "$.id"}},
    }  # fmt: skip
    out = _test_state(sfn, state, {"id": "7"})
    assert out["status"] == "SUCCEEDED"
    result = json.loads(out["output"])
    assert result["StatusCode"] == 200
    assert result["ResponseBody"]["method"] == "GET"
    assert result["ResponseBody"]["path"] == "/things?id=7"


def test_test_state_task_timeout_is_kept_in_real_time(integrations_server: Server) -> None:
    sfn = integrations_server.client(inject_host_prefix=False)
    state = {"Type": "Task", "Resource": FN + "slow", "TimeoutSeconds": 1, "End": True}
    out = _test_state(sfn, state, {"seconds": 4})
    assert (out["status"], out["error"]) == ("FAILED", "States.Timeout")
    quick = _test_state(sfn, state, {"seconds": 0.1})
    assert quick["status"] == "SUCCEEDED" and json.loads(quick["output"]) == {"slept": 0.1}


def test_test_state_refuses_work_others_answer_without_a_mock(
    integrations_server: Server,
) -> None:
    from botocore.exceptions import ClientError

    sfn = integrations_server.client(inject_host_prefix=False)
    activity = "arn:aws:states:us-east-1:123456789012:activity:nobody"
    for resource in (activity, "arn:aws:states:::lambda:invoke.waitForTaskToken",
                     "arn:aws:states:::states:startExecution.sync:2"):  # fmt: skip
        state = {"Type": "Task", "Resource": resource, "End": True}
        with pytest.raises(ClientError) as err:
            _test_state(sfn, state, {})
        assert err.value.response["Error"]["Code"] == "InvalidDefinition"
        mocked = _test_state(sfn, state, {}, mock={"result": '{"ok": 1}'})
        assert mocked["status"] == "SUCCEEDED"


def test_http_task_with_an_oauth_connection(sfn: Any, http_url: str) -> None:
    import base64

    from fixtures_integrations import _Echo

    before = len(_Echo.token_requests)
    conn = {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/oauth"}
    params = {"ApiEndpoint": http_url + "/items", "Method": "GET", "Authentication": conn}
    first = json.loads(_http(sfn, params)["output"])["ResponseBody"]
    second = json.loads(_http(sfn, params)["output"])["ResponseBody"]
    asked = _Echo.token_requests[before:]
    assert len(asked) == 1  # the token is kept until it expires
    token = f"tok-{before + 1}"
    assert (
        first["headers"]["authorization"]
        == second["headers"]["authorization"]
        == (f"Bearer {token}")
    )
    exchange = asked[0]
    assert (exchange["method"], exchange["path"]) == ("POST", "/token?audience=api")
    expected = "Basic " + base64.b64encode(b"cid:s3cret").decode()
    assert exchange["headers"]["authorization"] == expected
    assert exchange["headers"]["x-tenant"] == "t1"
    assert exchange["body"] == "grant_type=client_credentials"
    # A 401 from the API asks for a new token once, then the answer stands.
    before = len(_Echo.token_requests)
    out = _http(sfn, {**params, "ApiEndpoint": http_url + "/status/401"}, "FAILED")
    assert out["error"] == "States.Http.StatusCode.401"
    assert len(_Echo.token_requests) == before + 1
    refused = {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/oauth-refused"}
    out = _http(sfn, {**params, "Authentication": refused}, "FAILED")
    assert out["error"] == "States.Http.StatusCode.403"
