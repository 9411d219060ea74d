"""Task integrations against real parts: local Lambda handlers, moto, nested executions,
callbacks with task tokens (``opensfn serve`` driven by boto3)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from conftest import ROLE, task, wait_event, wait_status
from fixtures_integrations import Moto
from live_server import Server

# The moto server, HTTP server and opensfn server these tests drive.
pytest_plugins = ["fixtures_integrations"]

FN = "arn:aws:lambda:us-east-1:123456789012:function:"


@pytest.fixture(scope="module")
def sfn(integrations_server: Server) -> Any:
    return integrations_server.client()


def run(sfn: Any, definition: dict[str, Any], payload: Any = None, status: str = "SUCCEEDED",
        timeout: float = 20) -> tuple[dict[str, Any], list[dict[str, Any]]]:  # fmt: skip
    """Create a machine, run it to ``status``; (DescribeExecution, history events)."""
    arn = sfn.create_state_machine(
        name=f"it-{uuid.uuid4().hex[:10]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload or {}))
    out = wait_status(sfn, ex["executionArn"], status, timeout)
    return out, sfn.get_execution_history(executionArn=ex["executionArn"])["events"]


def test_bare_function_arn_returns_the_payload(sfn: Any) -> None:
    out, events = run(sfn, task(FN + "echo"), {"a": 1})
    assert json.loads(out["output"]) == {"event": {"a": 1}, "function": "echo"}
    types = [e["type"] for e in events]
    assert types[2:5] == [
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
    ]
    out, _ = run(sfn, task(FN + "raw"))
    assert json.loads(out["output"]) == "raw text"


def test_lambda_invoke_returns_the_full_response(sfn: Any) -> None:
    params = {"FunctionName": "echo", "Payload": {"x.$": "$.x"}}
    out, events = run(sfn, task("arn:aws:states:::lambda:invoke", Parameters=params), {"x": 5})
    result = json.loads(out["output"])
    assert result["Payload"] == {"event": {"x": 5}, "function": "echo"}
    assert result["StatusCode"] == 200 and result["ExecutedVersion"] == "$LATEST"
    headers = result["SdkHttpMetadata"]["HttpHeaders"]
    assert headers["Content-Length"] == str(len(json.dumps(result["Payload"])))
    assert result["SdkResponseMetadata"]["RequestId"] == headers["x-amzn-RequestId"]
    assert [e["type"] for e in events][2:5] == ["TaskScheduled", "TaskStarted", "TaskSucceeded"]


def test_function_errors_are_named_by_error_type(sfn: Any) -> None:
    out, _ = run(sfn, task(FN + "boom"), {"v": 1}, status="FAILED")
    assert out["error"] == "BadInput"
    cause = json.loads(out["cause"])
    assert cause["errorType"] == "BadInput" and cause["errorMessage"] == "bad input: {'v': 1}"
    assert any("boom" in line for line in cause["stackTrace"])
    params = {"FunctionName": FN + "nope", "Payload": {}}
    out, _ = run(sfn, task("arn:aws:states:::lambda:invoke", Parameters=params), status="FAILED")
    assert out["error"] == "Lambda.ResourceNotFoundException"
    assert out["cause"].startswith(f"Function not found: {FN}nope:$LATEST (Service: AWSLambda;")


def test_retry_then_catch_on_a_function_error(sfn: Any) -> None:
    definition = task(
        FN + "boom",
        Retry=[{"ErrorEquals": ["BadInput"], "MaxAttempts": 1, "IntervalSeconds": 1}],
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
    )
    del definition["States"]["T"]["End"]
    definition["States"]["T"]["Next"] = "Caught"
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    out, events = run(sfn, definition)
    assert json.loads(out["output"])["Error"] == "BadInput"
    assert [e["type"] for e in events].count("LambdaFunctionFailed") == 2


def _queue(moto: Moto) -> tuple[Any, str]:
    sqs = moto.client("sqs")
    return sqs, sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]


def test_wait_for_task_token_over_sqs(sfn: Any, moto: Moto) -> None:
    sqs, url = _queue(moto)
    definition = task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        HeartbeatSeconds=30,
        Parameters={"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token", "n.$": "$.n"}},
    )
    arn = sfn.create_state_machine(
        name=f"cb-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, input='{"n": 7}')["executionArn"]
    messages: list[Any] = []
    deadline = time.monotonic() + 10
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    body = json.loads(messages[0]["Body"])
    assert body["n"] == 7
    sfn.send_task_heartbeat(taskToken=body["token"])
    sfn.send_task_success(taskToken=body["token"], output='{"done": true}')
    out = wait_status(sfn, ex)
    assert json.loads(out["output"]) == {"done": True}
    events = sfn.get_execution_history(executionArn=ex)["events"]
    types = [e["type"] for e in events]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]
    submitted = json.loads(events[4]["taskSubmittedEventDetails"]["output"])
    assert submitted["MessageId"] == messages[0]["MessageId"] and "SdkHttpMetadata" in submitted
    with pytest.raises(sfn.exceptions.TaskTimedOut):
        sfn.send_task_success(taskToken=body["token"], output="{}")


def test_execution_status_changes_reach_eventbridge(sfn: Any, moto: Moto) -> None:
    """With an EventBridge endpoint, each start, end and redrive of a Standard execution
    is an "Execution Status Change" event on the default bus (a rule sends them to a
    queue here), its detail as DescribeExecution shows it; Express executions send none."""
    sqs, url = _queue(moto)
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    bus = moto.client("events")
    rule = f"sfn-{uuid.uuid4().hex[:8]}"
    pattern = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}
    bus.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    bus.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn["Attributes"]["QueueArn"]}])
    definition = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.fail", "BooleanEquals": True, "Next": "Boom"},
                    {"Variable": "$.wait", "BooleanEquals": True, "Next": "Wait"},
                ],
                "Default": "Done",
            },
            "Wait": {"Type": "Wait", "Seconds": 60, "Next": "Done"},
            "Boom": {"Type": "Fail", "Error": "Boom", "Cause": "asked to"},
            "Done": {"Type": "Pass", "Result": {"ok": True}, "End": True},
        },
    }
    name = f"status-{uuid.uuid4().hex[:8]}"
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    arn = machine["stateMachineArn"]
    ok = sfn.start_execution(stateMachineArn=arn, input='{"fail": false, "wait": false}')[
        "executionArn"
    ]
    bad = sfn.start_execution(stateMachineArn=arn, input='{"fail": true, "wait": false}')[
        "executionArn"
    ]
    waiting = sfn.start_execution(stateMachineArn=arn, input='{"fail": false, "wait": true}')[
        "executionArn"
    ]
    wait_status(sfn, ok)
    wait_status(sfn, bad, "FAILED")
    sfn.stop_execution(executionArn=waiting)
    sfn.redrive_execution(executionArn=bad)
    express = sfn.create_state_machine(
        name=name + "-x", definition=json.dumps(definition), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    sfn.start_execution(stateMachineArn=express, input='{"fail": false, "wait": false}')

    seen: dict[str, list[dict[str, Any]]] = {}
    deadline = time.monotonic() + 15
    while sum(map(len, seen.values())) < 8 and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            event = json.loads(m["Body"])
            assert (event["source"], event["detail-type"]) == tuple(p[0] for p in pattern.values())
            assert event["resources"] == [event["detail"]["executionArn"]]
            seen.setdefault(event["detail"]["stateMachineArn"], []).append(event["detail"])
    assert express not in seen  # Express workflows send no events, as on AWS
    by_run: dict[str, list[dict[str, Any]]] = {}
    for d in seen[arn]:
        by_run.setdefault(d["executionArn"], []).append(d)
    statuses = {run: sorted(d["status"] for d in ds) for run, ds in by_run.items()}
    assert statuses == {
        ok: ["RUNNING", "SUCCEEDED"],
        bad: ["FAILED", "FAILED", "RUNNING", "RUNNING"],
        waiting: ["ABORTED", "RUNNING"],
    }
    done = next(d for d in by_run[ok] if d["status"] == "SUCCEEDED")
    described = sfn.describe_execution(executionArn=ok)
    assert done["output"] == described["output"] and done["outputDetails"] == {"included": True}
    assert done["input"] == '{"fail": false, "wait": false}' and done["inputDetails"] == {
        "included": True
    }
    assert done["startDate"] == round(described["startDate"].timestamp() * 1000)
    assert done["stopDate"] == round(described["stopDate"].timestamp() * 1000)
    assert done["redriveStatus"] == "NOT_REDRIVABLE"
    started = next(d for d in by_run[ok] if d["status"] == "RUNNING")
    assert (started["stopDate"], started["output"], started["outputDetails"]) == (None, None, None)
    failed = [d for d in by_run[bad] if d["status"] == "FAILED"]
    assert {(d["error"], d["cause"], d["redriveCount"]) for d in failed} == {
        ("Boom", "asked to", 0), ("Boom", "asked to", 1)
    }  # fmt: skip
    redriven = next(d for d in by_run[bad] if d["status"] == "RUNNING" and d["redriveCount"])
    assert redriven["redriveCount"] == 1 and isinstance(redriven["redriveDate"], int)


LOGGED_PASS = {"StartAt": "State_1", "States": {"State_1": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}}}  # fmt: skip
LOGGED_FAIL = {
    "StartAt": "FailState",
    "States": {
        "FailState": {
            "Type": "Fail",
            "Error": "SomeFailure",
            "Cause": "This state machines raises a 'SomeFailure' failure.",
        }
    },
}
LOGGED_WAIT = {
    "StartAt": "WaitState",
    "States": {"WaitState": {"Type": "Wait", "SecondsPath": "$.input.waitSeconds", "End": True}},
}


def _logged_run(
    sfn: Any,
    moto: Moto,
    definition: dict[str, Any],
    level: str,
    data: bool,
    status: str,
    machine_type: str = "STANDARD",
) -> list[dict[str, Any]]:
    """Run ``definition`` logging at ``level`` to a fresh log group; the records logged."""
    logs = moto.client("logs")
    group = f"sfn-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    config = {
        "level": level,
        "includeExecutionData": data,
        "destinations": [
            {"cloudWatchLogsLogGroup": {
                "logGroupArn": f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"
            }}
        ],
    }  # fmt: skip
    arn = sfn.create_state_machine(
        name=group, definition=json.dumps(definition), roleArn=ROLE,
        loggingConfiguration=config, type=machine_type,
    )["stateMachineArn"]  # fmt: skip
    ex = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    if machine_type == "STANDARD":  # (an Express execution is not described)
        wait_status(sfn, ex, status)
    deadline = time.monotonic() + 10
    while True:
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
        found = [
            json.loads(e["message"])
            for st in streams
            for e in logs.get_log_events(logGroupName=group, logStreamName=st["logStreamName"])[
                "events"
            ]
        ]
        ended = found and found[-1]["type"] in ("ExecutionSucceeded", "ExecutionFailed")
        if ended or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for st in streams:  # one stream per execution, named after the machine and the start
        assert st["logStreamName"].startswith(f"states/{group}/")
    for r in found:
        assert r["execution_arn"] == ex and r["redrive_count"] == "0"
        assert r["event_timestamp"].isdigit()
    return [{k: r[k] for k in ("id", "type", "details", "previous_event_id")} for r in found]


def test_execution_history_is_logged_to_cloudwatch_logs_as_aws_logs_it(
    sfn: Any, moto: Moto
) -> None:
    """A machine's loggingConfiguration honoured with a CloudWatch Logs endpoint: the
    records, their fields and which events each level keeps, as recorded against AWS."""
    role = {"roleArn": ROLE}
    assert _logged_run(sfn, moto, LOGGED_PASS, "ALL", False, "SUCCEEDED") == [
        {"id": "1", "type": "ExecutionStarted", "details": role, "previous_event_id": "0"},
        {"id": "2", "type": "PassStateEntered", "details": {"name": "State_1"}, "previous_event_id": "0"},
        {"id": "3", "type": "PassStateExited", "details": {"name": "State_1"}, "previous_event_id": "2"},
        {"id": "4", "type": "ExecutionSucceeded", "details": {}, "previous_event_id": "3"},
    ]  # fmt: skip
    data = {"input": "{}", "inputDetails": {"truncated": False}}
    out = {"output": '{"Arg1":"argument1"}', "outputDetails": {"truncated": False}}
    assert _logged_run(sfn, moto, LOGGED_PASS, "ALL", True, "SUCCEEDED") == [
        {"id": "1", "type": "ExecutionStarted", "details": {**data, **role}, "previous_event_id": "0"},
        {"id": "2", "type": "PassStateEntered", "details": {**data, "name": "State_1"}, "previous_event_id": "0"},
        {"id": "3", "type": "PassStateExited", "details": {"name": "State_1", **out}, "previous_event_id": "2"},
        {"id": "4", "type": "ExecutionSucceeded", "details": out, "previous_event_id": "3"},
    ]  # fmt: skip
    failed = {
        "id": "3", "type": "ExecutionFailed", "previous_event_id": "2",
        "details": {"cause": LOGGED_FAIL["States"]["FailState"]["Cause"], "error": "SomeFailure"},
    }  # fmt: skip
    entered = {"id": "2", "type": "FailStateEntered", "previous_event_id": "0"}
    assert _logged_run(sfn, moto, LOGGED_FAIL, "ERROR", True, "FAILED") == [
        {**entered, "details": {**data, "name": "FailState"}}, failed
    ]  # fmt: skip
    assert _logged_run(sfn, moto, LOGGED_FAIL, "ERROR", False, "FAILED") == [
        {**entered, "details": {"name": "FailState"}}, failed
    ]  # fmt: skip
    assert _logged_run(sfn, moto, LOGGED_FAIL, "FATAL", False, "FAILED") == [failed]
    express = _logged_run(sfn, moto, LOGGED_PASS, "ALL", True, "SUCCEEDED", "EXPRESS")
    assert [(r["id"], r["type"]) for r in express] == [
        ("1", "ExecutionStarted"), ("2", "PassStateEntered"), ("3", "PassStateExited"),
        ("4", "ExecutionSucceeded"),
    ]  # fmt: skip
    assert express[-1]["details"] == out
    runtime_failure = _logged_run(sfn, moto, LOGGED_WAIT, "ERROR", False, "FAILED")
    assert [(r["id"], r["type"]) for r in runtime_failure] == [("3", "ExecutionFailed")]
    assert runtime_failure[0]["details"]["error"] == "States.Runtime"


def test_a_missing_log_group_does_not_touch_the_execution(sfn: Any) -> None:
    config = {
        "level": "ALL",
        "includeExecutionData": True,
        "destinations": [
            {"cloudWatchLogsLogGroup": {
                "logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:no-such-group:*"
            }}
        ],
    }  # fmt: skip
    arn = sfn.create_state_machine(
        name=f"nolog-{uuid.uuid4().hex[:8]}", definition=json.dumps(LOGGED_PASS), roleArn=ROLE,
        loggingConfiguration=config,
    )["stateMachineArn"]  # fmt: skip
    for _ in range(3):
        ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        assert json.loads(wait_status(sfn, ex)["output"]) == {"Arg1": "argument1"}


def test_callback_heartbeat_timeout(sfn: Any, moto: Moto) -> None:
    _sqs, url = _queue(moto)
    definition = task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        HeartbeatSeconds=1,
        Parameters={"QueueUrl": url, "MessageBody.$": "$$.Task.Token"},
    )
    out, events = run(sfn, definition, status="FAILED")
    assert out["error"] == "States.Timeout"
    assert "TaskTimedOut" in [e["type"] for e in events]


def test_service_errors_are_named_as_aws_names_them(sfn: Any) -> None:
    params = {"TableName": "no-such-table", "Key": {"id": {"S": "1"}}}
    out, _ = run(
        sfn, task("arn:aws:states:::aws-sdk:dynamodb:getItem", Parameters=params), status="FAILED"
    )
    assert out["error"] == "DynamoDb.ResourceNotFoundException"
    assert "(Service: DynamoDb, Status Code: 400, Request ID: " in out["cause"]
    out, _ = run(sfn, task("arn:aws:states:::dynamodb:getItem", Parameters=params), status="FAILED")
    assert out["error"] == "DynamoDB.ResourceNotFoundException"
    assert (
        "(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ResourceNotFoundException;"
        in out["cause"]
    )


def test_optimized_and_sdk_calls_against_moto(sfn: Any, moto: Moto) -> None:
    table = f"t-{uuid.uuid4().hex[:8]}"
    moto.client("dynamodb").create_table(
        TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    item = {"id": {"S": "1"}, "v": {"S": "x"}}
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                    "Parameters": {"TableName": table, "Item": item}, "ResultPath": "$.put", "Next": "Get"},
            "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                    "Parameters": {"TableName": table, "Key": {"id": {"S": "1"}}}, "ResultPath": "$.get", "End": True},
        },
    }  # fmt: skip
    out, _ = run(sfn, definition)
    result = json.loads(out["output"])
    assert result["put"]["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert result["get"]["Item"] == item and "SdkHttpMetadata" not in result["get"]


def test_aws_sdk_sfn_calls_this_server(sfn: Any) -> None:
    target = sfn.create_state_machine(
        name=f"t-{uuid.uuid4().hex[:8]}", roleArn=ROLE,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]  # fmt: skip
    params = {"StateMachineArn": target, "Input": {"k": "v"}}
    out, _ = run(sfn, task("arn:aws:states:::aws-sdk:sfn:startExecution", Parameters=params))
    started = json.loads(out["output"])
    assert set(started) == {"ExecutionArn", "StartDate"} and started["StartDate"].endswith("Z")
    child = wait_status(sfn, started["ExecutionArn"])
    assert json.loads(child["input"]) == {"k": "v"}
    out, _ = run(sfn, task("arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
                           Parameters={"TaskToken": "nope", "Output": "{}"}), status="FAILED")  # fmt: skip
    assert out["error"] == "Sfn.InvalidTokenException"
    assert out["cause"].startswith("Invalid Token: 'Invalid token' (Service: Sfn, Status Code: 400")


def _child(sfn: Any, definition: dict[str, Any]) -> str:
    return str(sfn.create_state_machine(
        name=f"child-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"])  # fmt: skip


def test_nested_sync_and_sync2(sfn: Any) -> None:
    child = _child(
        sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"r": 1}, "End": True}}}
    )
    params = {
        "StateMachineArn": child,
        "Input": {"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"},
    }
    out, events = run(sfn, task("arn:aws:states:::states:startExecution.sync", Parameters=params))
    result = json.loads(out["output"])
    assert result["Status"] == "SUCCEEDED" and result["Output"] == '{"r":1}'
    parent_arn = events[0]["executionStartedEventDetails"]  # started-by is in the child's input
    assert "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID" in json.loads(result["Input"])
    assert parent_arn is not None
    assert [e["type"] for e in events][2:6] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
    ]
    out, _ = run(
        sfn,
        task(
            "arn:aws:states:::states:startExecution.sync:2", Parameters={"StateMachineArn": child}
        ),
    )
    result = json.loads(out["output"])
    assert result["Output"] == {"r": 1} and result["Input"] == {}
    assert result["RedriveStatus"] == "NOT_REDRIVABLE"


def test_nested_failure_maps_to_task_failed(sfn: Any) -> None:
    child = _child(
        sfn, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "why"}}}
    )
    params = {"StateMachineArn": child, "Name": f"kid-{uuid.uuid4().hex[:6]}"}
    out, _ = run(
        sfn, task("arn:aws:states:::states:startExecution.sync", Parameters=params), status="FAILED"
    )
    assert out["error"] == "States.TaskFailed"
    cause = json.loads(out["cause"])
    assert (cause["Error"], cause["Cause"], cause["Status"]) == ("Boom", "why", "FAILED")
    params = {"StateMachineArn": child + "-missing"}
    out, _ = run(
        sfn, task("arn:aws:states:::states:startExecution", Parameters=params), status="FAILED"
    )
    assert out["error"] == "StepFunctions.StateMachineDoesNotExistException"
    assert (
        "(Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist;"
        in out["cause"]
    )


def test_stopping_the_parent_stops_a_sync_child(sfn: Any) -> None:
    child = _child(
        sfn, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    )
    name = f"kid-{uuid.uuid4().hex[:6]}"
    definition = task(
        "arn:aws:states:::states:startExecution.sync:2",
        Parameters={"StateMachineArn": child, "Name": name},
    )
    arn = sfn.create_state_machine(
        name=f"p-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    child_arn = child.replace(":stateMachine:", ":execution:") + ":" + name
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if sfn.describe_execution(executionArn=child_arn)["status"] == "RUNNING":
                break
        except sfn.exceptions.ExecutionDoesNotExist:
            time.sleep(0.05)
    sfn.stop_execution(executionArn=ex)
    wait_status(sfn, ex, "ABORTED")
    wait_status(sfn, child_arn, "ABORTED")


def test_run_a_job_sync_follows_the_job_to_its_end(sfn: Any, moto: Moto) -> None:
    glue = moto.client("glue")
    name = f"job-{uuid.uuid4().hex[:8]}"
    glue.create_job(Name=name, Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://b/k"})
    params = {"JobName": name, "Arguments": {"--day": "1"}}
    # Request-response: AWS puts the JobName of the request into the answer.
    out, _ = run(sfn, task("arn:aws:states:::glue:startJobRun", Parameters=params))
    started = json.loads(out["output"])
    assert started["JobName"] == name and started["JobRunId"]
    out, events = run(sfn, task("arn:aws:states:::glue:startJobRun.sync", Parameters=params))
    types = [e["type"] for e in events]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]
    submitted = json.loads(events[4]["taskSubmittedEventDetails"]["output"])
    run_ = json.loads(out["output"])  # the job run once it ended, as GetJobRun describes it
    assert run_["Id"] == submitted["JobRunId"] and run_["JobRunState"] == "SUCCEEDED"
    assert run_["JobName"] == name and run_["Arguments"] == {"--day": "1"}
    query = {
        "QueryString": "SELECT 1",
        "ResultConfiguration": {"OutputLocation": "s3://results/"},
    }
    out, _ = run(sfn, task("arn:aws:states:::athena:startQueryExecution.sync", Parameters=query))
    execution = json.loads(out["output"])["QueryExecution"]
    assert execution["Status"]["State"] == "SUCCEEDED" and execution["Query"] == "SELECT 1"


def test_a_job_is_stopped_with_the_execution_that_waits_for_it(sfn: Any, moto: Moto) -> None:
    query = {"QueryString": "SELECT 2", "ResultConfiguration": {"OutputLocation": "s3://r/"}}
    definition = task("arn:aws:states:::athena:startQueryExecution.sync", Parameters=query)
    arn = sfn.create_state_machine(
        name=f"it-{uuid.uuid4().hex[:10]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    submitted = wait_event(sfn, ex, "TaskSubmitted")  # the query is described a second later
    query_id = json.loads(submitted["taskSubmittedEventDetails"]["output"])["QueryExecutionId"]
    sfn.stop_execution(executionArn=ex)
    athena = moto.client("athena")
    deadline = time.monotonic() + 10
    while (
        athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"]
        != "CANCELLED"
    ):
        assert time.monotonic() < deadline, "the query was not stopped"
        time.sleep(0.05)
    assert sfn.describe_execution(executionArn=ex)["status"] == "ABORTED"
