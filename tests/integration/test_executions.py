"""StartExecution, DescribeExecution, StopExecution, ListExecutions, GetExecutionHistory."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import PASS_MACHINE, ROLE, wait_status

WAIT_30 = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def test_start_and_describe(sfn: Any, make_machine: Any) -> None:
    arn = make_machine(PASS_MACHINE)
    name = arn.rsplit(":", 1)[-1]
    out = sfn.start_execution(stateMachineArn=arn, name="run-1", input='{"x": 1}')
    assert out["executionArn"] == f"arn:aws:states:us-east-1:123456789012:execution:{name}:run-1"
    d = wait_status(sfn, out["executionArn"])
    assert d["name"] == "run-1"
    assert d["stateMachineArn"] == arn
    assert d["input"] == '{"x": 1}'
    assert d["inputDetails"] == {"included": True}
    assert json.loads(d["output"]) == {"Arg1": "argument1"}
    assert d["outputDetails"] == {"included": True}
    assert d["startDate"] == out["startDate"]
    assert d["stopDate"] >= d["startDate"]
    assert d["redriveStatus"] == "NOT_REDRIVABLE"
    assert d["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"


def test_default_name_and_input(sfn: Any, make_machine: Any) -> None:
    arn = make_machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    out = sfn.start_execution(stateMachineArn=arn)
    d = wait_status(sfn, out["executionArn"])
    assert len(d["name"]) == 36  # a UUID
    assert d["input"] == "{}"
    assert d["output"] == "{}"


def test_history_matches_aws(sfn: Any, make_machine: Any) -> None:
    arn = make_machine(PASS_MACHINE)
    ex = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    wait_status(sfn, ex)
    events = sfn.get_execution_history(executionArn=ex)["events"]
    assert [(e["id"], e["previousEventId"], e["type"]) for e in events] == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "PassStateEntered"),
        (3, 2, "PassStateExited"),
        (4, 3, "ExecutionSucceeded"),
    ]
    assert events[0]["executionStartedEventDetails"]["inputDetails"] == {"truncated": False}
    assert json.loads(events[2]["stateExitedEventDetails"]["output"]) == {"Arg1": "argument1"}
    reverse = sfn.get_execution_history(executionArn=ex, reverseOrder=True)["events"]
    assert [e["id"] for e in reverse] == [4, 3, 2, 1]
    bare = sfn.get_execution_history(executionArn=ex, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert "output" not in bare[2]["stateExitedEventDetails"]
    assert bare[2]["stateExitedEventDetails"]["name"] == "P"


def test_history_pagination(sfn: Any, make_machine: Any) -> None:
    states = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(9)}
    states["S9"] = {"Type": "Pass", "End": True}
    ex = sfn.start_execution(stateMachineArn=make_machine({"StartAt": "S0", "States": states}))
    wait_status(sfn, ex["executionArn"])
    for reverse in (False, True):
        ids: list[int] = []
        kwargs: dict[str, Any] = {
            "executionArn": ex["executionArn"],
            "maxResults": 7,
            "reverseOrder": reverse,
        }
        while True:
            page = sfn.get_execution_history(**kwargs)
            assert len(page["events"]) <= 7
            ids += [e["id"] for e in page["events"]]
            if "nextToken" not in page:
                break
            kwargs["nextToken"] = page["nextToken"]
        expected = list(range(1, 23))
        assert ids == (expected[::-1] if reverse else expected)


def test_idempotent_start(sfn: Any, make_machine: Any) -> None:
    arn = make_machine(WAIT_30)
    first = sfn.start_execution(stateMachineArn=arn, name="same", input='{"a": 1}')
    again = sfn.start_execution(stateMachineArn=arn, name="same", input='{"a": 1}')
    assert again["executionArn"] == first["executionArn"]
    assert again["startDate"] == first["startDate"]
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="same", input='{"a": 2}')
    assert error_of(exc) == (
        "ExecutionAlreadyExists",
        f"Execution Already Exists: '{first['executionArn']}'",
    )
    sfn.stop_execution(executionArn=first["executionArn"])
    for text in ('{"a": 1}', '{"a": 2}'):  # closed: the same request is refused now
        with pytest.raises(ClientError) as exc:
            sfn.start_execution(stateMachineArn=arn, name="same", input=text)
        assert error_of(exc) == (
            "ExecutionAlreadyExists",
            f"Execution Already Exists: '{first['executionArn']}'",
        )
    # The refused starts left nothing behind: one execution, as the first start left it.
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [(e["name"], e["status"]) for e in listed] == [("same", "ABORTED")]
    described = sfn.describe_execution(executionArn=first["executionArn"])
    assert (described["status"], described["input"]) == ("ABORTED", '{"a": 1}')


def test_start_errors(sfn: Any, make_machine: Any) -> None:
    arn = make_machine(PASS_MACHINE)
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, input="{not json")
    code, message = error_of(exc)
    assert code == "InvalidExecutionInput"
    assert message.startswith("Invalid State Machine Execution Input: '")
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="bad name")
    assert error_of(exc) == ("InvalidName", "Invalid Name: 'bad name'")
    missing = arn + "-missing"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=missing)
    assert error_of(exc) == (
        "StateMachineDoesNotExist",
        f"State Machine Does Not Exist: '{missing}'",
    )
    big = json.dumps(
        {"k": "é" * 140_000}, ensure_ascii=False
    )  # under 262,144 characters, over 262,144 bytes
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, input=big)
    assert error_of(exc)[0] == "InvalidExecutionInput"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, input="x" * 262_145)
    assert error_of(exc)[0] == "ValidationException"


def test_describe_errors(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:execution:m:missing"
    with pytest.raises(ClientError) as exc:
        sfn.describe_execution(executionArn=missing)
    assert error_of(exc) == ("ExecutionDoesNotExist", f"Execution Does Not Exist: '{missing}'")
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:m"
    with pytest.raises(ClientError) as exc:
        sfn.describe_execution(executionArn=machine)
    assert error_of(exc) == (
        "InvalidArn",
        "Invalid Arn: 'Resource type not valid in this context: stateMachine'",
    )
    for call in (sfn.get_execution_history, sfn.stop_execution):
        with pytest.raises(ClientError) as exc:
            call(executionArn=missing)
        assert error_of(exc)[0] == "ExecutionDoesNotExist"


def test_stop(sfn: Any, make_machine: Any) -> None:
    ex = sfn.start_execution(stateMachineArn=make_machine(WAIT_30))["executionArn"]
    out = sfn.stop_execution(executionArn=ex, error="MyError", cause="because")
    d = sfn.describe_execution(executionArn=ex)
    assert d["status"] == "ABORTED"
    assert d["stopDate"] == out["stopDate"]
    assert d["error"] == "MyError"
    assert d["cause"] == "because"
    assert d["redriveStatus"] == "REDRIVABLE"
    last = sfn.get_execution_history(executionArn=ex, reverseOrder=True, maxResults=1)["events"][0]
    assert last["type"] == "ExecutionAborted"
    again = sfn.stop_execution(executionArn=ex)
    assert again["stopDate"] == out["stopDate"]


def test_list_executions(sfn: Any, make_machine: Any) -> None:
    arn = make_machine(WAIT_30)
    started = [
        sfn.start_execution(stateMachineArn=arn, name=f"e{i}")["executionArn"] for i in range(5)
    ]
    sfn.stop_execution(executionArn=started[1])
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["executionArn"] for e in listed] == started[::-1]  # newest first
    assert listed[0]["status"] == "RUNNING"
    assert "stopDate" not in listed[0]
    aborted = sfn.list_executions(stateMachineArn=arn, statusFilter="ABORTED")["executions"]
    assert [e["executionArn"] for e in aborted] == [started[1]]
    assert "stopDate" in aborted[0]
    running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert len(running) == 4
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=arn, PaginationConfig={"PageSize": 2}
    )
    sizes = [len(p["executions"]) for p in pages]
    assert sizes == [2, 2, 1]
    for ex in started:
        sfn.stop_execution(executionArn=ex)


def test_list_executions_errors(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:nope-nope"
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=missing)
    assert error_of(exc)[0] == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=missing, statusFilter="NOPE")
    assert error_of(exc)[0] == "ValidationException"


def test_wait_state_waits(sfn: Any, make_machine: Any, unique: Callable[[str], str]) -> None:
    arn = make_machine(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    )
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert sfn.describe_execution(executionArn=ex)["status"] == "RUNNING"
    d = wait_status(sfn, ex, timeout=5)
    assert (d["stopDate"] - d["startDate"]).total_seconds() >= 1.0


def test_a_runaway_jsonata_expression_fails_its_state_and_the_server_goes_on(
    tmp_path: Any,
) -> None:
    """An expression asking for unbounded work fails with States.QueryEvaluationError once
    the step's CPU budget (--expression-cpu-limit) is spent: its Catch applies, and the
    server answers again instead of stalling every execution."""
    from live_server import Server

    srv = Server(tmp_path / "budget.db", args=("--expression-cpu-limit", "0.5")).start()
    try:
        sfn = srv.client()
        runaway = "{% $sum($map([1..9999999], function($x){ $count([1..9999999]) })) %}"
        spin = {"StartAt": "S", "States": {"S": {"Type": "Pass", "Output": runaway, "End": True}}}
        definition = {
            "QueryLanguage": "JSONata",
            "StartAt": "Spin",
            "States": {
                "Spin": {
                    "Type": "Parallel", "Branches": [spin], "End": True,
                    "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Caught",
                               "Output": "{% $states.errorOutput %}"}],
                },
                "Caught": {"Type": "Pass", "End": True},
            },
        }  # fmt: skip
        arn = sfn.create_state_machine(
            name="spin", definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        out = json.loads(wait_status(sfn, ex, timeout=30)["output"])
        assert out["Error"] == "States.QueryEvaluationError"
        assert "limit of 0.5 seconds of CPU time for one step" in out["Cause"]
        assert sfn.list_state_machines()["stateMachines"]  # answering as before
    finally:
        assert srv.stop() == 0


def test_data_nested_too_deep_is_refused_where_it_comes_in(
    sfn: Any, server: Any, make_machine: Any
) -> None:
    """JSON nesting deeper than opensfn handles (254 levels) gets a clear 400 where it
    enters, never a 500; one a definition builds ends its execution FAILED, not hanging."""
    deep = '{"a":' * 300 + "1" + "}" * 300
    arn = make_machine(PASS_MACHINE)
    with pytest.raises(ClientError) as err:
        sfn.start_execution(stateMachineArn=arn, input=deep)
    assert err.value.response["Error"]["Code"] == "InvalidExecutionInput"
    assert "deeper than 254 levels" in err.value.response["Error"]["Message"]
    sfn.start_execution(stateMachineArn=arn, input='{"a":' * 200 + "1" + "}" * 200)  # fine

    with pytest.raises(ClientError) as err:  # (TestState's endpoint has no "sync-" prefix)
        server.client(inject_host_prefix=False).test_state(
            definition=json.dumps({"Type": "Pass", "End": True}), input=deep
        )
    assert err.value.response["Error"]["Code"] == "InvalidExecutionInput"

    template: dict[str, Any] = {"a": 1}
    for _ in range(300):
        template = {"x": template}
    nested = make_machine(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": template, "End": True}}}
    )
    ex = sfn.start_execution(stateMachineArn=nested)["executionArn"]
    failed = wait_status(sfn, ex, "FAILED")
    assert failed["error"] == "States.Runtime"
    # The same where the start itself enters the first state (a Task): still a 200.
    activity = sfn.create_activity(name=f"deep-{uuid.uuid4().hex[:8]}")["activityArn"]
    work = {"Type": "Task", "Resource": activity, "Parameters": template, "End": True}
    first = make_machine({"StartAt": "T", "States": {"T": work}})
    ex = sfn.start_execution(stateMachineArn=first)["executionArn"]
    assert wait_status(sfn, ex, "FAILED")["error"] == "States.Runtime"


def test_the_trace_header_passed_is_described(server: Any, sfn: Any, make_machine: Any) -> None:
    """StartExecution's traceHeader (or the X-Amzn-Trace-Id header, which AWS prefers) is
    what DescribeExecution and StartSyncExecution show; none passed, none shown."""
    arn = make_machine(PASS_MACHINE)
    body = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    ex = sfn.start_execution(stateMachineArn=arn, traceHeader=body)["executionArn"]
    assert sfn.describe_execution(executionArn=ex)["traceHeader"] == body
    plain = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert "traceHeader" not in sfn.describe_execution(executionArn=plain)

    header = "Root=1-67891233-abcdef012345678912345678;Parent=463ac35c9f6413ad;Sampled=0"
    traced = server.client(inject_host_prefix=False)  # (StartSyncExecution's "sync-" host)

    def add_header(request: Any, **_: Any) -> None:
        request.headers["X-Amzn-Trace-Id"] = header

    traced.meta.events.register("before-sign.states.*", add_header)
    ex = traced.start_execution(stateMachineArn=arn, traceHeader=body)["executionArn"]
    assert sfn.describe_execution(executionArn=ex)["traceHeader"] == header
    express = make_machine(PASS_MACHINE, type="EXPRESS")
    out = traced.start_sync_execution(stateMachineArn=express)
    assert (out["status"], out["traceHeader"]) == ("SUCCEEDED", header)
    plain_sync = server.client(inject_host_prefix=False).start_sync_execution(
        stateMachineArn=express
    )
    assert "traceHeader" not in plain_sync
