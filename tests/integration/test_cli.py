"""The ``opensfn`` connector commands, run as a user runs them (subprocesses against a
live server), and the Python client helpers on a boto3 client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import ROLE, wait_status
from live_server import CREDENTIALS, Server

from opensfn.asl.validate import validate_response
from opensfn.client import (
    ExecutionFailed,
    deploy,
    iter_history,
    run_definition,
    start_and_wait,
    wait_for_execution,
    watch_history,
)

CHOICE = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "End": True},
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "End": True},
    },
}
FAILING = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "Broken"},
        "Broken": {"Type": "Fail", "Error": "Order.Invalid", "Cause": "no items in order"},
    },
}
WAIT_30 = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}


def opensfn(
    server: Server, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``opensfn ARGS`` with the server as OPENSFN_ENDPOINT_URL, as a user would."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENSFN_", "AWS_"))}
    full_env = {**base, **CREDENTIALS, "OPENSFN_ENDPOINT_URL": server.url, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "opensfn", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def opensfn_all(server: Server, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Several independent ``opensfn`` commands at once (each is mostly start-up time)."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        return list(pool.map(lambda args: opensfn(server, *args), commands))


def call(server: Server, action: str, request: dict[str, Any] | None = None, *extra: str) -> Any:
    """``opensfn call ACTION --input JSON``: the parsed response (the call must succeed)."""
    args = ["call", action, *extra]
    if request is not None:
        args += ["--input", json.dumps(request)]
    done = opensfn(server, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, Any], Path]:
    def write(name: str, content: Any) -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return path

    return write


# --------------------------------------------------------------------------- call


def test_call_lists_every_action(server: Server) -> None:
    import botocore.session

    done = opensfn(server, "call")
    model = botocore.session.get_session().get_service_model("stepfunctions")
    assert done.stdout.split() == list(model.operation_names)
    assert len(done.stdout.split()) == 37


def cmd(action: str, request: dict[str, Any], *extra: str) -> list[str]:
    return ["call", action, "--input", json.dumps(request), *extra]


def parsed(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_call_state_machine_actions(
    server: Server, sfn: Any, make_machine: Any, unique: Callable[[str], str]
) -> None:
    name = unique("cli")
    request = {"name": name, "definition": json.dumps(CHOICE), "roleArn": ROLE}
    created = call(
        server, "CreateStateMachine", {**request, "tags": [{"key": "team", "value": "a"}]}
    )
    arn = created["stateMachineArn"]
    assert arn.endswith(f":stateMachine:{name}")
    assert created["creationDate"].endswith("+00:00")  # timestamps print as ISO 8601
    other = make_machine(CHOICE)
    described, listed, one_page, tagged = opensfn_all(
        server,
        cmd("describe-state-machine", {"stateMachineArn": arn}),  # the AWS CLI's spelling too
        cmd("ListStateMachines", {"maxResults": 1}, "--all"),
        cmd("ListStateMachines", {"maxResults": 1}),
        cmd("TagResource", {"resourceArn": arn, "tags": [{"key": "env", "value": "dev"}]}),
    )
    assert (parsed(described)["name"], json.loads(parsed(described)["definition"])) == (
        name,
        CHOICE,
    )
    arns = [m["stateMachineArn"] for m in parsed(listed)["stateMachines"]]
    assert {arn, other} <= set(arns)
    assert len(arns) == len(set(arns)) > 1
    assert "nextToken" not in parsed(listed)
    assert len(parsed(one_page)["stateMachines"]) == 1
    assert "nextToken" in parsed(one_page)
    assert parsed(tagged) == {}

    tags, updated, untagged = opensfn_all(
        server,
        cmd("ListTagsForResource", {"resourceArn": arn}),
        cmd("UpdateStateMachine", {"stateMachineArn": arn, "definition": json.dumps(WAIT_30)}),
        cmd("UntagResource", {"resourceArn": other, "tagKeys": ["none"]}),
    )
    assert sorted((t["key"], t["value"]) for t in parsed(tags)["tags"]) == [
        ("env", "dev"),
        ("team", "a"),
    ]
    assert "updateDate" in parsed(updated)
    assert parsed(untagged) == {}
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == WAIT_30
    call(server, "UntagResource", {"resourceArn": arn, "tagKeys": ["team"]})
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "dev"}]
    assert call(server, "DeleteStateMachine", {"stateMachineArn": arn}) == {}
    assert arn not in [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]]


def test_call_execution_actions(server: Server, sfn: Any, make_machine: Any) -> None:
    machine = make_machine(WAIT_30)
    started = call(server, "StartExecution", {"stateMachineArn": machine, "input": '{"a": 1}'})
    ex = started["executionArn"]
    described, for_ex, listed = opensfn_all(
        server,
        cmd("DescribeExecution", {"executionArn": ex}),
        cmd("DescribeStateMachineForExecution", {"executionArn": ex}),
        cmd("ListExecutions", {"stateMachineArn": machine}, "--all"),
    )
    assert (parsed(described)["status"], parsed(described)["input"]) == ("RUNNING", '{"a": 1}')
    assert parsed(for_ex)["stateMachineArn"] == machine
    assert [e["executionArn"] for e in parsed(listed)["executions"]] == [ex]
    call(server, "StopExecution", {"executionArn": ex, "error": "Manual", "cause": "by test"})
    described = sfn.describe_execution(executionArn=ex)
    assert (described["status"], described["error"], described["cause"]) == (
        "ABORTED",
        "Manual",
        "by test",
    )
    events = call(server, "GetExecutionHistory", {"executionArn": ex, "maxResults": 2}, "--all")
    assert [(e["id"], e["type"]) for e in events["events"]] == [
        (e["id"], e["type"]) for e in sfn.get_execution_history(executionArn=ex)["events"]
    ]
    assert len(events["events"]) > 2  # several pages, printed as one
    assert "nextToken" not in events


def test_call_activity_actions(
    server: Server, sfn: Any, make_machine: Any, unique: Callable[[str], str]
) -> None:
    name = unique("act")
    act = call(server, "CreateActivity", {"name": name})["activityArn"]
    machine = make_machine(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": True}}}
    )
    ok = sfn.start_execution(stateMachineArn=machine, input='{"job": 1}')["executionArn"]
    described, listed, task = opensfn_all(
        server,
        cmd("DescribeActivity", {"activityArn": act}),
        cmd("ListActivities", {}, "--all"),
        cmd("GetActivityTask", {"activityArn": act, "workerName": "cli"}),
    )
    assert parsed(described)["name"] == name
    assert act in [a["activityArn"] for a in parsed(listed)["activities"]]
    token = parsed(task)["taskToken"]
    assert json.loads(parsed(task)["input"]) == {"job": 1}
    call(server, "SendTaskHeartbeat", {"taskToken": token})
    call(server, "SendTaskSuccess", {"taskToken": token, "output": '{"done": true}'})
    assert json.loads(wait_status(sfn, ok)["output"]) == {"done": True}

    bad = sfn.start_execution(stateMachineArn=machine, input='{"job": 2}')["executionArn"]
    token = call(server, "GetActivityTask", {"activityArn": act})["taskToken"]
    failure = {"taskToken": token, "error": "Job.Broken", "cause": "disk full"}
    call(server, "SendTaskFailure", failure)
    described = wait_status(sfn, bad, "FAILED")
    assert (described["error"], described["cause"]) == ("Job.Broken", "disk full")
    assert call(server, "DeleteActivity", {"activityArn": act}) == {}
    assert act not in [a["activityArn"] for a in sfn.list_activities()["activities"]]


def test_call_request_from_file_stdin_and_flags(
    server: Server, make_machine: Any, write: Callable[[str, Any], Path]
) -> None:
    machine = make_machine(CHOICE)
    request = write("req.json", {"stateMachineArn": machine})
    text = request.read_text()
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = [
            pool.submit(opensfn, server, "call", "DescribeStateMachine", "--input", f"@{request}"),
            pool.submit(opensfn, server, "call", "DescribeStateMachine", stdin=text),
            pool.submit(
                opensfn, server, "call", "DescribeStateMachine", "--input", "-", stdin=text
            ),
            # --endpoint-url and --region as the AWS CLI has them (the env points nowhere).
            pool.submit(
                opensfn,
                server,
                *("call", "DescribeStateMachine", "--input", f"@{request}"),
                *("--endpoint-url", server.url, "--region", "us-east-1"),
                env={"OPENSFN_ENDPOINT_URL": "http://127.0.0.1:9"},
            ),
            pool.submit(
                opensfn,
                server,
                *("call", "CreateActivity", "--input", json.dumps({"name": request.parent.name})),
                *("--region", "eu-west-1"),
            ),
        ]
        from_file, piped, dashed, flagged, regional = (parsed(r.result()) for r in runs)
    assert from_file["stateMachineArn"] == machine
    assert piped == dashed == flagged == from_file
    assert regional["activityArn"].startswith("arn:aws:states:eu-west-1:")


def test_call_failures_exit_non_zero(server: Server) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:execution:nope:nope"
    done, bad_json, missing_member, unknown, no_server = opensfn_all(
        server,
        cmd("DescribeExecution", {"executionArn": missing}),
        ["call", "ListActivities", "--input", "{nope"],
        ["call", "StartExecution", "--input", "{}"],
        ["call", "MakeCoffee"],
        ["call", "ListActivities", "--endpoint-url", "http://127.0.0.1:9"],
    )
    assert done.returncode == 254
    assert done.stderr.strip() == (
        "An error occurred (ExecutionDoesNotExist) when calling the DescribeExecution "
        f"operation: Execution Does Not Exist: '{missing}'"
    )
    assert done.stdout == ""
    assert bad_json.returncode == 252
    assert missing_member.returncode == 252
    assert "stateMachineArn" in missing_member.stderr
    assert unknown.returncode == 2
    assert "not a Step Functions action" in unknown.stderr
    assert no_server.returncode == 255
    assert "Could not connect" in no_server.stderr


# --------------------------------------------------------------------------- run


def test_run_definition_file_succeeds(
    server: Server, sfn: Any, unique: Callable[[str], str], write: Callable[[str, Any], Path]
) -> None:
    name = unique("run")
    path = write(f"{name}.asl.json", CHOICE)
    done = opensfn(server, "run", str(path), "--input", '{"n": 42}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"n": 42, "size": "big"}
    progress = done.stderr.splitlines()
    assert "→ Check  Choice" in progress
    assert any(line.startswith("✓ Big  Pass") for line in progress)
    assert not any("Small" in line for line in progress)
    machine = f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    assert json.loads(sfn.describe_state_machine(stateMachineArn=machine)["definition"]) == CHOICE

    # Running the file again after an edit updates the same state machine.
    edited = {**CHOICE, "Comment": "edited"}
    path.write_text(json.dumps(edited))
    again = opensfn(server, "run", str(path), "--input", '{"n": 1}', "--quiet")
    assert (again.returncode, json.loads(again.stdout), again.stderr) == (
        0,
        {"n": 1, "size": "small"},
        "",
    )
    assert json.loads(sfn.describe_state_machine(stateMachineArn=machine)["definition"]) == edited
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 2

    # An existing machine by ARN, input from a file, a chosen execution name.
    payload = write("input.json", {"n": 11})
    by_arn = opensfn(server, "run", machine, "--input", f"@{payload}", "--name", "by-arn")
    assert by_arn.returncode == 0, by_arn.stderr
    assert json.loads(by_arn.stdout) == {"n": 11, "size": "big"}
    assert sfn.describe_execution(
        executionArn=f"{machine.replace('stateMachine', 'execution')}:by-arn"
    )


def test_run_failing_workflow(
    server: Server, unique: Callable[[str], str], write: Callable[[str, Any], Path]
) -> None:
    path = write(f"{unique('fail')}.json", FAILING)
    done = opensfn(server, "run", str(path))
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert "→ Broken  Fail" in lines
    assert "FAILED" in lines
    assert "error: Order.Invalid" in lines
    assert "cause: no items in order" in lines


def test_run_aborted_and_detached(server: Server, sfn: Any, make_machine: Any) -> None:
    machine = make_machine(WAIT_30)
    detached = opensfn(server, "run", machine, "--detach")
    assert detached.returncode == 0
    ex = detached.stdout.strip()
    assert sfn.describe_execution(executionArn=ex)["status"] == "RUNNING"
    follower = subprocess.Popen(
        [sys.executable, "-m", "opensfn", "run", machine, "--name", "to-stop"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **CREDENTIALS, "OPENSFN_ENDPOINT_URL": server.url},
        text=True,
    )
    to_stop = ex.rsplit(":", 1)[0] + ":to-stop"
    deadline = time.monotonic() + 20
    while not any(
        e["name"] == "to-stop" for e in sfn.list_executions(stateMachineArn=machine)["executions"]
    ):
        assert time.monotonic() < deadline and follower.poll() is None
        time.sleep(0.05)
    sfn.stop_execution(executionArn=to_stop, error="Halt", cause="test")
    _, err = follower.communicate(timeout=20)
    assert follower.returncode == 4
    assert "ABORTED" in err.splitlines()
    sfn.stop_execution(executionArn=ex)


# --------------------------------------------------------------------------- history, executions


def test_history_timeline_and_json(server: Server, sfn: Any, make_machine: Any) -> None:
    machine = make_machine(CHOICE)
    ex = sfn.start_execution(stateMachineArn=machine, input='{"n": 3}')["executionArn"]
    wait_status(sfn, ex)
    expected = sfn.get_execution_history(executionArn=ex)["events"]
    done, as_json, backwards, missing = opensfn_all(
        server,
        ["history", ex],
        ["history", ex, "--json"],
        ["history", ex, "--reverse", "--no-data"],
        ["history", ex + "-missing"],
    )
    assert done.returncode == 0, done.stderr
    header, *rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert header == ["ID", "TIME", "TYPE", "DETAILS"]
    assert [(int(r[0]), r[2]) for r in rows] == [(e["id"], e["type"]) for e in expected]
    assert rows[1][3] == f"Check  input={expected[1]['stateEnteredEventDetails']['input']}"
    assert rows[-1][3] == 'output={"n":3,"size":"small"}'
    assert all(r[1].startswith("+") for r in rows)

    raw = parsed(as_json)["events"]
    assert [(e["id"], e["type"]) for e in raw] == [(e["id"], e["type"]) for e in expected]
    assert raw[-1]["executionSucceededEventDetails"] == {
        "output": expected[-1]["executionSucceededEventDetails"]["output"],
        "outputDetails": {"truncated": False},
    }
    reverse = backwards.stdout.splitlines()
    assert [int(line.split("\t")[0]) for line in reverse[1:]] == [e["id"] for e in expected][::-1]
    assert "input=" not in "".join(reverse)
    assert missing.returncode == 254
    assert "(ExecutionDoesNotExist)" in missing.stderr


def test_executions_lists_status_and_duration(server: Server, sfn: Any, make_machine: Any) -> None:
    machine = make_machine(FAILING)
    name = machine.rsplit(":", 1)[-1]
    for run_name in ("e1", "e2"):
        sfn.start_execution(stateMachineArn=machine, name=run_name)
    wait_status(sfn, machine.replace("stateMachine", "execution") + ":e2", "FAILED")
    wait_status(sfn, machine.replace("stateMachine", "execution") + ":e1", "FAILED")
    done, everything, as_json, running = opensfn_all(
        server,
        ["executions", name],
        ["executions", "--status", "FAILED", "--limit", "500"],
        ["executions", machine, "--json"],
        ["executions", machine, "--status", "RUNNING"],
    )
    assert done.returncode == 0, done.stderr
    header, *rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert header == ["NAME", "STATUS", "STATE MACHINE", "STARTED", "DURATION", "ARN"]
    assert [(r[0], r[1], r[2]) for r in rows] == [("e2", "FAILED", name), ("e1", "FAILED", name)]
    assert all(r[4].endswith(("ms", "s")) for r in rows)
    assert any(line.startswith(f"e1\tFAILED\t{name}\t") for line in everything.stdout.splitlines())
    assert [e["name"] for e in parsed(as_json)["executions"]] == ["e2", "e1"]
    assert running.stdout.splitlines() == ["NAME\tSTATUS\tSTATE MACHINE\tSTARTED\tDURATION\tARN"]


# --------------------------------------------------------------------------- validate


def test_validate_valid_and_invalid(server: Server, write: Callable[[str, Any], Path]) -> None:
    good = write("good.json", CHOICE)
    broken = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Bogus", "End": True}},
    }
    bad = write("bad.json", broken)
    expected = validate_response(json.dumps(broken))
    assert expected["result"] == "FAIL"
    ok, done, local, remote = opensfn_all(
        server,
        ["validate", str(good)],
        ["validate", str(bad)],
        ["validate", str(bad), "--json"],
        ["validate", str(bad), "--json", "--endpoint-url", server.url],  # the API's answer
    )
    assert (ok.returncode, ok.stdout) == (0, f"{good}: OK\n")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{bad}: ERROR {d['code']} at {d['location']}: {d['message']}"
        for d in expected["diagnostics"]
    ]
    assert "Missing 'Next' target: Nowhere" in done.stdout
    assert json.loads(local.stdout) == json.loads(remote.stdout) == expected
    assert remote.returncode == local.returncode == 1
    not_json = opensfn(server, "validate", "-", stdin="{oops")
    assert not_json.returncode == 1
    assert not_json.stdout.startswith("<stdin>: ERROR INVALID_JSON_DESCRIPTION")


# --------------------------------------------------------------------------- helpers


def test_helpers_start_and_wait(sfn: Any, make_machine: Any) -> None:
    assert start_and_wait(make_machine(CHOICE), {"n": 99}, client=sfn) == {"n": 99, "size": "big"}
    with pytest.raises(ExecutionFailed) as failed:
        start_and_wait(make_machine(FAILING), client=sfn, name="helper-fail")
    assert (failed.value.status, failed.value.error, failed.value.cause) == (
        "FAILED",
        "Order.Invalid",
        "no items in order",
    )
    assert failed.value.execution_arn.endswith(":helper-fail")
    slow = sfn.start_execution(stateMachineArn=make_machine(WAIT_30))["executionArn"]
    with pytest.raises(TimeoutError):
        wait_for_execution(slow, timeout=0.3, client=sfn)
    sfn.stop_execution(executionArn=slow)
    assert wait_for_execution(slow, client=sfn)["status"] == "ABORTED"


def test_helpers_history_and_adhoc_runs(
    sfn: Any, make_machine: Any, unique: Callable[[str], str]
) -> None:
    states = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(5)}
    states["S5"] = {"Type": "Pass", "End": True}
    ex = sfn.start_execution(stateMachineArn=make_machine({"StartAt": "S0", "States": states}))
    watched = [e["id"] for e in watch_history(ex["executionArn"], client=sfn)]
    paged = [e["id"] for e in iter_history(ex["executionArn"], page_size=3, client=sfn)]
    backwards = [
        e["id"] for e in iter_history(ex["executionArn"], page_size=4, reverse=True, client=sfn)
    ]
    assert watched == paged == list(range(1, 15)) == backwards[::-1]

    before = {m["name"] for m in sfn.list_state_machines()["stateMachines"]}
    assert run_definition(CHOICE, {"n": 0}, client=sfn) == {"n": 0, "size": "small"}
    with pytest.raises(ExecutionFailed):
        run_definition(FAILING, client=sfn)
    assert {m["name"] for m in sfn.list_state_machines()["stateMachines"]} == before

    name = unique("deployed")
    arn = deploy(name, CHOICE, client=sfn)
    assert deploy(name, WAIT_30, client=sfn) == arn
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == WAIT_30
