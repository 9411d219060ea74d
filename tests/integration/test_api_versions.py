"""Versions and aliases against a live server: publish, list, delete, route executions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import PASS_MACHINE, ROLE, wait_status


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def pass_result(value: str) -> str:
    return json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": value, "End": True}}}
    )


@pytest.fixture
def machine(sfn: Any, unique: Callable[[str], str]) -> str:
    out = sfn.create_state_machine(name=unique("ver"), definition=pass_result("v1"), roleArn=ROLE)
    return str(out["stateMachineArn"])


def test_publish_is_idempotent_per_revision(sfn: Any, machine: str) -> None:
    first = sfn.publish_state_machine_version(stateMachineArn=machine, description="one")
    assert first["stateMachineVersionArn"] == f"{machine}:1"
    again = sfn.publish_state_machine_version(stateMachineArn=machine)
    assert again["stateMachineVersionArn"] == f"{machine}:1"
    assert again["creationDate"] == first["creationDate"]
    sfn.update_state_machine(stateMachineArn=machine, definition=pass_result("v2"))
    second = sfn.publish_state_machine_version(stateMachineArn=machine)
    assert second["stateMachineVersionArn"] == f"{machine}:2"
    listed = sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [f"{machine}:2", f"{machine}:1"]
    described = sfn.describe_state_machine(stateMachineArn=f"{machine}:1")
    assert described["stateMachineArn"] == f"{machine}:1"
    assert described["description"] == "one"
    assert json.loads(described["definition"])["States"]["P"]["Result"] == "v1"


def test_publish_checks_the_revision_id(sfn: Any, machine: str) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.publish_state_machine_version(stateMachineArn=machine, revisionId="not-it")
    assert error(exc)[0] == "ConflictException"
    out = sfn.publish_state_machine_version(stateMachineArn=machine, revisionId="INITIAL")
    assert out["stateMachineVersionArn"] == f"{machine}:1"


def test_create_and_update_with_publish(sfn: Any, unique: Callable[[str], str]) -> None:
    out = sfn.create_state_machine(
        name=unique("pub"),
        definition=pass_result("a"),
        roleArn=ROLE,
        publish=True,
        versionDescription="first",
    )
    arn = out["stateMachineArn"]
    assert out["stateMachineVersionArn"] == f"{arn}:1"
    upd = sfn.update_state_machine(stateMachineArn=arn, definition=pass_result("b"), publish=True)
    assert upd["stateMachineVersionArn"] == f"{arn}:2"
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(
            name=unique("pub"), definition=pass_result("a"), roleArn=ROLE, versionDescription="x"
        )
    assert error(exc) == (
        "ValidationException",
        "Version description can only be set when publish is true",
    )


def test_version_numbers_are_not_reused(sfn: Any, machine: str) -> None:
    sfn.publish_state_machine_version(stateMachineArn=machine)
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{machine}:1")
    assert sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"] == []
    sfn.update_state_machine(stateMachineArn=machine, definition=pass_result("v2"))
    out = sfn.publish_state_machine_version(stateMachineArn=machine)
    assert out["stateMachineVersionArn"] == f"{machine}:2"


def test_execution_through_a_version_runs_that_version(sfn: Any, machine: str) -> None:
    sfn.publish_state_machine_version(stateMachineArn=machine)
    sfn.update_state_machine(stateMachineArn=machine, definition=pass_result("v2"))
    started = sfn.start_execution(stateMachineArn=f"{machine}:1")
    assert started["executionArn"].startswith(machine.replace(":stateMachine:", ":execution:"))
    done = wait_status(sfn, started["executionArn"])
    assert json.loads(done["output"]) == "v1"
    assert done["stateMachineArn"] == machine
    assert done["stateMachineVersionArn"] == f"{machine}:1"
    assert "stateMachineAliasArn" not in done
    latest = wait_status(sfn, sfn.start_execution(stateMachineArn=machine)["executionArn"])
    assert json.loads(latest["output"]) == "v2"
    assert "stateMachineVersionArn" not in latest
    listed = sfn.list_executions(stateMachineArn=f"{machine}:1")["executions"]
    assert [e["executionArn"] for e in listed] == [started["executionArn"]]


def test_alias_lifecycle_and_routing(sfn: Any, machine: str) -> None:
    sfn.publish_state_machine_version(stateMachineArn=machine)
    sfn.update_state_machine(stateMachineArn=machine, definition=pass_result("v2"))
    sfn.publish_state_machine_version(stateMachineArn=machine)
    routing = [{"stateMachineVersionArn": f"{machine}:1", "weight": 100}]
    out = sfn.create_state_machine_alias(name="prod", routingConfiguration=routing)
    alias = out["stateMachineAliasArn"]
    assert alias == f"{machine}:prod"
    again = sfn.create_state_machine_alias(name="prod", routingConfiguration=routing)
    assert again["creationDate"] == out["creationDate"]
    described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert described["name"] == "prod"
    assert described["routingConfiguration"] == routing

    run = sfn.start_execution(stateMachineArn=alias)
    done = wait_status(sfn, run["executionArn"])
    assert json.loads(done["output"]) == "v1"
    assert done["stateMachineAliasArn"] == alias
    assert done["stateMachineVersionArn"] == f"{machine}:1"

    # A version an alias routes to cannot be deleted.
    with pytest.raises(ClientError) as exc:
        sfn.delete_state_machine_version(stateMachineVersionArn=f"{machine}:1")
    assert error(exc) == (
        "ConflictException",
        "Version to be deleted must not be referenced by an alias. "
        "Current list of aliases referencing this version: [prod]",
    )

    new_routing = [{"stateMachineVersionArn": f"{machine}:2", "weight": 100}]
    sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=new_routing)
    done = wait_status(sfn, sfn.start_execution(stateMachineArn=alias)["executionArn"])
    assert json.loads(done["output"]) == "v2"
    listed = sfn.list_state_machine_aliases(stateMachineArn=machine)["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in listed] == [alias]

    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert error(exc)[0] == "ResourceNotFound"
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{machine}:1")


def test_alias_routing_rules(sfn: Any, machine: str) -> None:
    sfn.publish_state_machine_version(stateMachineArn=machine)
    sfn.update_state_machine(stateMachineArn=machine, definition=pass_result("v2"))
    sfn.publish_state_machine_version(stateMachineArn=machine)
    split = [
        {"stateMachineVersionArn": f"{machine}:1", "weight": 60},
        {"stateMachineVersionArn": f"{machine}:2", "weight": 30},
    ]
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine_alias(name="bad", routingConfiguration=split)
    assert error(exc)[0] == "ValidationException"
    missing = [{"stateMachineVersionArn": f"{machine}:9", "weight": 100}]
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine_alias(name="bad", routingConfiguration=missing)
    assert error(exc)[0] == "StateMachineDoesNotExist"
    split[1]["weight"] = 40
    alias = sfn.create_state_machine_alias(name="canary", routingConfiguration=split)
    outputs = set()
    for _ in range(30):
        arn = sfn.start_execution(stateMachineArn=alias["stateMachineAliasArn"])["executionArn"]
        outputs.add(json.loads(wait_status(sfn, arn)["output"]))
    assert outputs == {"v1", "v2"}  # 0.6**30 + 0.4**30: never one-sided in practice


def test_delete_machine_takes_versions_and_aliases(sfn: Any, machine: str) -> None:
    sfn.publish_state_machine_version(stateMachineArn=machine)
    routing = [{"stateMachineVersionArn": f"{machine}:1", "weight": 100}]
    alias = sfn.create_state_machine_alias(name="live", routingConfiguration=routing)
    with pytest.raises(ClientError) as exc:
        sfn.delete_state_machine(stateMachineArn=f"{machine}:1")
    assert error(exc)[0] == "ValidationException"
    sfn.delete_state_machine(stateMachineArn=machine)
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=f"{machine}:1")
    assert error(exc)[0] == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias["stateMachineAliasArn"])
    assert error(exc)[0] == "ResourceNotFound"


def test_unknown_qualified_arns(sfn: Any, make_machine: Callable[..., str]) -> None:
    arn = make_machine(PASS_MACHINE)
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=f"{arn}:7")
    assert error(exc) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}:7'")
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=f"{arn}:nosuchalias")
    assert error(exc)[0] == "StateMachineDoesNotExist"
