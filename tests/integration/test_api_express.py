"""StartSyncExecution and EXPRESS machines against a live server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import PASS_MACHINE, ROLE
from live_server import Server


@pytest.fixture(scope="module")
def sync(server: Server) -> Any:
    # boto3 sends StartSyncExecution to the "sync-" host prefix; a local endpoint has none.
    return server.client(inject_host_prefix=False)


@pytest.fixture
def express_machine(
    sfn: Any, unique: Callable[[str], str]
) -> Iterator[Callable[[dict[str, Any]], str]]:
    made: list[str] = []

    def make(definition: dict[str, Any]) -> str:
        out = sfn.create_state_machine(
            name=unique("express"), definition=json.dumps(definition), roleArn=ROLE, type="EXPRESS"
        )
        made.append(out["stateMachineArn"])
        return str(out["stateMachineArn"])

    yield make
    # The session server is shared: tools that list every machine's executions (the CLI)
    # would meet ListExecutions' StateMachineTypeNotSupported for these.
    for arn in made:
        sfn.delete_state_machine(stateMachineArn=arn)


def test_sync_success_has_the_aws_shape(sync: Any, express_machine: Any) -> None:
    arn = express_machine(PASS_MACHINE)
    out = sync.start_sync_execution(stateMachineArn=arn, name="run-1", input='{"a": 1}')
    prefix = arn.replace(":stateMachine:", ":express:")
    assert out["executionArn"].startswith(f"{prefix}:run-1:")
    assert len(out["executionArn"].rsplit(":", 1)[1]) == 36  # a uuid
    assert out["stateMachineArn"] == arn
    assert out["name"] == "run-1"
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == {"Arg1": "argument1"}
    assert out["input"] == '{"a": 1}'
    assert out["inputDetails"] == {"included": True}
    assert out["outputDetails"] == {"included": True}
    assert out["billingDetails"] == {
        "billedDurationInMilliseconds": 100,
        "billedMemoryUsedInMB": 64,
    }
    assert out["startDate"] <= out["stopDate"]
    assert "error" not in out


def test_sync_failure_reports_error_and_cause(sync: Any, express_machine: Any) -> None:
    arn = express_machine(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "because"}}}
    )
    out = sync.start_sync_execution(stateMachineArn=arn)
    assert (out["status"], out["error"], out["cause"]) == ("FAILED", "Oops", "because")
    assert "output" not in out
    assert out["input"] == "{}"


def test_sync_waits_for_timers(sync: Any, express_machine: Any) -> None:
    arn = express_machine(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    )
    started = time.monotonic()
    out = sync.start_sync_execution(stateMachineArn=arn, input='{"k": 2}')
    assert time.monotonic() - started >= 0.9
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == {"k": 2}
    assert out["billingDetails"]["billedDurationInMilliseconds"] >= 1000


def test_sync_rejects_standard_machines(sync: Any, make_machine: Any) -> None:
    arn = make_machine(PASS_MACHINE)
    with pytest.raises(ClientError) as exc:
        sync.start_sync_execution(stateMachineArn=arn)
    err = exc.value.response["Error"]
    assert err["Code"] == "StateMachineTypeNotSupported"
    assert err["Message"] == "StartSyncExecution is not available for STANDARD workflows"


def test_sync_unknown_machine(sync: Any) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:nope-express"
    with pytest.raises(ClientError) as exc:
        sync.start_sync_execution(stateMachineArn=arn)
    assert exc.value.response["Error"]["Code"] == "StateMachineDoesNotExist"


def test_start_execution_of_express_runs_in_memory(sfn: Any, express_machine: Any) -> None:
    arn = express_machine(PASS_MACHINE)
    out = sfn.start_execution(stateMachineArn=arn, name="async-1")
    exec_arn = out["executionArn"]
    assert exec_arn.startswith(arn.replace(":stateMachine:", ":express:") + ":async-1:")
    # AWS keeps no history for Express executions: DescribeExecution refuses the ARN.
    with pytest.raises(ClientError) as exc:
        sfn.describe_execution(executionArn=exec_arn)
    assert exc.value.response["Error"] == {
        "Code": "InvalidArn",
        "Message": "Invalid Arn: 'Resource type not valid in this context: express'",
    }
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=arn)
    assert exc.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"
