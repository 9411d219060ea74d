"""The 18 intrinsic functions: parsing, values recorded against AWS, failures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from opensfn.asl.intrinsic_functions import JavaRandom, java_number
from opensfn.asl.intrinsics import compile_intrinsic
from opensfn.asl.jsonpath import PathNotFound
from opensfn.errors import DefinitionError, WorkflowError


@dataclass
class FakeEnv:
    uuids: list[str] = field(default_factory=lambda: ["11111111-2222-3333-4444-555555555555"])
    value: float = 0.5

    @property
    def new_uuid(self) -> Callable[[], str]:
        return lambda: self.uuids.pop(0)

    @property
    def random(self) -> Callable[[], float]:
        return lambda: self.value


def run(expr: str, data: Any = None, context: Any = None, variables: Any = None) -> Any:
    call = compile_intrinsic(expr)
    return call.evaluate(data, context or {}, variables or {}, FakeEnv())


def fn(name: str, fst: Any, snd: Any = None, trd: Any = None) -> Any:
    """Call ``name`` on the corpus's ``$.FunctionInput.{fst,snd,trd}`` arguments."""
    arity = {1: "$.FunctionInput.fst", 2: "$.FunctionInput.fst, $.FunctionInput.snd"}
    args = {"fst": fst, "snd": snd, "trd": trd}
    count = 3 if trd is not None else (2 if snd is not None or name in TWO_ARGS else 1)
    text = arity.get(count, "$.FunctionInput.fst, $.FunctionInput.snd, $.FunctionInput.trd")
    return run(f"States.{name}({text})", {"FunctionInput": args})


TWO_ARGS = {"ArrayContains", "ArrayPartition", "MathAdd", "Hash", "ArrayGetItem"}


# Values recorded against AWS (category intrinsic_functions).
@pytest.mark.parametrize(
    ("fst", "snd", "expected"),
    [
        ([], None, False),
        ([], [], False),
        ([], 1, False),
        ([[1, 2, 3], 2], None, False),
        ([[1, 2, 3], 2], [1, 2, 3], True),
        ([{"1": 2, "2": []}], [], False),
        ([{"1": 2, "2": []}], {"1": 2, "2": []}, True),
        ([True, False], True, True),
        ([True, False], False, True),
        ([1], True, False),  # JSON equality: true is not 1
    ],
)
def test_array_contains(fst: Any, snd: Any, expected: bool) -> None:
    assert fn("ArrayContains", fst, snd) is expected


@pytest.mark.parametrize(
    ("items", "size", "expected"),
    [
        ([], 1, []),
        ([0, 1], 1, [[0], [1]]),
        ([0, 1, 2], 2, [[0, 1], [2]]),
        ([0, 1, 2, 3], 3, [[0, 1, 2], [3]]),
        ([0, 1, 2, 3], 5, [[0, 1, 2, 3]]),
    ],
)
def test_array_partition(items: list[int], size: int, expected: Any) -> None:
    assert fn("ArrayPartition", items, size) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((0, 9, 3), [0, 3, 6, 9]),
        ((0, 10, 3), [0, 3, 6, 9]),
        ((1, 9, 9), [1]),
        ((1, 9, 2), [1, 3, 5, 7, 9]),
        ((5, 1, -2), [5, 3, 1]),
    ],
)
def test_array_range(args: tuple[int, int, int], expected: list[int]) -> None:
    assert fn("ArrayRange", *args) == expected


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("SHA-256", "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
        (
            "SHA-384",
            "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
        ),
        (
            "SHA-512",
            "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
        ),
    ],
)
def test_hash(algorithm: str, digest: str) -> None:
    assert fn("Hash", "input data", algorithm) == digest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        (" ", None),
        ("null", None),
        ("-0", 0),
        ("1", 1),
        ("1.1", 1.1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
    ],
)
def test_string_to_json(text: str, expected: Any) -> None:
    result = fn("StringToJson", text)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("fst", "snd", "expected"),
    [
        (-9, 3, -6),
        (1.49, 1.5, 3),
        (1.5, 1.51, 4),
        (-1.49, -1.5, -2),
        (-1.5, -1.51, -3),
        (-0.5, 0.5, 1),
        (-0.5, 0, 0),
        (-2.5, 0, -2),
        (2.5, 0, 3),
        (1.49, -1.49, 0),
    ],
)
def test_math_add_rounds_half_up_like_java(fst: float, snd: float, expected: int) -> None:
    assert fn("MathAdd", fst, snd) == expected


