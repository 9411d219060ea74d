"""Choice Rules: every operator, AWS's type semantics, errors and definition checks.

Expected results marked "recorded" come from the AWS-recorded conformance corpus
(category ``choice_operators``); the others from the AWS documentation of Choice states.
"""

from __future__ import annotations

from typing import Any

import pytest

from opensfn.asl.choice import OPERATORS, ChoiceRule, compile_choice_rule
from opensfn.errors import DefinitionError, WorkflowError

INVALID = "The choice state's condition path references an invalid value."


def rule(**fields: Any) -> ChoiceRule:
    return compile_choice_rule({**fields, "Next": "Yes"}, "/States/C/Choices/0")


def check(fields: dict[str, Any], value: Any) -> bool:
    return rule(Variable="$.Variable", **fields).matches({"Variable": value}, {}, {})


# Values the recorded cases throw at every type test.
_SAMPLES: list[Any] = [
    None,
    "",
    " ",
    "HelloWorld",
    "2012-10-09T19:00:55",
    "2012-10-09T19:00:55Z",
    "2012-10-09T19:00:55+01:00",
    "2023-02-24",
    [],
    [""],
    {},
    {"A": 0},
    0,
    0.0,
    1,
    1.1,
    True,
    False,
]


@pytest.mark.parametrize("value", _SAMPLES, ids=repr)
def test_type_tests_recorded(value: Any) -> None:
    is_bool = isinstance(value, bool)
    is_number = isinstance(value, int | float) and not is_bool
    expected = {
        "IsNull": value is None,
        "IsBoolean": is_bool,
        "IsNumeric": is_number,
        "IsString": isinstance(value, str),
        "IsTimestamp": value in ("2012-10-09T19:00:55Z", "2012-10-09T19:00:55+01:00"),
    }
    for op, want in expected.items():
        assert check({op: True}, value) is want, op
        assert check({op: False}, value) is (not want), op


@pytest.mark.parametrize("value", _SAMPLES, ids=repr)
def test_boolean_equals_only_matches_booleans_recorded(value: Any) -> None:
    assert check({"BooleanEquals": True}, value) is (value is True)
    assert check({"BooleanEquals": False}, value) is (value is False)
    for other in (True, False):
        got = rule(Variable="$.Variable", BooleanEqualsPath="$.Value").matches(
            {"Variable": value, "Value": other}, {}, {}
        )
        assert got is (isinstance(value, bool) and value is other)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (0, 0, True),
        (0.0, 0, True),
        (0, 0.0, True),
        (1, 1.0, True),
        (2.22, 2.22, True),
        (1.1, 1, False),
        (0.0, 1.0, False),
        (True, 1, False),  # booleans are not numbers
        (False, 0, False),
        ("", 0, False),
        (None, 0, False),
        ([], 0, False),
        ({"A": 0}, 0, False),
    ],
)
def test_numeric_equals_path_recorded(variable: Any, value: Any, expected: bool) -> None:
    r = rule(Variable="$.Variable", NumericEqualsPath="$.Value")
    assert r.matches({"Variable": variable, "Value": value}, {}, {}) is expected
    assert check({"NumericEquals": value}, variable) is expected


@pytest.mark.parametrize(
    ("op", "variable", "value", "expected"),
    [
        ("NumericGreaterThan", 1, 0, True),
        ("NumericGreaterThan", 1, 1, False),
        ("NumericGreaterThan", 0.0, 0, False),
        ("NumericLessThan", 0, 1, True),
        ("NumericLessThan", 1, 1, False),
        ("NumericLessThanEquals", 1, 1, True),
        ("NumericLessThanEquals", 1, 0, False),
        ("NumericGreaterThanEquals", 0.0, 0, True),
        ("NumericGreaterThanEquals", 0, 1, False),
        ("NumericGreaterThan", 10**20, 1e19, True),
        ("NumericLessThan", "0", 1, False),
    ],
)
def test_numeric_ordering_recorded(op: str, variable: Any, value: Any, expected: bool) -> None:
    assert check({op: value}, variable) is expected
    r = rule(Variable="$.Variable", **{op + "Path": "$.Value"})
    assert r.matches({"Variable": variable, "Value": value}, {}, {}) is expected


