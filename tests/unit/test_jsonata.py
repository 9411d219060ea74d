"""The JSONata adapter: AWS's bindings, functions, templates and error texts."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from opensfn.asl.jsonata import (
    Expression,
    check_type,
    compile_expression,
    compile_template,
    is_template,
    json_type,
)
from opensfn.errors import DefinitionError, WorkflowError


class FakeEnv:
    """Deterministic randomness and uuids, counting how often each is drawn."""

    def __init__(self) -> None:
        self.uuids = 0
        self.randoms = 0
        self.new_uuid = self._uuid
        self.random = self._random

    def _uuid(self) -> str:
        self.uuids += 1
        return f"uuid-{self.uuids}"

    def _random(self) -> float:
        self.randoms += 1
        return 0.25


STATES: dict[str, Any] = {
    "input": {"x": 41, "name": "World", "items": [1, 2, 3], "nothing": None},
    "context": {"Execution": {"Name": "exec-1"}, "State": {"Name": "S"}},
}


def evaluate(text: str, variables: dict[str, Any] | None = None, field: str = "Output") -> Any:
    return compile_expression(text, "/States/S/Output").evaluate(
        STATES, variables or {}, FakeEnv(), field
    )


def cause_of(text: str, field: str = "Output", variables: dict[str, Any] | None = None) -> str:
    with pytest.raises(WorkflowError) as info:
        evaluate(text, variables, field)
    assert info.value.error == "States.QueryEvaluationError"
    assert info.value.cause is not None
    return info.value.cause


# --------------------------------------------------------------------------- is_template


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% $states.input %}", True),
        ("{%1%}", True),
        (" {% states.input %} ", False),  # AWS keeps it as a literal string
        ("{% 1", False),
        ("$states.input", False),
        (1, False),
        (None, False),
    ],
)
def test_is_template(value: Any, expected: bool) -> None:
    assert is_template(value) is expected


# --------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$states.input.x + 1", 42),
        ("'Hello, ' & $states.input.name & '!'", "Hello, World!"),
        ("$count($states.input.items)", 3),
        ("$states.context.Execution.Name", "exec-1"),
        ("$states.input.nothing", None),
        ("10 / 4", 2.5),
        ("10 / 2", 5),
        ("{'n': $states.input.x, 'gone': $states.input.nope}", {"n": 41}),
        ("$states.input.items[$ > 1]", [2, 3]),
        ("'$random'", "$random"),  # names inside strings are not rewritten
    ],
)
def test_evaluates_to_json(text: str, expected: Any) -> None:
    result = evaluate(text)
    assert result == expected
    assert type(result) is type(expected)


def test_variables_are_bound_by_name() -> None:
    assert evaluate("$greeting & ' ' & $n", {"greeting": "hi", "n": 2}) == "hi 2"
    assert evaluate("$v", {"v": None}) is None


def test_states_result_and_error_output() -> None:
    states = {**STATES, "result": {"ok": 1}, "errorOutput": {"Error": "E", "Cause": "c"}}
    expr = compile_expression("[$states.result.ok, $states.errorOutput.Error]", "/p")
    assert expr.evaluate(states, {}, FakeEnv(), "Output") == [1, "E"]


def test_compiled_once_and_reused() -> None:
    expr = compile_expression(" $states.input.x * $k ", "/p")
    assert isinstance(expr, Expression)
    assert expr.text == "$states.input.x * $k"
    env = FakeEnv()
    assert [expr.evaluate(STATES, {"k": k}, env, "Output") for k in (1, 2, 3)] == [41, 82, 123]


# --------------------------------------------------------------------------- AWS functions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$partition([1,2,3,4,5], 2)", [[1, 2], [3, 4], [5]]),
        ("$partition([0], 4)", [[0]]),
        ("$range(0, 9, 3)", [0, 3, 6, 9]),
        ("$range(0, 10, 3)", [0, 3, 6, 9]),
        ("$range(1, 9, 9)", 1),  # recorded on AWS: a single value is not wrapped
        ("$range(5, 1, -2)", [5, 3, 1]),
        ("$hash('abc', 'MD5')", hashlib.md5(b"abc").hexdigest()),
        ("$hash('abc', 'SHA-512')", hashlib.sha512(b"abc").hexdigest()),
        ("$parse('-0')", 0),
        ("$parse('[1,2,\"HelloWorld\"]')", [1, 2, "HelloWorld"]),
        ('$parse(\'{"Arg1": 1, "Arg2": []}\')', {"Arg1": 1, "Arg2": []}),
        # java.util.Random(42).nextDouble(): a seed always gives the same number
        ("$random(42)", 0.7275636800328681),
    ],
)
def test_aws_functions(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


def test_random_and_uuid_come_from_the_env() -> None:
    env = FakeEnv()
    expr = compile_expression("[$random(), $uuid(), $uuid()]", "/p")
    assert expr.evaluate(STATES, {}, env, "Output") == [0.25, "uuid-1", "uuid-2"]
    assert (env.randoms, env.uuids) == (1, 2)


def test_bad_hash_algorithm_is_an_evaluation_error() -> None:
    cause = cause_of("$hash('a', 'SHA-3')")
    # a message without a JSONata code follows ": " (AWS: ". CODE: text" when coded)
    assert "threw an error during evaluation: " in cause
    assert "SHA-256" in cause


# --------------------------------------------------------------------------- AWS errors


def test_undefined_result_cause() -> None:
    assert cause_of("$doesNotExist", "Assign/result") == (
        "The JSONata expression '$doesNotExist' specified for the field 'Assign/result' "
        "returned nothing (undefined)."
    )


def test_unknown_function_cause() -> None:
    text = "$randomSeeded($states.input.x)"
    assert cause_of(text, "Output/FunctionResult") == (
        f"The JSONata expression '{text}' specified for the field 'Output/FunctionResult' "
        "threw an error during evaluation. T1006: Attempted to invoke a non-function"
    )


def test_eval_is_not_available() -> None:
    assert cause_of("$eval('1')").endswith("T1006: Attempted to invoke a non-function")


def test_type_error_keeps_code_and_jsonata_text() -> None:
    assert cause_of("$states.input.x + 'a'").endswith(
        "threw an error during evaluation. "
        'T2002: The right side of the "+" operator must evaluate to a number'
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # jsonata-js's wording (its {{token}}/{{type}} rendered as JSON strings), which AWS
        # returns: floci-io/floci#2668 quotes AWS's T0412 for $sum.
        ("$sum(['a'])", 'T0412: Argument 1 of function "sum" must be an array of "numbers"'),
        ("$join([1, 2])", 'T0412: Argument 1 of function "join" must be an array of "strings"'),
        ("'a' - 1", 'T2001: The left side of the "-" operator must evaluate to a number'),
        ("$number('12a')", 'D3030: Unable to cast value to a number: "12a"'),
        (
            "$split(1, ',')",
            'T0410: Argument 1 of function "split" does not match function signature',
        ),
        (
            "$uppercase(1)",
            'T0410: Argument 1 of function "uppercase" does not match function signature',
        ),
        # two functions called: which one failed is not known, the engine's text stays
        ("$count($sum(['a']))", "T0412: Argument 1 of function must be an array of numbers"),
    ],
)
def test_error_causes_use_jsonata_wording(text: str, message: str) -> None:
    assert cause_of(text).endswith(f"threw an error during evaluation. {message}")


@pytest.mark.parametrize("text", ["function($x){$x}", "$fn := function($x){$x}", "1/0"])
def test_non_json_result_is_unsupported(text: str) -> None:
    assert cause_of(text, "Items") == (
        f"The JSONata expression '{text}' specified for the field 'Items' "
        "returned an unsupported result type."
    )


@pytest.mark.parametrize(
    ("text", "kind", "shown"),
    [
        ("1", "number", "1"),
        ("'string'", "string", '"string"'),
        ("{'foo': 'bar'}", "object", '{"foo":"bar"}'),
        ("true", "boolean", "true"),
        ("null", "null", "null"),
    ],
)
def test_check_type_cause(text: str, kind: str, shown: str) -> None:
    expr = compile_expression(text, "/States/M/Items")
    value = expr.evaluate(STATES, {}, FakeEnv(), "Items")
    with pytest.raises(WorkflowError) as info:
        check_type(expr, value, "array", "Items")
    assert info.value.cause == (
        f"The JSONata expression '{text}' specified for the field 'Items' returned an "
        f"unexpected result type. Expected 'array', but was '{kind}' for value: {shown}"
    )


def test_check_type_accepts_the_expected_type() -> None:
    expr = compile_expression("[1]", "/p")
    check_type(expr, [1], "array", "Items")
    assert [json_type(v) for v in ({}, [], "", 1.5, False, None)] == [
        "object",
        "array",
        "string",
        "number",
        "boolean",
        "null",
    ]


@pytest.mark.parametrize("text", ["1 +", "(", "$states.input.", "{'a': }"])
def test_syntax_error_is_a_definition_error(text: str) -> None:
    with pytest.raises(DefinitionError) as info:
        compile_expression(text, "/States/S/Output")
    assert info.value.pointer == "/States/S/Output"
    assert f"'{text}'" in info.value.message


# --------------------------------------------------------------------------- templates


def test_template_evaluates_nested_expressions() -> None:
    template = compile_template(
        {
            "n": "{% $states.input.x %}",
            "list": [1, "{% $v %}", {"deep": "{% $uppercase($states.input.name) %}"}],
            "literal": " {% states.input %} ",
            "const": {"a": [1, 2]},
        },
        "/States/S/Output",
        "Output",
    )
    assert not template.is_constant
    assert template.evaluate(STATES, {"v": "var"}, FakeEnv()) == {
        "n": 41,
        "list": [1, "var", {"deep": "WORLD"}],
        "literal": " {% states.input %} ",
        "const": {"a": [1, 2]},
    }


def test_template_names_the_failing_member() -> None:
    template = compile_template({"result": "{% $doesNotExist %}"}, "/States/S/Output", "Output")
    with pytest.raises(WorkflowError) as info:
        template.evaluate(STATES, {}, FakeEnv())
    assert info.value.cause == (
        "The JSONata expression '$doesNotExist' specified for the field 'Output/result' "
        "returned nothing (undefined)."
    )


def test_template_whole_value_expression_and_constants() -> None:
    whole = compile_template("{% $states.input.items %}", "/States/S/Items", "Items")
    assert whole.evaluate(STATES, {}, FakeEnv()) == [1, 2, 3]
    constant = compile_template({"a": [None, 0.1, "$x"]}, "/p", "Output")
    assert constant.is_constant
    assert constant.evaluate(STATES, {}, FakeEnv()) == {"a": [None, 0.1, "$x"]}


def test_template_syntax_error_points_at_the_member() -> None:
    with pytest.raises(DefinitionError) as info:
        compile_template({"a/b": {"c": "{% 1 + %}"}}, "/States/S/Arguments", "Arguments")
    assert info.value.pointer == "/States/S/Arguments/a~1b/c"


# --------------------------------------------------------------------------- CPU budget


def test_a_runaway_expression_fails_when_the_steps_cpu_budget_is_spent() -> None:
    """Unbounded work ends as States.QueryEvaluationError (Catch and Retry apply) instead
    of holding the server's event loop; the next step has a whole budget again."""
    import time

    from opensfn.asl.jsonata import STEP_BUDGET

    runaway = compile_expression(
        "$sum($map([1..9999999], function($x){$count([1..9999999])}))", "/"
    )
    quick = compile_expression("$states.input.x + 1", "/")
    saved = STEP_BUDGET.seconds
    STEP_BUDGET.seconds = 0.3
    try:
        began = time.process_time()
        with STEP_BUDGET, pytest.raises(WorkflowError) as caught:
            runaway.evaluate(STATES, {}, FakeEnv(), "Output")
        assert time.process_time() - began < 3
        assert caught.value.error == "States.QueryEvaluationError"
        assert caught.value.cause == (
            f"The JSONata expression '{runaway.text}' specified for the field 'Output' threw an "
            "error during evaluation: it ran past opensfn's limit of 0.3 seconds of CPU time "
            "for one step (--expression-cpu-limit)"
        )
        with STEP_BUDGET:
            assert quick.evaluate(STATES, {}, FakeEnv(), "Output") == 42
        assert quick.evaluate(STATES, {}, FakeEnv(), "Output") == 42  # (no budget armed)
        # Within one step the budget is renewed once, for what handles the failure (a
        # Catch's Output); a second overrun leaves the rest of the step without one.
        with STEP_BUDGET:
            for attempt in range(2):
                with pytest.raises(WorkflowError):
                    runaway.evaluate(STATES, {}, FakeEnv(), "Output")
                if attempt == 0:
                    assert quick.evaluate(STATES, {}, FakeEnv(), "Output") == 42
            with pytest.raises(WorkflowError, match=r"limit of 0\.3 seconds"):
                quick.evaluate(STATES, {}, FakeEnv(), "Output")
        assert time.process_time() - began < 5
    finally:
        STEP_BUDGET.seconds = saved
