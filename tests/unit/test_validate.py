"""Static validation of definitions: messages and codes as AWS records them.

Expected strings come from the AWS-recorded conformance corpus unless a test says
otherwise (a few are AWS messages quoted in public bug reports).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from opensfn.asl.validate import (
    Diagnostic,
    invalid_definition_message,
    validate_definition,
    validate_response,
)

PREFIX = "Invalid State Machine Definition: "


def create_message(definition: dict[str, Any] | str, machine_type: str = "STANDARD") -> str:
    text = definition if isinstance(definition, str) else json.dumps(definition)
    diagnostics = validate_definition(text, machine_type)
    assert diagnostics, "definition was accepted"
    return invalid_definition_message(text, diagnostics)


def machine(states: dict[str, Any], start: str | None = None, **top: Any) -> dict[str, Any]:
    return {"StartAt": start or next(iter(states)), "States": states, **top}


PASS_END = {"Type": "Pass", "End": True}


# --------------------------------------------------------------------------- corpus cases


def test_missing_states_field() -> None:
    message = create_message({"Comment": "BASE_INVALID_DER", "StartAt": "State_1"})
    assert (
        message == PREFIX + "'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'"
    )


@pytest.mark.parametrize(
    "stamp",
    [
        "05-12-2016T21:29:29Z",
        "2016-12-05T25:29:29Z",
        "2016-12-05 21:29:29Z",
        "2016-12-05T21:29:29",
        "{% '2016-03-14T01:59:00Z' %}",  # JSONata syntax in a JSONPath state
    ],
)
def test_wait_timestamp_must_be_rfc3339(stamp: str) -> None:
    definition = machine({"WaitUntil": {"Type": "Wait", "Timestamp": stamp, "End": True}})
    assert create_message(definition) == PREFIX + (
        "'SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp "
        "at /States/WaitUntil/Timestamp'"
    )


@pytest.mark.parametrize("stamp", ["2016-03-14T01:59:00Z", "2016-03-14T01:59:00.123+02:00"])
def test_wait_timestamp_valid(stamp: str) -> None:
    definition = machine({"W": {"Type": "Wait", "Timestamp": stamp, "End": True}})
    assert validate_definition(json.dumps(definition)) == []


@pytest.mark.parametrize(
    "value",
    [
        'States.StringToJson(\'{"text":"An \\"escaped double quote\\" here"}\')',
        "States.Format('He said, \\\"Hello, {}!\\\"', 'Test \\\"Name\\\" Here')",
        "not a path",
    ],
)
def test_dollar_value_must_be_path_or_intrinsic(value: str) -> None:
    state = {"Type": "Pass", "Parameters": {"parsed.$": value}, "End": True}
    assert create_message(machine({"IntrinsicEscape": state})) == PREFIX + (
        "'SCHEMA_VALIDATION_FAILED: The value for the field 'parsed.$' must be a valid JSONPath "
        "or a valid intrinsic function call at /States/IntrinsicEscape/Parameters'"
    )


def test_valid_dollar_values_are_accepted() -> None:
    parameters = {
        "a.$": "$.x[0].y",
        "b.$": "$$.Execution.Id",
        "c.$": "States.Format('it\\'s {}', $.name)",
        "nested": {"d.$": "States.Array(1, 'two', States.UUID())"},
    }
    state = {"Type": "Pass", "Parameters": parameters, "End": True}
    assert validate_definition(json.dumps(machine({"P": state}))) == []


def test_unrecognised_optimized_integration() -> None:
    state = {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:query", "End": True}
    assert create_message(machine({"Query": state})) == PREFIX + (
        "'SCHEMA_VALIDATION_FAILED: The resource provided arn:aws:states:::dynamodb:query is not "
        "recognized. The value is not a valid resource ARN, or the resource is not available in "
        "this region. at /States/Query/Resource'"
    )


def test_express_rejects_sync_and_callbacks() -> None:
    sync = {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync", "End": True}
    assert create_message(machine({"StartExecution": sync}), "EXPRESS") == PREFIX + (
        "'SCHEMA_VALIDATION_FAILED: Express state machine does not support '.sync' service "
        "integration at /States/StartExecution/Resource'"
    )
    token = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
        "End": True,
    }
    # AWS's message has two spaces before "at".
    assert create_message(machine({"Publish": token}), "EXPRESS") == PREFIX + (
        "'SCHEMA_VALIDATION_FAILED: Express state machine does not support '.waitForTaskToken' "
        "service integration  at /States/Publish/Resource'"
    )
    assert validate_definition(json.dumps(machine({"S": sync})), "STANDARD") == []


def test_express_rejects_activities() -> None:
    # Express workflows have no activity workers: AWS refuses the machine at creation.
    activity = "arn:aws:states:us-east-1:123456789012:activity:work"
    work = {"Type": "Task", "Resource": activity, "End": True}
    assert create_message(machine({"Work": work}), "EXPRESS") == PREFIX + (
        "'SCHEMA_VALIDATION_FAILED: Express state machine does not support Activity ARN "
        "at /States/Work/Resource'"
    )
    assert validate_definition(json.dumps(machine({"Work": work})), "STANDARD") == []


def map_with_label(label: str) -> str:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "IteratorInner",
        "States": {"IteratorInner": PASS_END},
    }
    state = {"Type": "Map", "ItemProcessor": processor, "Label": label, "End": True}
    return json.dumps(
        {"Comment": "MAP_STATE_LABEL_JSON", "StartAt": "MapState", "States": {"MapState": state}}
    )


@pytest.mark.parametrize(
    ("label", "args"),
    [
        ("", "['Label cannot be empty']"),
        ("label_ ", "[\"Label contains invalid character: ' '\"]"),
        ('label_"', "['Label contains invalid character: \\'\"\\'']"),
        ("label_\x00", "[\"Label contains invalid character: '\\\\x00'\"]"),
        ("label_\\", "[\"Label contains invalid character: '\\\\\\\\'\"]"),
        ("label_\x9f", "[\"Label contains invalid character: '\\\\x9f'\"]"),
        ("1234567890" * 4 + "1", "['Label cannot exceed 40 characters']"),
    ],
)
def test_label_errors_echo_the_definition(label: str, args: str) -> None:
    definition = map_with_label(label)
    expected = f"Error=ValueError Args={args} in definition '{definition}'."
    assert create_message(definition) == expected


def test_valid_label_is_accepted() -> None:
    assert validate_definition(map_with_label("my-label_01")) == []


def test_validate_whitespace_definition() -> None:
    assert validate_response(" ") == {
        "result": "FAIL",
        "diagnostics": [
            {
                "code": "SCHEMA_VALIDATION_FAILED",
                "message": "Definition must be a valid JSON object",
                "severity": "ERROR",
            }
        ],
        "truncated": False,
    }


def test_validate_not_json() -> None:
    where = '[Source: (String)"not a definition"; line: 1, column: 4]'
    assert validate_response("not a definition")["diagnostics"] == [
        {
            "code": "INVALID_JSON_DESCRIPTION",
            "location": where,
            "message": "Unrecognized token 'not': was expecting (JSON String, Number, Array, "
            f"Object or token 'null', 'true' or 'false')\n at {where}",
            "severity": "ERROR",
        }
    ]


def test_query_language_downgrade_is_refused() -> None:
    definition = machine(
        {"Pass": {**PASS_END, "QueryLanguage": "JSONPath"}}, QueryLanguage="JSONata"
    )
    assert validate_definition(json.dumps(definition)) == [
        Diagnostic(
            "SCHEMA_VALIDATION_FAILED",
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            "/States/Pass",
        )
    ]


def test_query_language_upgrade_per_state_is_accepted() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "INLINE"},
        "StartAt": "Pass",
        "States": {"Pass": {**PASS_END, "QueryLanguage": "JSONPath"}},
    }
    state = {"Type": "Map", "QueryLanguage": "JSONata", "ItemProcessor": processor, "End": True}
    definition = json.dumps(machine({"Map": state}, QueryLanguage="JSONPath"))
    assert validate_response(definition, "EXPRESS") == {
        "result": "OK",
        "diagnostics": [],
        "truncated": False,
    }


# --------------------------------------------------------------------------- graph rules


def test_missing_target_and_unreachable_state_are_joined() -> None:
    # Recorded from AWS in localstack/localstack#12487.
    states = {
        "pass1": {"Type": "Pass", "Next": "pass3"},
        "pass2": PASS_END,
    }
    assert create_message(machine(states)) == PREFIX + (
        "'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next, "
        'MISSING_TRANSITION_TARGET: State "pass2" is not reachable. at /States/pass2\''
    )


def test_catch_and_choice_targets_make_states_reachable() -> None:
    states = {
        "T": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}],
            "Next": "C",
        },
        "C": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.x", "NumericGreaterThan": 1, "Next": "Done"}],
            "Default": "Fail",
        },
        "Handler": PASS_END,
        "Done": {"Type": "Succeed"},
        "Fail": {"Type": "Fail", "Error": "E", "Cause": "c"},
    }
    assert validate_definition(json.dumps(machine(states))) == []


def test_unknown_state_field() -> None:
    # AWS's message as quoted from a failed CloudFormation deployment.
    state = {**PASS_END, "_comment_concurrency": "x"}
    assert validate_definition(json.dumps(machine({"ScoreBatchMap": state}))) == [
        Diagnostic(
            "SCHEMA_VALIDATION_FAILED",
            "Field '_comment_concurrency' is not supported",
            "/States/ScoreBatchMap",
        )
    ]


# --------------------------------------------------------------------------- Retry / Catch


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True, **fields}


def test_states_all_must_be_alone_and_last() -> None:
    retry = [{"ErrorEquals": ["States.ALL", "X"]}, {"ErrorEquals": ["Y"]}]
    found = validate_definition(json.dumps(machine({"T": task(Retry=retry)})))
    assert [(d.message, d.location) for d in found] == [
        ("States.ALL must appear alone and at end of list", "/States/T/Retry[0]/ErrorEquals")
    ]


def test_empty_error_equals_and_bad_backoff() -> None:
    retry = [{"ErrorEquals": [], "BackoffRate": 0.5, "JitterStrategy": "SOME"}]
    found = validate_definition(json.dumps(machine({"T": task(Retry=retry)})))
    assert [d.location for d in found] == [
        "/States/T/Retry[0]/BackoffRate",
        "/States/T/Retry[0]/JitterStrategy",
        "/States/T/Retry[0]/ErrorEquals",
    ]
    assert found[2].message == "Value cannot be empty"


def test_valid_retry_and_catch() -> None:
    retry = [
        {
            "ErrorEquals": ["States.Timeout"],
            "IntervalSeconds": 1,
            "MaxAttempts": 0,
            "BackoffRate": 1.0,
        },
        {"ErrorEquals": ["States.ALL"], "MaxDelaySeconds": 5, "JitterStrategy": "FULL"},
    ]
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "H", "ResultPath": "$.error"}]
    states = {"T": task(Retry=retry, Catch=catch), "H": PASS_END}
    assert validate_definition(json.dumps(machine(states))) == []


# --------------------------------------------------------------------------- response shape


def test_validate_response_truncates_and_reports_fail() -> None:
    states = {f"S{i}": {"Type": "Pass", "Next": f"Missing{i}"} for i in range(5)}
    response = validate_response(json.dumps(machine(states)), max_results=2)
    assert response["result"] == "FAIL"
    assert response["truncated"] is True
    assert len(response["diagnostics"]) == 2
    assert response["diagnostics"][0]["location"] == "/States/S0/Next"


def test_jsonpath_fields_refused_in_jsonata_state() -> None:
    state = {**PASS_END, "InputPath": "$.a"}
    found = validate_definition(json.dumps(machine({"P": state}, QueryLanguage="JSONata")))
    assert [d.location for d in found] == ["/States/P"]
    assert "'InputPath'" in found[0].message


def test_jsonata_top_level_field_reference_is_refused() -> None:
    """AWS's message as quoted in floci-io/floci#2670 (recorded against AWS): a JSONata
    expression has no context item, so a bare field name at its top level is refused."""
    definition = machine(
        {"E": {"Type": "Pass", "Output": {"v": "{% phone %}"}, "End": True}},
        QueryLanguage="JSONata",
    )
    assert create_message(definition) == (
        PREFIX + "'UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level "
        "is not supported. at /States/E/Output/v'"
    )


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("{% phone.number %}", ["phone"]),
        ("{% $count(items) & label %}", ["items", "label"]),
        ("{% flag ? a : a %}", ["flag", "a"]),
    ],
)
def test_jsonata_top_level_references_found_anywhere(expression: str, names: list[str]) -> None:
    states = {
        "C": {
            "Type": "Choice",
            "Choices": [{"Condition": "{% $states.input.ok %}", "Next": "P"}],
            "Default": "P",
        },
        "P": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Assign": {"x": [expression]},
            "End": True,
        },
    }
    found = validate_definition(json.dumps(machine(states, QueryLanguage="JSONata")))
    assert [(d.code, d.message, d.location) for d in found] == [
        (
            "UNSUPPORTED_JSONATA_EXPRESSION",
            f"Reference to '{name}' at the top level is not supported.",
            "/States/P/Assign/x/0",
        )
        for name in names
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "{% $states.input.phone %}",
        "{% $states.input.items[price > 5].name %}",
        "{% $map($states.input, function($v) { $v.id }) %}",
        "{% $x.y %}",
        "{% 'phone' %}",
        "{% $states.input.(a + b) %}",
    ],
)
def test_jsonata_references_in_a_context_are_accepted(expression: str) -> None:
    definition = machine(
        {"P": {"Type": "Pass", "Output": expression, "End": True}}, QueryLanguage="JSONata"
    )
    assert validate_definition(json.dumps(definition)) == []


def test_a_comment_is_not_read_as_jsonata() -> None:
    rule = {"Condition": "{% $states.input.ok %}", "Comment": "{% phone %}", "Next": "P"}
    states = {
        "C": {"Type": "Choice", "Comment": "{% phone %}", "Choices": [rule], "Default": "P"},
        "P": {"Type": "Pass", "Output": {"Comment": "{% $states.input.c %}"}, "End": True},
    }
    assert validate_definition(json.dumps(machine(states, QueryLanguage="JSONata"))) == []


def test_jsonpath_states_are_not_read_as_jsonata() -> None:
    definition = machine({"P": {"Type": "Pass", "Result": "{% phone %}", "End": True}})
    assert validate_definition(json.dumps(definition)) == []


def test_jsonata_syntax_errors_are_refused_at_creation() -> None:
    """AWS refuses an expression that does not parse (INVALID_JSONATA_EXPRESSION, as
    floci-io/floci#2670 and #2745 record it) instead of failing the execution later;
    the message is the parser's, without JSONata's error code."""
    definition = machine(
        {"E": {"Type": "Pass", "Output": {"v": "{% 1 + %}"}, "End": True}},
        QueryLanguage="JSONata",
    )
    [found] = validate_definition(json.dumps(definition))
    assert (found.code, found.message, found.location) == (
        "INVALID_JSONATA_EXPRESSION",
        "Unexpected end of expression",
        "/States/E/Output/v",
    )


def test_jsonata_top_level_reference_in_a_choice_rule() -> None:
    rule = {"Condition": "{% flag %}", "Next": "P"}
    states = {
        "C": {"Type": "Choice", "Choices": [rule], "Default": "P"},
        "P": {"Type": "Pass", "End": True},
    }
    [found] = validate_definition(json.dumps(machine(states, QueryLanguage="JSONata")))
    assert (found.code, found.location) == (
        "UNSUPPORTED_JSONATA_EXPRESSION",
        "/States/C/Choices/0/Condition",
    )