@pytest.mark.parametrize(
    ("op", "variable", "value", "expected"),
    [
        ("StringEquals", "Hello", "Hello", True),
        ("StringEquals", " ", "     ", False),
        ("StringEquals", "\t\n", "\t\r\n", False),
        ("StringGreaterThan", "", "", False),
        ("StringGreaterThan", "A", "A ", False),
        ("StringGreaterThan", "A", "A\t\n\r", False),
        ("StringGreaterThan", "AB", "ABC", False),
        ("StringGreaterThan", "ABD", "ABC", True),
        ("StringLessThanEquals", "", "", True),
        ("StringLessThanEquals", "A", "AB", True),
        ("StringLessThanEquals", "AB", "A", False),
        ("StringLessThan", "a", "b", True),
        ("StringGreaterThanEquals", "b", "b", True),
        ("StringLessThan", "B", "a", True),  # code unit order, not alphabetical
        ("StringEquals", 1, "1", False),
        ("StringLessThan", None, "a", False),
    ],
)
def test_string_comparisons(op: str, variable: Any, value: Any, expected: bool) -> None:
    assert check({op: value}, variable) is expected
    r = rule(Variable="$.Variable", **{op + "Path": "$.Value"})
    assert r.matches({"Variable": variable, "Value": value}, {}, {}) is expected


def test_strings_order_by_utf16_code_unit_like_java() -> None:
    # U+1F600 is the surrogate pair D83D DE00 in UTF-16, which sorts before U+FFFD;
    # by code point it would sort after.
    assert check({"StringLessThan": "\ufffd"}, "\U0001f600") is True
    assert check({"StringGreaterThan": "\ufffd"}, "\U0001f600") is False
    assert check({"StringLessThan": "\U0001f600"}, "\u00e9") is True


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("log-*.txt", "log-2024-01.txt", True),  # the AWS documentation example
        ("log-*.txt", "log-.txt", True),
        ("log-*.txt", "log-1.txt.gz", False),
        ("log-*.txt", "xlog-1.txt", False),
        ("*", "", True),
        ("*", "anything\nat all", True),
        ("", "", True),
        ("", "a", False),
        ("a*b*c", "abc", True),
        ("a*b*c", "aXbYbZc", True),
        ("a*b*c", "acb", False),
        ("ab*ba", "aba", False),  # prefix and suffix may not overlap
        ("*.*.*", "a.b", False),
        (r"literal\*star", "literal*star", True),
        (r"literal\*star", "literalXstar", False),
        (r"back\\slash", "back\\slash", True),
        (r"back\\*", "back\\anything", True),
        ("exact", "exact", True),
        ("exact", "exactly", False),
    ],
)
def test_string_matches(pattern: str, value: str, expected: bool) -> None:
    assert check({"StringMatches": pattern}, value) is expected


def test_string_matches_non_string_is_false() -> None:
    assert check({"StringMatches": "*"}, 1) is False
    assert check({"StringMatches": "*"}, None) is False