def test_string_split_uses_each_delimiter_and_drops_empty_tokens() -> None:
    text = "Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n"
    assert run(
        "States.StringSplit($$.Execution.Input.FunctionInput, ',')",
        {},
        {"Execution": {"Input": {"FunctionInput": text}}},
    ) == [
        "Value1",
        "Value2",
        "Value3\nValue4",
        "Value5",
        "Value6\n",
        "\ntrue",
        "1",
        "'HelloWorld'\nNull",
        "None",
        "\n   \n",
    ]
    assert run("States.StringSplit('This.is+a,test=string', '.+,=')") == [
        "This",
        "is",
        "a",
        "test",
        "string",
    ]


def test_nested_calls() -> None:
    context = {"StateMachine": {"Name": "machine-name-x"}}
    assert (
        run("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)", {}, context)
        == "machine"
    )
    expr = "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))"
    assert run(expr, {}, context) == "x"


def test_json_merge_with_escaped_literal() -> None:
    # recorded: test_json_merge_escaped_argument
    expr = 'States.JsonMerge(States.StringToJson(\'{"constant_in_literal": "false"}\'), $$.Execution.Input.input_field, false)'
    context = {"Execution": {"Input": {"input_field": {"constant_input_field": "constant_value"}}}}
    assert run(expr, {}, context) == {
        "constant_in_literal": "false",
        "constant_input_field": "constant_value",
    }


def test_functions_over_variables() -> None:
    # recorded: BASE_REFERENCE_IN_INTRINSIC_FUNCTION
    variables = {
        "rawString": "Hello World",
        "encodedString": "SGVsbG8gV29ybGQ=",
        "inputString": "Hash this string",
        "json1": {"a": 1, "b": 2},
        "json2": {"c": 3, "d": 4},
        "jsonObject": {"test": "object"},
    }
    assert run("States.Base64Encode($rawString)", {}, {}, variables) == "SGVsbG8gV29ybGQ="
    assert run("States.Base64Decode($encodedString)", {}, {}, variables) == "Hello World"
    assert (
        run("States.Hash($inputString, 'SHA-256')", {}, {}, variables)
        == "1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e"
    )
    assert run("States.JsonMerge($json1, $json2, false)", {}, {}, variables) == {
        "a": 1,
        "b": 2,
        "c": 3,
        "d": 4,
    }
    assert run("States.JsonToString($jsonObject)", {}, {}, variables) == '{"test":"object"}'
    assert (
        run("States.Format('Hello {}, welcome to {}!', 'John', 'LocalStack')")
        == "Hello John, welcome to LocalStack!"
    )


def test_format_renders_values_and_honours_escapes() -> None:
    data = {"s": "x", "n": 1, "f": 1.5, "big": 1e20, "b": True, "z": None, "o": {"k": [1, "a"]}}
    assert (
        run("States.Format('{}|{}|{}|{}|{}|{}|{}', $.s, $.n, $.f, $.big, $.b, $.z, $.o)", data)
        == 'x|1|1.5|1.0E20|true|null|{"k":[1,"a"]}'
    )
    assert run(r"States.Format('\{\} {} \'q\' \\', 7)") == "{} 7 'q' \\"
    # recorded: a template read from a variable (MAP_STATE_REFERENCE_IN_INTRINSIC_FUNCTION)
    assert run("States.Format($t, 'Pikachu')", {}, {}, {"t": "It's {}!"}) == "It's Pikachu!"


def test_array_length_unique_get_item_and_array() -> None:
    assert run("States.ArrayLength($.a)", {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]}) == 9
    assert run("States.ArrayUnique($.a)", {"a": [1, 2, 2, 3, True, 1.0, {"x": 1}, {"x": 1}]}) == [
        1,
        2,
        3,
        True,
        {"x": 1},
    ]
    assert run("States.ArrayGetItem($.a, 1)", {"a": ["x", "y"]}) == "y"
    assert run("States.Array(1, 'two', null, true, $.a)", {"a": [3]}) == [1, "two", None, True, [3]]
    assert run("States.Array()") == []


