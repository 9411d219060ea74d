"""AWS's JSONPath flavour: selection, definiteness, Jayway's failure messages."""

from __future__ import annotations

import pytest

from opensfn.asl.jsonpath import PathNotFound, compile_path
from opensfn.errors import DefinitionError

USERS = {"users": [{"year": 1997, "status": 0}, {"year": 1998, "status": 1}]}
ITEMS = {"items": [{"item_key": i} for i in range(11)]}


def find(expr: str, data: object) -> object:
    return compile_path(expr).find(data)


@pytest.mark.parametrize(
    ("expr", "data", "expected"),
    [
        ("$", {"a": 1}, {"a": 1}),
        ("$.a.b", {"a": {"b": [1]}}, [1]),
        ("$['a']['b']", {"a": {"b": 2}}, 2),
        ('$["a"]', {"a": 3}, 3),
        ("$.items[10]", ITEMS, {"item_key": 10}),  # recorded: test_json_path_array_access
        ("$.items[-1].item_key", ITEMS, 10),
        (
            "$.input-value",
            {"input-value": 0},
            0,
        ),  # names may hold '-' ($$.Execution.Input.input-value)
        ("$.a.b.length()", {"a": {"b": [1, 2, 3]}}, 3),
        ("$['a','c']", {"a": 1, "b": 2, "c": 3}, {"a": 1, "c": 3}),  # Jayway merges a leaf union
    ],
)
def test_definite_paths_return_one_value(expr: str, data: object, expected: object) -> None:
    path = compile_path(expr)
    assert path.is_definite
    assert path.find(data) == expected


@pytest.mark.parametrize(
    ("expr", "data", "expected"),
    [
        ("$.users[?(@.status == 0)]", USERS, [{"year": 1997, "status": 0}]),  # recorded
        ("$.users[?(@.year > 1997 && @.status == 1)].year", USERS, [1998]),
        ("$.users[?(@.year < 1990 || @.status == 0)].year", USERS, [1997]),
        ("$.users[?(!(@.status == 0))].year", USERS, [1998]),
        ("$.users[?(@.status)].year", USERS, [1997, 1998]),  # existence, 0 included
        ("$.users[?(@.missing != 1)].year", USERS, [1997, 1998]),  # undefined differs
        ("$.users[?(@.missing == 1)]", USERS, []),
        ("$.users[?(@.year in [1998, 2000])].year", USERS, [1998]),
        ("$.users[?(@.year nin [1998])].year", USERS, [1997]),
        ("$.t[?(@.n =~ /ab.*/i)].n", {"t": [{"n": "ABc"}, {"n": "xab"}]}, ["ABc"]),
        ("$.t[?(@.n == 'x')].v", {"t": [{"n": "x", "v": 1}, {"n": "y", "v": 2}]}, [1]),
        ("$.t[?(@.n == true)].v", {"t": [{"n": 1, "v": 1}, {"n": True, "v": 2}]}, [2]),
        ("$.t[?(@.l size 2)].v", {"t": [{"l": [1, 2], "v": 1}, {"l": [1], "v": 2}]}, [1]),
        ("$.t[?(@.v > $.min)].v", {"min": 1, "t": [{"v": 1}, {"v": 2}]}, [2]),
        ("$.users[*].year", USERS, [1997, 1998]),
        ("$.users.*.year", USERS, [1997, 1998]),
        ("$..year", USERS, [1997, 1998]),
        ("$..[0].year", USERS, [1997]),
        ("$.a[1:3]", {"a": [0, 1, 2, 3]}, [1, 2]),
        ("$.a[:2]", {"a": [0, 1, 2, 3]}, [0, 1]),
        ("$.a[-2:]", {"a": [0, 1, 2, 3]}, [2, 3]),
        ("$.a[::2]", {"a": [0, 1, 2, 3]}, [0, 2]),
        ("$.a[0,2]", {"a": [0, 1, 2, 3]}, [0, 2]),
        ("$.a[0,9]", {"a": [0, 1]}, [0]),
    ],
)
def test_indefinite_paths_return_lists(expr: str, data: object, expected: object) -> None:
    path = compile_path(expr)
    assert not path.is_definite
    assert path.find(data) == expected


@pytest.mark.parametrize(
    "expr",
    # recorded: test_json_path_array_wildcard_or_slice_with_no_input (all answer [])
    [
        "$.item.items[*]",
        "$.item.items[1:5].itemValue",
        "$.item.items[1:5]",
        "$.item.items[:1]",
        "$.items[*].itemValue",
        "$.items[1:].itemValue",
        "$.items[1:]",
        "$.items[:1]",
        "$[*]",
    ],
)
def test_indefinite_path_on_missing_input_is_empty_list(expr: str) -> None:
    assert find(expr, {}) == []


@pytest.mark.parametrize(
    ("expr", "data", "message"),
    [
        # recorded: INVALID_JSONPATH_IN_INPUTPATH / test_catch_states_runtime
        ("$.NoSuchInputPath", {"int-literal": 0}, "No results for path: $['NoSuchInputPath']"),
        ("$.no.such.result.path", {}, "Missing property in path $['no']"),
        ("$.a.b", {"a": {}}, "No results for path: $['a']['b']"),
        ("$.a[5]", {"a": [1]}, "No results for path: $['a'][5]"),
        ("$.a[0]", {"a": None}, "The path $['a'] is null"),
        (
            "$.a.b",
            {"a": "text"},
            "Expected to find an object with property ['b'] in path $['a'] but found "
            "'java.lang.String'. This is not a json object according to the JsonProvider: "
            "'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.",
        ),
    ],
)
def test_definite_path_failures_carry_jayway_messages(
    expr: str, data: object, message: str
) -> None:
    with pytest.raises(PathNotFound) as info:
        find(expr, data)
    assert info.value.message == message
    assert info.value.path == expr


def test_null_is_a_value_not_a_miss() -> None:
    assert find("$.a", {"a": None}) is None


def test_quoted_names_keep_backslashes() -> None:
    # recorded ESCAPE_SEQUENCES_JSONPATH: $['Test\""Name"'] matches the key Test\""Name"
    key = 'Test\\""Name"'
    assert find("$['" + key + "']", {key: 'Value"\\'}) == 'Value"\\'


def test_roots_select_input_context_or_variable() -> None:
    context = {"Execution": {"Input": {"input-value": 0}}}
    assert compile_path("$$.Execution.Input").resolve({}, context, {}) == {"input-value": 0}
    assert compile_path("$$").resolve({}, context, {}) is context
    variables = {"theAnswer": 42, "obj": {"k": [1, 2]}}
    assert compile_path("$theAnswer").resolve({}, context, variables) == 42
    assert compile_path("$obj.k[1]").resolve({}, context, variables) == 2
    with pytest.raises(PathNotFound):
        compile_path("$nope").resolve({}, context, variables)


def test_normalized_form_and_reference_paths() -> None:
    assert compile_path("$.a['b'][0]").normalized == "$['a']['b'][0]"
    assert compile_path("$.a[0]").is_reference
    assert not compile_path("$.a[*]").is_reference
    assert not compile_path("$.a.length()").is_reference


@pytest.mark.parametrize(
    "expr", ["", "a.b", "$.", "$..", "$.a[", "$.a[x]", "$.a['b'", "$.a[1:2:0]", "$.a[?(@.x ==)]"]
)
def test_syntax_errors_are_definition_errors(expr: str) -> None:
    with pytest.raises(DefinitionError):
        compile_path(expr)


def test_find_does_not_copy() -> None:
    inner = {"k": 1}
    assert find("$.a", {"a": inner}) is inner