@pytest.mark.parametrize(
    ("op", "variable", "literal", "expected"),
    [
        ("TimestampEquals", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55Z", True),
        ("TimestampEquals", "2012-10-09T19:00:55Z", "2012-10-09T19:00:56Z", False),
        ("TimestampEquals", "2012-10-09T20:00:55+01:00", "2012-10-09T19:00:55Z", True),
        ("TimestampEquals", "2012-10-09T19:00:55", "2012-10-09T19:00:55Z", False),
        ("TimestampEquals", "2023-02-24 12:15:56.832957", "2012-10-09T19:00:55Z", False),
        ("TimestampEquals", None, "2012-10-09T19:00:55Z", False),
        ("TimestampEquals", 1.1, "2012-10-09T19:00:55Z", False),
        ("TimestampEquals", [""], "2012-10-09T19:00:55Z", False),
        ("TimestampGreaterThan", "2012-10-09T19:00:56Z", "2012-10-09T19:00:55Z", True),
        ("TimestampGreaterThan", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55Z", False),
        ("TimestampLessThan", "2012-10-09T19:00:55Z", "2012-10-09T19:00:56Z", True),
        ("TimestampLessThan", "2012-10-09T19:00:56Z", "2012-10-09T19:00:55Z", False),
        ("TimestampLessThanEquals", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55Z", True),
        ("TimestampLessThanEquals", "2012-10-09T19:00:56Z", "2012-10-09T19:00:55Z", False),
        ("TimestampGreaterThanEquals", "2012-10-09T19:00:55.001Z", "2012-10-09T19:00:55Z", True),
    ],
)
def test_timestamps(op: str, variable: Any, literal: str, expected: bool) -> None:
    assert check({op: literal}, variable) is expected
    r = rule(Variable="$.Variable", **{op + "Path": "$.Value"})
    assert r.matches({"Variable": variable, "Value": literal}, {}, {}) is expected


def test_path_operand_of_wrong_type_is_false() -> None:
    r = rule(Variable="$.Variable", TimestampEqualsPath="$.Value")
    assert r.matches({"Variable": "2012-10-09T19:00:55Z", "Value": "not a date"}, {}, {}) is False
    r = rule(Variable="$.Variable", NumericEqualsPath="$.Value")
    assert r.matches({"Variable": 1, "Value": "1"}, {}, {}) is False
    r = rule(Variable="$.Variable", StringEqualsPath="$.Value")
    assert r.matches({"Variable": "null", "Value": None}, {}, {}) is False


# --------------------------------------------------------------------------- presence


def test_is_present() -> None:
    assert rule(Variable="$.a", IsPresent=True).matches({"a": None}, {}, {}) is True
    assert rule(Variable="$.a", IsPresent=True).matches({}, {}, {}) is False
    assert rule(Variable="$.a", IsPresent=False).matches({}, {}, {}) is True
    assert rule(Variable="$.a.b", IsPresent=False).matches({"a": 1}, {}, {}) is True


@pytest.mark.parametrize(
    "fields",
    [
        {"StringEquals": "x"},
        {"NumericEquals": 1},
        {"BooleanEquals": True},
        {"TimestampEquals": "2012-10-09T19:00:55Z"},
        {"IsNull": True},
        {"IsString": False},
        {"StringMatches": "*"},
        {"NumericEqualsPath": "$.other"},
    ],
    ids=lambda f: next(iter(f)),
)
def test_missing_variable_fails_the_state(fields: dict[str, Any]) -> None:
    r = rule(Variable="$.missing", **fields)
    with pytest.raises(WorkflowError) as info:
        r.matches({"other": 1}, {}, {})
    assert info.value.error == "States.Runtime"
    assert info.value.cause == f"Invalid path '$.missing': {INVALID}"
    assert info.value.state_prefix is True


def test_missing_path_operand_fails_the_state() -> None:
    r = rule(Variable="$.left", NumericEqualsPath="$.right")
    with pytest.raises(WorkflowError) as info:
        r.matches({"left": 8}, {}, {})
    assert info.value.error == "States.Runtime"
    assert info.value.cause == f"Invalid path '$.right': {INVALID}"


# --------------------------------------------------------------------------- And / Or / Not


def _docs_rules() -> list[ChoiceRule]:
    """The ChoiceStateX example of the AWS documentation (also a recorded case)."""
    raw = [
        {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
        {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
        {
            "And": [
                {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                {"Variable": "$.value", "NumericLessThan": 30},
            ],
            "Next": "ValueInTwenties",
        },
    ]
    return [compile_choice_rule(r, f"/States/ChoiceStateX/Choices/{i}") for i, r in enumerate(raw)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"type": "Private", "value": 22}, "ValueInTwenties"),  # recorded
        ({"type": "Public", "value": 22}, "Public"),
        ({"type": "Private", "value": 0}, "ValueIsZero"),
        ({"type": "Private", "value": 30}, None),
    ],
)
def test_docs_example(data: dict[str, Any], expected: str | None) -> None:
    chosen = next((r.next for r in _docs_rules() if r.matches(data, {}, {})), None)
    assert chosen == expected


def test_and_stops_at_first_false_so_is_present_guards() -> None:
    # AWS docs: the StringEquals is only evaluated when the IsPresent rule before it holds.
    r = rule(
        And=[
            {"Variable": "$.keyThatMightNotExist", "IsPresent": True},
            {"Variable": "$.keyThatMightNotExist", "StringEquals": "foo"},
        ]
    )
    assert r.matches({}, {}, {}) is False
    assert r.matches({"keyThatMightNotExist": "foo"}, {}, {}) is True


def test_or_stops_at_first_true() -> None:
    r = rule(Or=[{"Variable": "$.a", "IsPresent": False}, {"Variable": "$.a", "NumericEquals": 1}])
    assert r.matches({}, {}, {}) is True
    assert r.matches({"a": 1}, {}, {}) is True
    assert r.matches({"a": 2}, {}, {}) is False


def test_nested_combinators() -> None:
    r = rule(
        Not={
            "Or": [
                {"Variable": "$.n", "NumericLessThan": 0},
                {
                    "And": [
                        {"Variable": "$.n", "IsNumeric": True},
                        {"Not": {"Variable": "$.n", "NumericLessThan": 10}},
                    ]
                },
            ]
        }
    )
    assert [r.matches({"n": n}, {}, {}) for n in (-1, 0, 9, 10)] == [False, True, True, False]
    assert r.operator == "Not" and r.rules[0].operator == "Or" and len(r.rules[0].rules) == 2


def test_missing_variable_inside_not_still_fails() -> None:
    r = rule(Not={"Variable": "$.type", "StringEquals": "Private"})
    with pytest.raises(WorkflowError) as info:
        r.matches({}, {}, {})
    assert info.value.cause == f"Invalid path '$.type': {INVALID}"


# --------------------------------------------------------------------------- roots


def test_context_object_and_variable_paths() -> None:
    ctx = {"Execution": {"Input": {"mode": "fast"}}}
    r = rule(Variable="$$.Execution.Input.mode", StringEquals="fast")
    assert r.matches({}, ctx, {}) is True
    r = rule(Variable="$limit", NumericGreaterThanPath="$.count")
    assert r.matches({"count": 3}, {}, {"limit": 5}) is True
    r = rule(Variable="$cfg.enabled", BooleanEquals=True)
    assert r.matches({}, {}, {"cfg": {"enabled": True}}) is True


def test_undefined_workflow_variable() -> None:
    r = rule(Variable="$undefinedVariable", StringEquals="value")
    with pytest.raises(WorkflowError) as info:
        r.matches({}, {}, {"otherVariable": "value"})
    assert info.value.cause == f"Invalid path '$undefinedVariable': {INVALID}"
    assert rule(Variable="$undefinedVariable", IsPresent=False).matches({}, {}, {}) is True


# --------------------------------------------------------------------------- compiled data


def test_top_level_fields_kept_for_the_interpreter() -> None:
    r = compile_choice_rule(
        {
            "Variable": "$.x",
            "NumericEquals": 1,
            "Next": "N",
            "Assign": {"y.$": "$.x"},
            "Comment": "c",
        },
        "/States/C/Choices/0",
    )
    assert (r.next, r.operator, r.variable, r.operand) == ("N", "NumericEquals", "$.x", 1)
    assert r.assign == {"y.$": "$.x"}
    assert r.condition is None


def test_jsonata_condition_hook() -> None:
    literal = compile_choice_rule({"Condition": True, "Next": "T"}, "/States/C/Choices/0")
    assert literal.condition is True and literal.matches({}, {}, {}) is True
    expr = compile_choice_rule(
        {"Condition": "{% $states.input.ok %}", "Next": "T", "Output": {"a": 1}},
        "/States/C/Choices/0",
    )
    assert expr.condition == "{% $states.input.ok %}"
    assert expr.output == {"a": 1}
    with pytest.raises(NotImplementedError):
        expr.matches({}, {}, {})


def test_every_operator_and_path_form_compiles() -> None:
    literals = {
        "String": "a",
        "Number": 1,
        "Boolean": True,
        "Timestamp": "2012-10-09T19:00:55Z",
    }
    for name, op in OPERATORS.items():
        assert rule(Variable="$.v", **{name: literals[op.expects]}).operator == name
        if op.has_path:
            assert rule(Variable="$.v", **{name + "Path": "$.w"}).operator == name + "Path"
    assert len(OPERATORS) == 23


# --------------------------------------------------------------------------- definition errors


@pytest.mark.parametrize(
    ("raw", "message", "pointer"),
    [
        ({"Variable": "$.x", "NumericEquals": 1}, "These fields are required: [Next]", ""),
        ({"NumericEquals": 1, "Next": "N"}, "These fields are required: [Variable]", ""),
        (
            {"Variable": "$.x", "TimestampEquals": "2012-10-09T19:00:55", "Next": "N"},
            "String does not match RFC3339 timestamp",
            "/TimestampEquals",
        ),
        (
            {"Variable": "$.x", "NumericEquals": "1", "Next": "N"},
            "Expected value of type Number",
            "/NumericEquals",
        ),
        (
            {"Variable": "$.x", "NumericEquals": True, "Next": "N"},
            "Expected value of type Number",
            "/NumericEquals",
        ),
        (
            {"Variable": "$.x", "BooleanEquals": "true", "Next": "N"},
            "Expected value of type Boolean",
            "/BooleanEquals",
        ),
        (
            {"Variable": "$.x", "StringEquals": 1, "Next": "N"},
            "Expected value of type String",
            "/StringEquals",
        ),
        (
            {"Variable": "$.x", "IsNull": "true", "Next": "N"},
            "Expected value of type Boolean",
            "/IsNull",
        ),
        (
            {"Variable": "x", "IsNull": True, "Next": "N"},
            "The value for the field 'Variable' must be a valid JSONPath",
            "/Variable",
        ),
        (
            {"Variable": "$.x", "StringEqualsPath": "nope", "Next": "N"},
            "The value for the field 'StringEqualsPath' must be a valid JSONPath",
            "/StringEqualsPath",
        ),
        (
            {"Variable": "$.x", "StringMatchesPath": "$.y", "Next": "N"},
            "The field 'StringMatchesPath' is not supported by Step Functions",
            "/StringMatchesPath",
        ),
        (
            {"Variable": "$.x", "Foo": 1, "IsNull": True, "Next": "N"},
            "The field 'Foo' is not supported by Step Functions",
            "/Foo",
        ),
        (
            {"And": [{"Variable": "$.x", "IsNull": True, "Next": "N"}], "Next": "N"},
            "The field 'Next' is not supported by Step Functions",
            "/And/0/Next",
        ),
        ({"And": [], "Next": "N"}, "Expected value of type non-empty Array", "/And"),
        ({"Not": [], "Next": "N"}, "Expected value of type Object", "/Not"),
    ],
)
def test_definition_errors(raw: dict[str, Any], message: str, pointer: str) -> None:
    with pytest.raises(DefinitionError) as info:
        compile_choice_rule(raw, "/States/C/Choices/0")
    assert info.value.message == message
    assert info.value.pointer == "/States/C/Choices/0" + pointer


@pytest.mark.parametrize(
    "raw",
    [
        {"Variable": "$.x", "Next": "N"},
        {"Variable": "$.x", "NumericEquals": 1, "StringEquals": "a", "Next": "N"},
        {"Next": "N"},
    ],
)
def test_rule_needs_exactly_one_operator(raw: dict[str, Any]) -> None:
    with pytest.raises(DefinitionError) as info:
        compile_choice_rule(raw, "/States/C/Choices/0")
    assert info.value.pointer == "/States/C/Choices/0"
