"""CreateStateMachine, DescribeStateMachine, UpdateStateMachine, DeleteStateMachine,
ListStateMachines, DescribeStateMachineForExecution against a live server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import PASS_MACHINE, ROLE, wait_status


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def test_create_and_describe(sfn: Any, unique: Callable[[str], str]) -> None:
    name = unique("machine")
    definition = json.dumps(PASS_MACHINE)
    out = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)
    arn = out["stateMachineArn"]
    assert arn == f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["name"] == name
    assert described["definition"] == definition
    assert described["roleArn"] == ROLE
    assert described["type"] == "STANDARD"
    assert described["status"] == "ACTIVE"
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert described["tracingConfiguration"] == {"enabled": False}
    assert described["creationDate"] == out["creationDate"]
    assert "revisionId" not in described


def test_create_is_idempotent_for_the_same_configuration(
    sfn: Any, unique: Callable[[str], str]
) -> None:
    name = unique("idem")
    first = sfn.create_state_machine(name=name, definition=json.dumps(PASS_MACHINE), roleArn=ROLE)
    again = sfn.create_state_machine(name=name, definition=json.dumps(PASS_MACHINE), roleArn=ROLE)
    assert again["stateMachineArn"] == first["stateMachineArn"]
    assert again["creationDate"] == first["creationDate"]
    other = {**PASS_MACHINE, "Comment": "different"}
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name=name, definition=json.dumps(other), roleArn=ROLE)
    assert error_of(exc) == (
        "StateMachineAlreadyExists",
        f"State Machine Already Exists: '{first['stateMachineArn']}'",
    )


@pytest.mark.parametrize(
    "name", ["has space", "a/b", "x:y", "star*", "br[ack]et", "tab\tname", "q?"]
)
def test_invalid_names(sfn: Any, name: str) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name=name, definition=json.dumps(PASS_MACHINE), roleArn=ROLE)
    assert error_of(exc) == ("InvalidName", f"Invalid Name: '{name}'")


def test_name_with_punctuation_is_accepted(sfn: Any, unique: Callable[[str], str]) -> None:
    arn = sfn.create_state_machine(
        name=unique("state.machine_x-1"), definition=json.dumps(PASS_MACHINE), roleArn=ROLE
    )["stateMachineArn"]
    assert ":stateMachine:state.machine_x-1-" in arn


def test_invalid_definition(sfn: Any, unique: Callable[[str], str]) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name=unique("bad"), definition='{"StartAt": "A"}', roleArn=ROLE)
    code, message = error_of(exc)
    assert code == "InvalidDefinition"
    assert message.startswith("Invalid State Machine Definition: '")
    assert "States" in message


def test_invalid_logging_configuration(sfn: Any, unique: Callable[[str], str]) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(
            name=unique("log"),
            definition=json.dumps(PASS_MACHINE),
            roleArn=ROLE,
            loggingConfiguration={"level": "ALL"},
        )
    assert error_of(exc) == (
        "InvalidLoggingConfiguration",
        "Invalid Logging Configuration: Must specify exactly one Log Destination.",
    )


def test_missing_required_member_is_a_validation_error(server: Any) -> None:
    import httpx

    reply = httpx.post(
        server.url,
        headers={"X-Amz-Target": "AWSStepFunctions.CreateStateMachine",
                 "Content-Type": "application/x-amz-json-1.0"},
        content=b'{"name": "x", "roleArn": "arn:aws:iam::123456789012:role/r"}',
    )  # fmt: skip
    assert reply.status_code == 400
    body = reply.json()
    assert body["__type"] == "ValidationException"
    assert "definition" in body["message"]


def test_describe_errors(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:does-not-exist"
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=missing)
    assert error_of(exc) == (
        "StateMachineDoesNotExist",
        f"State Machine Does Not Exist: '{missing}'",
    )
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn="not-an-arn")
    assert error_of(exc) == ("InvalidArn", "Invalid Arn: 'Invalid ARN prefix: not-an-arn'")
    activity = "arn:aws:states:us-east-1:123456789012:activity:a"
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=activity)
    assert error_of(exc) == (
        "InvalidArn",
        "Invalid Arn: 'Resource type not valid in this context: activity'",
    )


def test_update_keeps_running_executions_on_their_revision(sfn: Any, make_machine: Any) -> None:
    waiting = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    arn = make_machine(waiting)
    first = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    newer = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "v2", "End": True}}}
    out = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(newer))
    assert out["revisionId"]
    assert out["updateDate"]
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["revisionId"] == out["revisionId"]
    assert json.loads(described["definition"]) == newer
    old = sfn.describe_state_machine_for_execution(executionArn=first)
    assert json.loads(old["definition"]) == waiting
    second = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert wait_status(sfn, second)["output"] == '"v2"'
    assert (
        json.loads(sfn.describe_state_machine_for_execution(executionArn=second)["definition"])
        == newer
    )
    assert wait_status(sfn, first)["output"] == "{}"


def test_update_needs_something_to_change(sfn: Any, make_machine: Any) -> None:
    arn = make_machine(PASS_MACHINE)
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=arn)
    assert error_of(exc) == (
        "MissingRequiredParameter",
        "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
    )
    role = "arn:aws:iam::123456789012:role/other"
    sfn.update_state_machine(stateMachineArn=arn, roleArn=role)
    assert sfn.describe_state_machine(stateMachineArn=arn)["roleArn"] == role


def test_update_rejects_an_invalid_definition(sfn: Any, make_machine: Any) -> None:
    arn = make_machine(PASS_MACHINE)
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(
            stateMachineArn=arn, definition='{"StartAt": "Nowhere", "States": {}}'
        )
    assert error_of(exc)[0] == "InvalidDefinition"
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == PASS_MACHINE


def test_delete(sfn: Any, make_machine: Any) -> None:
    arn = make_machine(PASS_MACHINE)
    done = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    wait_status(sfn, done)
    assert (
        sfn.delete_state_machine(stateMachineArn=arn)["ResponseMetadata"]["HTTPStatusCode"] == 200
    )
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert error_of(exc)[0] == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn)
    assert error_of(exc)[0] == "StateMachineDoesNotExist"
    assert sfn.describe_execution(executionArn=done)["status"] == "SUCCEEDED"
    sfn.delete_state_machine(stateMachineArn=arn)  # deleting again succeeds


def test_delete_with_running_executions_is_deleting_until_they_end(
    sfn: Any, make_machine: Any, unique: Any
) -> None:
    """AWS: DELETING; each running execution fails at its next transition; then gone."""
    activity = sfn.create_activity(name=unique("del"))["activityArn"]
    arn = make_machine(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity, "End": True}}}
    )
    running = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="w")
    sfn.delete_state_machine(stateMachineArn=arn)
    assert sfn.describe_state_machine(stateMachineArn=arn)["status"] == "DELETING"
    assert sfn.describe_execution(executionArn=running)["status"] == "RUNNING"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn)
    assert error_of(exc)[0] == "StateMachineDeleting"
    sfn.send_task_success(taskToken=task["taskToken"], output="{}")  # its next transition
    failed = wait_status(sfn, running, "FAILED")
    assert failed["error"] == "States.Runtime"
    assert failed["cause"] == f"State machine {arn.rsplit(':', 1)[1]} has been deleted."
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            sfn.describe_state_machine(stateMachineArn=arn)
        except ClientError as gone:
            assert gone.response["Error"]["Code"] == "StateMachineDoesNotExist"
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the machine was not removed after its last execution ended")


def test_list_state_machines_paginates(server: Any, make_machine: Any) -> None:
    sfn = server.client(region="eu-west-3")  # a region of its own: exactly our machines
    names = []
    for i in range(5):
        name = f"listed-{i}"
        names.append(name)
        sfn.create_state_machine(name=name, definition=json.dumps(PASS_MACHINE), roleArn=ROLE)
    first = sfn.list_state_machines(maxResults=2)
    assert [m["name"] for m in first["stateMachines"]] == names[:2]
    assert first["stateMachines"][0]["stateMachineArn"].startswith("arn:aws:states:eu-west-3:")
    assert set(first["stateMachines"][0]) == {"stateMachineArn", "name", "type", "creationDate"}
    seen = [m["name"] for m in first["stateMachines"]]
    token = first["nextToken"]
    while token:
        page = sfn.list_state_machines(maxResults=2, nextToken=token)
        seen += [m["name"] for m in page["stateMachines"]]
        token = page.get("nextToken")
    assert seen == names
    everything = sfn.list_state_machines()
    assert [m["name"] for m in everything["stateMachines"]] == names
    assert "nextToken" not in everything
    paginated = [m["name"] for p in sfn.get_paginator("list_state_machines").paginate(
        PaginationConfig={"PageSize": 3}) for m in p["stateMachines"]]  # fmt: skip
    assert paginated == names


def test_bad_next_token(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.list_state_machines(nextToken="definitely-not-a-token")
    assert error_of(exc)[0] == "InvalidToken"


def test_describe_state_machine_for_execution_errors(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:execution:m:nope"
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine_for_execution(executionArn=missing)
    assert error_of(exc) == ("ExecutionDoesNotExist", f"Execution Does Not Exist: '{missing}'")


def test_validate_state_machine_definition(sfn: Any) -> None:
    ok = sfn.validate_state_machine_definition(definition=json.dumps(PASS_MACHINE))
    assert ok["result"] == "OK"
    assert ok["diagnostics"] == []
    bad = sfn.validate_state_machine_definition(definition='{"StartAt": "A"}')
    assert bad["result"] == "FAIL"
    assert bad["diagnostics"][0]["severity"] == "ERROR"


def test_encryption_configuration_is_kept_and_described(
    sfn: Any, unique: Callable[[str], str], make_machine: Any
) -> None:
    """What CloudFormation, CDK and Terraform set is what they read back: per revision
    (DescribeStateMachineForExecution shows the execution's), in the idempotency check,
    changed by UpdateStateMachine; a customer managed key needs its key id."""
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    customer = {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": key}
    name = unique("encrypted")
    definition = json.dumps(PASS_MACHINE)
    arn = sfn.create_state_machine(
        name=name, definition=definition, roleArn=ROLE, encryptionConfiguration=customer
    )["stateMachineArn"]
    kept = {**customer, "kmsDataKeyReusePeriodSeconds": 300}  # AWS's default period
    assert sfn.describe_state_machine(stateMachineArn=arn)["encryptionConfiguration"] == kept
    again = sfn.create_state_machine(
        name=name, definition=definition, roleArn=ROLE, encryptionConfiguration=customer
    )
    assert again["stateMachineArn"] == arn
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)
    assert error_of(exc)[0] == "StateMachineAlreadyExists"
    first = sfn.start_execution(stateMachineArn=arn)["executionArn"]

    sfn.update_state_machine(stateMachineArn=arn, encryptionConfiguration={"type": "AWS_OWNED_KEY"})
    owned = {"type": "AWS_OWNED_KEY"}
    assert sfn.describe_state_machine(stateMachineArn=arn)["encryptionConfiguration"] == owned
    described = sfn.describe_state_machine_for_execution(executionArn=first)
    assert described["encryptionConfiguration"] == kept  # the revision it started with
    sfn.update_state_machine(stateMachineArn=arn, roleArn=ROLE)  # other changes keep it
    assert sfn.describe_state_machine(stateMachineArn=arn)["encryptionConfiguration"] == owned
    version = sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
    assert sfn.describe_state_machine(stateMachineArn=version)["encryptionConfiguration"] == owned

    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(
            name=unique("nokey"), definition=definition, roleArn=ROLE,
            encryptionConfiguration={"type": "CUSTOMER_MANAGED_KMS_KEY"},
        )  # fmt: skip
    assert error_of(exc)[0] == "InvalidEncryptionConfiguration"
    assert "kmsKeyId" in error_of(exc)[1]
    plain = make_machine(PASS_MACHINE)  # AWS describes its own key (recorded 2024-11-20)
    assert sfn.describe_state_machine(stateMachineArn=plain)["encryptionConfiguration"] == owned


def test_describe_state_machine_metadata_only(sfn: Any, make_machine: Any) -> None:
    """includedData METADATA_ONLY: everything but the definition, which is `{}` (AWS's
    answer for callers that may not decrypt it), for the machine and its versions."""
    arn = make_machine(PASS_MACHINE)
    full = sfn.describe_state_machine(stateMachineArn=arn)
    assert json.loads(full["definition"]) == PASS_MACHINE
    meta = sfn.describe_state_machine(stateMachineArn=arn, includedData="METADATA_ONLY")
    assert meta["definition"] == "{}"
    assert {k: v for k, v in meta.items() if k not in ("definition", "ResponseMetadata")} == {
        k: v for k, v in full.items() if k not in ("definition", "ResponseMetadata")
    }
    version = sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
    meta = sfn.describe_state_machine(stateMachineArn=version, includedData="METADATA_ONLY")
    assert (meta["definition"], meta["stateMachineArn"]) == ("{}", version)
    full = sfn.describe_state_machine(stateMachineArn=version, includedData="ALL_DATA")
    assert json.loads(full["definition"]) == PASS_MACHINE


def test_variable_references_are_described(sfn: Any, make_machine: Any) -> None:
    """DescribeStateMachine and DescribeStateMachineForExecution list, per state, the
    variables it reads (AWS's field; absent when no state reads one, and with METADATA_ONLY,
    which keeps what the definition says out of the answer)."""
    definition = {
        "StartAt": "Setup",
        "States": {
            "Setup": {"Type": "Pass", "Assign": {"limit": 2, "name": "x"}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$limit", "NumericEquals": 2, "Next": "Done"}],
                "Default": "Done",
            },
            "Done": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.Format('{}', $name)"},
                "End": True,
            },
        },
    }
    arn = make_machine(definition)
    expected = {"Check": ["limit"], "Done": ["name"]}
    assert sfn.describe_state_machine(stateMachineArn=arn)["variableReferences"] == expected
    meta = sfn.describe_state_machine(stateMachineArn=arn, includedData="METADATA_ONLY")
    assert "variableReferences" not in meta
    run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    wait_status(sfn, run, "SUCCEEDED")
    described = sfn.describe_state_machine_for_execution(executionArn=run)
    assert described["variableReferences"] == expected
    plain = make_machine(PASS_MACHINE)
    assert "variableReferences" not in sfn.describe_state_machine(stateMachineArn=plain)
