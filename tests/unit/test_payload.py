"""Payload templates and the InputPath / ResultPath / OutputPath steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from opensfn.asl.jsonpath import compile_path
from opensfn.asl.payload import (
    apply_input_path,
    apply_output_path,
    apply_result_path,
    compile_expression,
    compile_template,
    evaluate_expression,
)
from opensfn.errors import DefinitionError, WorkflowError


class FakeEnv:
    @property
    def new_uuid(self) -> Callable[[], str]:
        return lambda: "uuid-1"

    @property
    def random(self) -> Callable[[], float]:
        return lambda: 0.0


ENV = FakeEnv()
CONTEXT = {"Execution": {"Input": {"input-value": 0}}, "State": {"Name": "S"}}


def build(template: Any, data: Any, variables: Any = None, field: str = "Parameters") -> Any:
    return compile_template(template, field).evaluate(data, CONTEXT, variables or {}, ENV)


# --------------------------------------------------------------------------- templates


def test_template_mixes_literals_paths_context_and_intrinsics() -> None:
    # recorded: IO_PASS_STATE (TestState inspection data)
    template = {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"}
    data = {"fieldFromInput": "value from input", "otherField": "other"}
    assert build(template, data) == {"staticValue": "some value", "inputValue": "value from input"}
    template2 = {
        "nested": {"a.$": "$$.State.Name", "list": [1, {"b.$": "$.n"}, "$.literal"]},
        "f.$": "States.Format('n={}', $.n)",
        "whole.$": "$",
        "v.$": "$var",
    }
    assert build(template2, {"n": 2}, {"var": [1]}) == {
        "nested": {"a": "S", "list": [1, {"b": 2}, "$.literal"]},
        "f": "n=2",
        "whole": {"n": 2},
        "v": [1],
    }


def test_values_without_dollar_suffix_are_literal() -> None:
    # recorded: ESCAPE_SEQUENCES_STRING_LITERALS / BASE_VAR (nothing is evaluated)
    template = {"p": "$", "i": "States.Format('{}', $varname)", "c": "$$", "key.$x": 1, "n": None}
    assert build(template, {"a": 1}) == template


def test_static_template_is_returned_without_copying() -> None:
    template = {"Comment": "Comment text", "comment": "comment text", "constant": "constant text"}
    compiled = compile_template(template, "Parameters")
    assert compiled.evaluate({}, CONTEXT, {}, ENV) == template


def test_indefinite_path_in_template_gives_list() -> None:
    assert build({"item.$": "$.items[*].itemValue"}, {}) == {"item": []}
    assert build(
        {"FromInput.$": "$.users[?(@.status == 0)]"}, {"users": [{"status": 0}, {"status": 1}]}
    ) == {"FromInput": [{"status": 0}]}


@pytest.mark.parametrize(
    ("template", "cause"),
    [
        # recorded: INVALID_JSONPATH_IN_STRING_EXPR_JSONPATH / _CONTEXTPATH
        (
            {"value.$": "$.no_such_jsonpath"},
            "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be "
            "found in the input '{\"int-literal\":0}'",
        ),
        (
            {"value.$": "$$.Execution.Input.no_such_jsonpath"},
            "The JSONPath '$$.Execution.Input.no_such_jsonpath' specified for the field "
            "'value.$' could not be found in the input '{\"int-literal\":0}'",
        ),
        (
            {"deep": [{"f.$": "States.Format('{}', $.missing)"}]},
            "The JSONPath '$.missing' specified for the field 'f.$' could not be found in the "
            "input '{\"int-literal\":0}'",
        ),
    ],
)
def test_missing_path_in_template_fails_with_aws_cause(template: Any, cause: str) -> None:
    with pytest.raises(WorkflowError) as info:
        build(template, {"int-literal": 0})
    assert info.value.error == "States.Runtime"
    assert info.value.cause == cause
    assert info.value.state_prefix


def test_intrinsic_failure_propagates_from_template() -> None:
    with pytest.raises(WorkflowError) as info:
        build({"x.$": "States.ArrayGetItem($.a, 3)"}, {"a": []})
    assert info.value.error == "States.IntrinsicFailure"


@pytest.mark.parametrize(
    ("template", "pointer"),
    [
        ({"parsed.$": "States.StringToJson('{\\\"a\\\": 1}')"}, "/Parameters"),
        ({"nested": {"x.$": "not a path"}}, "/Parameters/nested"),
        ({"x.$": 3}, "/Parameters"),
        ({"x.$": "$.a["}, "/Parameters"),
    ],
)
def test_invalid_dynamic_values_are_definition_errors(template: Any, pointer: str) -> None:
    with pytest.raises(DefinitionError) as info:
        compile_template(template, "Parameters")
    field = next(k for k in _keys(template) if k.endswith(".$"))
    # recorded (ESCAPE_SEQUENCES_ILLEGAL_INTRINSIC_FUNCTION), AWS puts it at the template
    assert info.value.message == (
        f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"
    )
    assert info.value.pointer == pointer


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for key, sub in value.items() for k in [key, *_keys(sub)]]
    return []


def test_expression_for_fail_state_fields() -> None:
    # recorded: test_state_fail_intrinsic / INVALID_JSONPATH_IN_ERRORPATH
    data = {"Error": "error string", "Cause": "cause string"}
    cause = compile_expression(
        "States.Format('This is a custom error message for {}, caused by {}.', $.Error, $.Cause)",
        "CausePath",
    )
    assert (
        evaluate_expression(cause, "CausePath", data, CONTEXT, {}, ENV)
        == "This is a custom error message for error string, caused by cause string."
    )
    with pytest.raises(WorkflowError) as info:
        evaluate_expression(
            compile_expression("$.ErrorX", "ErrorPath"),
            "ErrorPath",
            {"Error": "e"},
            CONTEXT,
            {},
            ENV,
        )
    assert info.value.cause == (
        "The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found in the input '{\"Error\":\"e\"}'"
    )


# --------------------------------------------------------------------------- InputPath / OutputPath


def test_input_path_selects_and_null_gives_empty_object() -> None:
    data = {"initialData": {"fieldFromInput": "v"}, "x": 1}
    assert apply_input_path(compile_path("$.initialData"), data, CONTEXT, {}) == {
        "fieldFromInput": "v"
    }
    assert apply_input_path(compile_path("$"), data, CONTEXT, {}) is data
    assert apply_input_path(None, data, CONTEXT, {}) == {}
    assert apply_output_path(None, data, CONTEXT, {}) == {}
    assert apply_input_path(compile_path("$$.Execution.Input"), data, CONTEXT, {}) == {
        "input-value": 0
    }
    assert apply_output_path(compile_path("$theAnswer"), data, CONTEXT, {"theAnswer": 42}) == 42


@pytest.mark.parametrize(
    ("path", "data", "cause"),
    [
        # recorded: INVALID_JSONPATH_IN_INPUTPATH and test_catch_states_runtime (OutputPath)
        (
            "$.NoSuchInputPath",
            {"int-literal": 0},
            "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']",
        ),
        (
            "$.no.such.result.path",
            {},
            "Invalid path '$.no.such.result.path' : Missing property in path $['no']",
        ),
    ],
)
def test_unresolved_input_or_output_path(path: str, data: Any, cause: str) -> None:
    for apply in (apply_input_path, apply_output_path):
        with pytest.raises(WorkflowError) as info:
            apply(compile_path(path), data, CONTEXT, {})
        assert (info.value.error, info.value.cause, info.value.state_prefix) == (
            "States.Runtime",
            cause,
            True,
        )


# --------------------------------------------------------------------------- ResultPath


def test_result_path_null_dollar_and_merge() -> None:
    state_input = {"initialData": {"a": 1}, "unrelatedData": {"b": 2}}
    result = {"staticValue": "some value"}
    assert apply_result_path(None, state_input, result) is state_input
    assert apply_result_path("$", state_input, result) is result
    # recorded: IO_PASS_STATE afterResultPath
    assert apply_result_path("$.modifiedData", state_input, result) == {
        "initialData": {"a": 1},
        "unrelatedData": {"b": 2},
        "modifiedData": result,
    }
    assert state_input == {"initialData": {"a": 1}, "unrelatedData": {"b": 2}}  # not mutated


def test_result_path_creates_missing_objects_and_replaces_values() -> None:
    state_input = {"a": {"keep": 1, "b": "old"}, "list": [0, {"x": 1}]}
    assert apply_result_path("$.a.b", state_input, 5) == {
        "a": {"keep": 1, "b": 5},
        "list": [0, {"x": 1}],
    }
    assert apply_result_path("$.n.m.o", {}, 1) == {"n": {"m": {"o": 1}}}
    assert apply_result_path("$.list[1].y", state_input, 2)["list"] == [0, {"x": 1, "y": 2}]
    assert state_input == {"a": {"keep": 1, "b": "old"}, "list": [0, {"x": 1}]}


@pytest.mark.parametrize(
    ("path", "state_input"),
    [("$.a", "text"), ("$.a.b", {"a": 3}), ("$.l[5]", {"l": []}), ("$.a", [1])],
)
def test_result_path_that_cannot_be_applied(path: str, state_input: Any) -> None:
    with pytest.raises(WorkflowError) as info:
        apply_result_path(path, state_input, 1)
    assert info.value.error == "States.ResultPathMatchFailure"


@pytest.mark.parametrize("path", ["$.a[*]", "$..a", "$$.Execution", "$var.x", "nope"])
def test_result_path_must_be_a_reference_path(path: str) -> None:
    with pytest.raises(DefinitionError):
        apply_result_path(path, {}, 1)
