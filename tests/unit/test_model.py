"""Request validation against botocore's stepfunctions model, with AWS's messages."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from opensfn.api.model import OPERATIONS, decode_request, validate_request
from opensfn.errors import SerializationException, UnknownOperationException, ValidationException

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:HelloWorld"
EXEC = "arn:aws:states:us-east-1:123456789012:execution:HelloWorld:run-1"
ROLE = "arn:aws:iam::123456789012:role/sfn"
DEFINITION = '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}'
MODEL = botocore.session.get_session().get_service_model("stepfunctions")


def invalid(operation: str, params: Any) -> str:
    with pytest.raises(ValidationException) as raised:
        validate_request(operation, params)
    return raised.value.message


def unreadable(operation: str, params: Any) -> str:
    with pytest.raises(SerializationException) as raised:
        validate_request(operation, params)
    return raised.value.message


def one(value: str, path: str, constraint: str) -> str:
    return (
        f"1 validation error detected: Value {value} at '{path}' "
        f"failed to satisfy constraint: {constraint}"
    )


# ----------------------------------------------------------------------------- operations


def test_operations_are_botocore_s() -> None:
    assert frozenset(MODEL.operation_names) == OPERATIONS
    assert {"StartExecution", "CreateStateMachine", "TestState", "RedriveExecution"} <= OPERATIONS


def test_an_unknown_operation_is_refused_without_message() -> None:
    with pytest.raises(UnknownOperationException) as raised:
        validate_request("StartExecutions", {})
    assert raised.value.message == ""


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("StartExecution", {"stateMachineArn": ARN, "name": "run-1", "input": '{"a": 1}'}),
        ("StartExecution", {"stateMachineArn": ARN, "traceHeader": "Root=1-5759e988-bd86"}),
        (
            "CreateStateMachine",
            {
                "name": "HelloWorld",
                "definition": DEFINITION,
                "roleArn": ROLE,
                "type": "EXPRESS",
                "loggingConfiguration": {"level": "ALL", "includeExecutionData": True},
                "tracingConfiguration": {"enabled": False},
                "tags": [{"key": "team", "value": ""}],
                "publish": True,
                "encryptionConfiguration": {"type": "AWS_OWNED_KEY"},
            },
        ),
        ("ListStateMachines", {}),
        ("ListStateMachines", {"maxResults": 0}),
        ("ListStateMachines", {"maxResults": 1000, "nextToken": "t"}),
        ("ListExecutions", {"stateMachineArn": ARN, "statusFilter": "PENDING_REDRIVE"}),
        ("GetExecutionHistory", {"executionArn": EXEC, "reverseOrder": True}),
        ("SendTaskSuccess", {"taskToken": "t", "output": "{}"}),
        ("SendTaskFailure", {"taskToken": "t", "error": "", "cause": ""}),
        ("RedriveExecution", {"executionArn": EXEC, "clientToken": "abc-123!~"}),
        (
            "CreateStateMachineAlias",
            {
                "name": "prod",
                "routingConfiguration": [{"stateMachineVersionArn": ARN + ":1", "weight": 100}],
            },
        ),
        (
            "UpdateMapRun",
            {"mapRunArn": EXEC, "toleratedFailurePercentage": 12.5, "toleratedFailureCount": 3},
        ),
        ("UntagResource", {"resourceArn": ARN, "tagKeys": ["a", "b"]}),
        (
            "TestState",
            {
                "definition": "{}",
                "inspectionLevel": "TRACE",
                "mock": {"fieldValidationMode": "STRICT"},
            },
        ),
    ],
)
def test_valid_requests_come_back_as_they_are(operation: str, params: dict[str, Any]) -> None:
    assert validate_request(operation, params) is params


# ----------------------------------------------------------------------------- deserialisation


@pytest.mark.parametrize(
    ("body", "message"),
    [([], "Start of list found where not expected"), ("x", ""), (1, ""), (None, ""), (True, "")],
)
def test_a_body_that_is_not_an_object(body: Any, message: str) -> None:
    assert unreadable("ListStateMachines", body) == message


@pytest.mark.parametrize("body", [b"", b"{", b'{"a": 1,}', b"{} {}", b"nul"])
def test_malformed_json_is_a_serialization_exception_without_message(body: bytes) -> None:
    with pytest.raises(SerializationException) as raised:
        decode_request("ListStateMachines", body)
    assert raised.value.message == ""


def test_decode_request_decodes_then_validates() -> None:
    assert decode_request("ListStateMachines", b'{"maxResults": 5}') == {"maxResults": 5}
    with pytest.raises(ValidationException):
        decode_request("ListStateMachines", b'{"maxResults": 5000}')
    with pytest.raises(UnknownOperationException):
        decode_request("Nope", b"{}")


@pytest.mark.parametrize(
    ("operation", "params", "message"),
    [
        # A string member
        ("DescribeExecution", {"executionArn": 1}, "NUMBER_VALUE can not be converted to a String"),
        (
            "DescribeExecution",
            {"executionArn": 1.5},
            "NUMBER_VALUE can not be converted to a String",
        ),
        (
            "DescribeExecution",
            {"executionArn": True},
            "TRUE_VALUE can not be converted to a String",
        ),
        (
            "DescribeExecution",
            {"executionArn": False},
            "FALSE_VALUE can not be converted to a String",
        ),
        ("DescribeExecution", {"executionArn": ["a"]}, "Start of list found where not expected"),
        (
            "DescribeExecution",
            {"executionArn": {}},
            "Start of structure or map found where not expected.",
        ),
        # An integer member
        ("ListActivities", {"maxResults": "10"}, "STRING_VALUE can not be converted to an Integer"),
        ("ListActivities", {"maxResults": True}, "TRUE_VALUE can not be converted to an Integer"),
        ("ListActivities", {"maxResults": [1]}, "Start of list found where not expected"),
        (
            "ListActivities",
            {"maxResults": {"a": 1}},
            "Start of structure or map found where not expected.",
        ),
        # Long, float and boolean members
        (
            "UpdateMapRun",
            {"mapRunArn": "m", "toleratedFailureCount": "1"},
            "STRING_VALUE can not be converted to a Long",
        ),
        (
            "UpdateMapRun",
            {"mapRunArn": "m", "toleratedFailurePercentage": "1"},
            "STRING_VALUE can not be converted to a Float",
        ),
        (
            "GetExecutionHistory",
            {"executionArn": EXEC, "reverseOrder": "true"},
            "STRING_VALUE can not be converted to a Boolean",
        ),
        (
            "GetExecutionHistory",
            {"executionArn": EXEC, "reverseOrder": 1},
            "NUMBER_VALUE can not be converted to a Boolean",
        ),
        # A list member
        ("UntagResource", {"resourceArn": ARN, "tagKeys": "a"}, "Expected list or null"),
        ("UntagResource", {"resourceArn": ARN, "tagKeys": 1}, "Expected list or null"),
        (
            "UntagResource",
            {"resourceArn": ARN, "tagKeys": {}},
            "Start of structure or map found where not expected.",
        ),
        (
            "UntagResource",
            {"resourceArn": ARN, "tagKeys": [["a"]]},
            "Start of list found where not expected",
        ),
        (
            "UntagResource",
            {"resourceArn": ARN, "tagKeys": [1]},
            "NUMBER_VALUE can not be converted to a String",
        ),
        # A structure member, and members inside one
        ("CreateActivity", {"name": "a", "encryptionConfiguration": "x"}, "Expected null"),
        ("CreateActivity", {"name": "a", "encryptionConfiguration": 1}, "Expected null"),
        (
            "CreateActivity",
            {"name": "a", "encryptionConfiguration": []},
            "Start of list found where not expected",
        ),
        (
            "CreateActivity",
            {"name": "a", "tags": [{"key": 1}]},
            "NUMBER_VALUE can not be converted to a String",
        ),
    ],
)
def test_wrong_json_types_are_serialization_exceptions(
    operation: str, params: dict[str, Any], message: str
) -> None:
    assert unreadable(operation, params) == message


def test_an_integer_out_of_java_range_cannot_be_read() -> None:
    assert unreadable("ListActivities", {"maxResults": 2**31}) == ""
    assert validate_request("UpdateMapRun", {"mapRunArn": "m", "toleratedFailureCount": 2**31}) == {
        "mapRunArn": "m",
        "toleratedFailureCount": 2**31,
    }


def test_type_errors_win_over_constraint_errors_in_model_order() -> None:
    params = {"definition": "", "name": "x" * 100, "roleArn": 7, "type": True}
    # name and definition break constraints, but roleArn is the first member of a wrong type
    assert (
        unreadable("CreateStateMachine", params) == "NUMBER_VALUE can not be converted to a String"
    )


def test_nulls_are_absent_members_and_skipped_elements() -> None:
    params = {"resourceArn": ARN, "tagKeys": ["a", None, "b"], "extra": None}
    assert validate_request("UntagResource", params) == {"resourceArn": ARN, "tagKeys": ["a", "b"]}
    assert params["tagKeys"] == ["a", None, "b"]  # the caller's dict is left alone
    assert invalid("UntagResource", {"resourceArn": None, "tagKeys": []}) == one(
        "null", "resourceArn", "Member must not be null"
    )


def test_a_fraction_is_truncated_for_an_integer() -> None:
    assert validate_request("ListActivities", {"maxResults": 5.9}) == {"maxResults": 5}
    nested = {
        "name": "a",
        "encryptionConfiguration": {
            "type": "CUSTOMER_MANAGED_KMS_KEY",
            "kmsDataKeyReusePeriodSeconds": 61.5,
        },
    }
    assert (
        validate_request("CreateActivity", nested)["encryptionConfiguration"][
            "kmsDataKeyReusePeriodSeconds"
        ]
        == 61
    )


def test_unknown_members_are_ignored() -> None:
    params = {"stateMachineArn": ARN, "Input": 1, "whatever": {"x": [1]}}
    assert validate_request("StartExecution", params) is params


# ----------------------------------------------------------------------------- constraints


def test_required_members_are_reported_in_model_order() -> None:
    assert invalid("CreateStateMachine", {}) == (
        "3 validation errors detected: "
        "Value null at 'name' failed to satisfy constraint: Member must not be null; "
        "Value null at 'definition' failed to satisfy constraint: Member must not be null; "
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    )


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_operation_requires_its_required_members(operation: str) -> None:
    required = MODEL.operation_model(operation).input_shape.required_members
    if not required:
        assert validate_request(operation, {}) == {}
        return
    message = invalid(operation, {})
    noun = "error" if len(required) == 1 else "errors"
    assert message.startswith(f"{len(required)} validation {noun} detected: ")
    for member in required:
        assert (
            f"Value null at '{member}' failed to satisfy constraint: Member must not be null"
            in message
        )


def test_a_state_machine_name_too_long() -> None:
    name = "n" * 81
    params = {"name": name, "definition": DEFINITION, "roleArn": ROLE}
    assert invalid("CreateStateMachine", params) == one(
        f"'{name}'", "name", "Member must have length less than or equal to 80"
    )


@pytest.mark.parametrize(
    ("value", "constraint"),
    [
        (1001, "Member must have value less than or equal to 1000"),
        (-1, "Member must have value greater than or equal to 0"),
    ],
)
def test_max_results_out_of_range(value: int, constraint: str) -> None:
    assert invalid("ListStateMachines", {"maxResults": value}) == one(
        f"'{value}'", "maxResults", constraint
    )


def test_max_results_limits_follow_each_operation() -> None:
    assert invalid(
        "ValidateStateMachineDefinition", {"definition": "{}", "maxResults": 101}
    ) == one("'101'", "maxResults", "Member must have value less than or equal to 100")


def test_a_bad_enum() -> None:
    params = {"name": "m", "definition": DEFINITION, "roleArn": ROLE, "type": "BATCH"}
    assert invalid("CreateStateMachine", params) == one(
        "'BATCH'", "type", "Member must satisfy enum value set: [STANDARD, EXPRESS]"
    )


def test_patterns_are_java_full_matches() -> None:
    pattern = r"^(?=.*[a-zA-Z_\-\.])[a-zA-Z0-9_\-\.]+$"
    routing = [{"stateMachineVersionArn": ARN + ":1", "weight": 100}]
    assert invalid(
        "CreateStateMachineAlias", {"name": "12", "routingConfiguration": routing}
    ) == one("'12'", "name", f"Member must satisfy regular expression pattern: {pattern}")
    assert invalid("CreateStateMachineAlias", {"name": "", "routingConfiguration": routing}) == (
        "2 validation errors detected: "
        f"Value '' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}; "
        "Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1"
    )
    assert invalid("StartExecution", {"stateMachineArn": ARN, "traceHeader": "é"}) == one(
        "'é'", "traceHeader", r"Member must satisfy regular expression pattern: \p{ASCII}*"
    )
    assert invalid("RedriveExecution", {"executionArn": EXEC, "clientToken": "a b"}) == one(
        "'a b'", "clientToken", "Member must satisfy regular expression pattern: [!-~]+"
    )


def test_sensitive_members_never_echo_their_value() -> None:
    params = {"name": "m", "definition": "", "roleArn": ROLE}
    assert invalid("CreateStateMachine", params) == (
        "1 validation error detected: Value at 'definition' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )
    failure = {"taskToken": "t", "error": "secret" * 50}
    message = invalid("SendTaskFailure", failure)
    assert "secret" not in message
    assert message == (
        "1 validation error detected: Value at 'error' failed to satisfy constraint: "
        "Member must have length less than or equal to 256"
    )


def test_nested_members_are_named_with_dotted_paths() -> None:
    params = {
        "name": "m",
        "definition": DEFINITION,
        "roleArn": ROLE,
        "loggingConfiguration": {"level": "LOUD"},
        "tags": [{"key": "ok", "value": "v"}, {"key": "", "value": "v" * 257}],
        "encryptionConfiguration": {"kmsDataKeyReusePeriodSeconds": 30},
    }
    assert invalid("CreateStateMachine", params) == (
        "5 validation errors detected: "
        "Value 'LOUD' at 'loggingConfiguration.level' failed to satisfy constraint: "
        "Member must satisfy enum value set: [ALL, ERROR, FATAL, OFF]; "
        "Value '' at 'tags.2.member.key' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; "
        f"Value '{'v' * 257}' at 'tags.2.member.value' failed to satisfy constraint: "
        "Member must have length less than or equal to 256; "
        "Value '30' at 'encryptionConfiguration.kmsDataKeyReusePeriodSeconds' failed to satisfy "
        "constraint: Member must have value greater than or equal to 60; "
        "Value null at 'encryptionConfiguration.type' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_list_lengths_and_list_element_members() -> None:
    assert invalid("CreateStateMachineAlias", {"name": "a", "routingConfiguration": []}) == one(
        "'[]'", "routingConfiguration", "Member must have length greater than or equal to 1"
    )
    routing = [
        {"stateMachineVersionArn": "v1", "weight": 101},
        {"weight": 0},
        {"stateMachineVersionArn": "v3", "weight": 0},
    ]
    assert invalid("CreateStateMachineAlias", {"name": "a", "routingConfiguration": routing}) == (
        "3 validation errors detected: "
        "Value '[{stateMachineVersionArn=v1, weight=101}, {weight=0}, "
        "{stateMachineVersionArn=v3, weight=0}]' at 'routingConfiguration' failed to satisfy "
        "constraint: Member must have length less than or equal to 2; "
        "Value '101' at 'routingConfiguration.1.member.weight' failed to satisfy constraint: "
        "Member must have value less than or equal to 100; "
        "Value null at 'routingConfiguration.2.member.stateMachineVersionArn' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_float_members_print_like_java() -> None:
    params = {"mapRunArn": "m", "toleratedFailurePercentage": 150}
    assert invalid("UpdateMapRun", params) == one(
        "'150.0'", "toleratedFailurePercentage", "Member must have value less than or equal to 100"
    )
    assert invalid("UpdateMapRun", {"mapRunArn": "m", "toleratedFailureCount": -1}) == one(
        "'-1'", "toleratedFailureCount", "Member must have value greater than or equal to 0"
    )