def test_uuid_and_random_come_from_the_environment() -> None:
    assert run("States.UUID()") == "11111111-2222-3333-4444-555555555555"
    assert run("States.MathRandom(1, 11)") == 6  # 1 + floor(0.5 * 10)
    assert 12 <= run("States.MathRandom(12.5, 44.51)") < 45


def test_seeded_random_is_java_util_random() -> None:
    assert JavaRandom(42)._next(32) == -1170105035  # new Random(42).nextInt()
    rng = JavaRandom(42)
    assert [rng.next_int(10) for _ in range(5)] == [0, 3, 8, 4, 0]
    assert run("States.MathRandom(0, 10, 42)") == 0
    assert run("States.MathRandom(0, 10, 42)") == run("States.MathRandom(0, 10, 42)")


def test_java_number_printing() -> None:
    assert [java_number(v) for v in (1, 1.0, 1.5, 1e7, 1.5e-5, -1234567.0, 0.001)] == [
        "1",
        "1.0",
        "1.5",
        "1.0E7",
        "1.5E-5",
        "-1234567.0",
        "0.001",
    ]


@pytest.mark.parametrize(
    "expr",
    [
        "States.ArrayGetItem($.a, 5)",
        "States.ArrayGetItem($.a, -1)",
        "States.ArrayGetItem($.s, 0)",
        "States.ArrayRange(1, 2000, 1)",
        "States.ArrayRange(1, 5, 0)",
        "States.ArrayRange(1.5, 5, 1)",
        "States.ArrayPartition($.a, 0)",
        "States.StringToJson('{bad')",
        "States.StringToJson('NaN')",
        "States.Hash('x', 'SHA-999')",
        "States.Base64Decode('***')",
        "States.JsonMerge($.o, $.o, true)",
        "States.JsonMerge($.a, $.o, false)",
        "States.MathAdd($.s, 1)",
        "States.MathAdd(2147483648, 1)",
        "States.MathRandom(5, 5)",
        "States.Format('{} {}', 1)",
        "States.StringSplit($.a, ',')",
    ],
)
def test_bad_arguments_fail_with_intrinsic_failure(expr: str) -> None:
    with pytest.raises(WorkflowError) as info:
        run(expr, {"a": [1], "s": "text", "o": {"k": 1}})
    assert info.value.error == "States.IntrinsicFailure"
    assert info.value.cause


def test_input_size_limits() -> None:
    assert len(run("States.Base64Encode($.s)", {"s": "a" * 10_000})) > 10_000
    for name in ("Base64Encode", "Base64Decode", "Hash"):
        args = "$.s, 'MD5'" if name == "Hash" else "$.s"
        with pytest.raises(WorkflowError, match="10000"):
            run(f"States.{name}({args})", {"s": "a" * 10_001})


def test_missing_path_argument_raises_path_not_found() -> None:
    with pytest.raises(PathNotFound) as info:
        run("States.Format('{}', $.missing)", {})
    assert info.value.path == "$.missing"


@pytest.mark.parametrize(
    "expr",
    [
        # recorded ESCAPE_SEQUENCES_ILLEGAL_INTRINSIC_FUNCTION(_2): \" is not an escape
        'States.StringToJson(\'{"text":"An \\"escaped double quote\\" here"}\')',
        "States.Format('He said, \\\"Hello, {}!\\\"', 'Test \\\"Name\\\" Here')",
        "States.Nope(1)",
        "States.Format(",
        "States.ArrayRange(1, 2)",
        "States.UUID(1)",
        "States.Format('x') trailing",
        "States.Format('unterminated)",
        "States.Array(@)",
        "States.Array($.a[)",
    ],
)
def test_definition_errors(expr: str) -> None:
    with pytest.raises(DefinitionError):
        compile_intrinsic(expr)


def test_paths_with_commas_and_parentheses_inside_brackets() -> None:
    data = {"a,b": 1, "t": [{"x": 1}, {"x": 2}]}
    assert run("States.Array($['a,b'], $.t[?(@.x > 1)])", data) == [1, [{"x": 2}]]
