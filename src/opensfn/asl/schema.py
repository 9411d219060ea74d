"""Per-state schema rules of the Amazon States Language, with AWS's messages.

``check_state`` appends a ``Diagnostic`` for every rule a state breaks; it never raises.
Locations are JSON Pointers as AWS writes them (array items as ``Retry[0]``). The
sub-machines of Parallel and Map are handed back to the caller through ``sub_machine``
so that the graph rules (transitions, reachability) stay in ``validate.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opensfn.asl.path_syntax import intrinsic_ok, path_ok, reference_path_problem
from opensfn.asl.resource_arns import express_problem, resource_problem

SCHEMA = "SCHEMA_VALIDATION_FAILED"
JSONPATH = "JSONPath"
JSONATA = "JSONata"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a definition, as ValidateStateMachineDefinition reports it."""

    code: str
    message: str
    location: str | None
    severity: str = "ERROR"


@dataclass(frozen=True)
class Context:
    """What a state's rules depend on besides the state itself."""

    machine_type: str  # STANDARD | EXPRESS
    machine_language: str  # the top-level QueryLanguage (JSONPath unless set)


Out = list[Diagnostic]
SubMachine = Callable[[Any, str], None]

STATE_TYPES = ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")

# Fields a state may carry. Rules: COMMON on every type; FIELDS[type] in both query
# languages; JSONPATH_ONLY / JSONATA_ONLY only in a state of that language (the other
# language gets AWS's "is only supported for the ... QueryLanguage" message).
COMMON = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW = ("Next", "End", "Assign")
_ERRORS = ("Retry", "Catch")
FIELDS: dict[str, frozenset[str]] = {
    "Pass": frozenset({*_FLOW, "Result"}),
    "Task": frozenset(
        {*_FLOW, *_ERRORS, "Resource", "Credentials", "TimeoutSeconds", "HeartbeatSeconds"}
    ),
    "Choice": frozenset({"Choices", "Default", "Assign"}),
    "Wait": frozenset({*_FLOW, "Seconds", "Timestamp"}),
    "Succeed": frozenset(),
    "Fail": frozenset({"Error", "Cause"}),
    "Parallel": frozenset({*_FLOW, *_ERRORS, "Branches"}),
    "Map": frozenset(
        {
            *_FLOW,
            *_ERRORS,
            "ItemProcessor",
            "Iterator",
            "ItemReader",
            "ItemSelector",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "ToleratedFailurePercentage",
            "ToleratedFailureCount",
            "Label",
        }
    ),
}
_IO = ("InputPath", "OutputPath")
_RESULT = ("Parameters", "ResultPath", "ResultSelector")
JSONPATH_ONLY: dict[str, frozenset[str]] = {
    "Pass": frozenset({*_IO, "Parameters", "ResultPath"}),
    "Task": frozenset({*_IO, *_RESULT, "TimeoutSecondsPath", "HeartbeatSecondsPath"}),
    "Choice": frozenset(_IO),
    "Wait": frozenset({*_IO, "SecondsPath", "TimestampPath"}),
    "Succeed": frozenset(_IO),
    "Fail": frozenset({"ErrorPath", "CausePath"}),
    "Parallel": frozenset({*_IO, *_RESULT}),
    "Map": frozenset(
        {
            *_IO,
            *_RESULT,
            "ItemsPath",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCountPath",
        }
    ),
}
JSONATA_ONLY: dict[str, frozenset[str]] = {
    "Pass": frozenset({"Output"}),
    "Task": frozenset({"Output", "Arguments"}),
    "Choice": frozenset({"Output"}),
    "Wait": frozenset({"Output"}),
    "Succeed": frozenset({"Output"}),
    "Fail": frozenset(),
    "Parallel": frozenset({"Output", "Arguments"}),
    "Map": frozenset({"Output", "Items"}),
}

# Pairs of a literal field and its dynamic twin: at most one may be given.
EXCLUSIVE = (
    ("TimeoutSeconds", "TimeoutSecondsPath"),
    ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ("MaxConcurrency", "MaxConcurrencyPath"),
    ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
    ("ToleratedFailureCount", "ToleratedFailureCountPath"),
    ("Error", "ErrorPath"),
    ("Cause", "CausePath"),
)

# Reference-path fields (JSONPath mode) and the integer fields they stand in for.
REFERENCE_FIELDS = (
    "ResultPath",
    "ItemsPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "SecondsPath",
    "TimestampPath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
)
# Integer fields: (minimum, maximum). AWS caps durations at 99999999 seconds.
INTEGERS: dict[str, tuple[int, int | None]] = {
    "TimeoutSeconds": (1, 99999999),
    "HeartbeatSeconds": (1, 99999999),
    "Seconds": (0, 99999999),
    "MaxConcurrency": (0, None),
    "ToleratedFailureCount": (0, None),
}

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


def error(out: Out, message: str, location: str | None, code: str = SCHEMA) -> None:
    """Append an ERROR diagnostic."""
    out.append(Diagnostic(code, message, location))


def is_jsonata(value: Any) -> bool:
    """True for a ``{% ... %}`` JSONata expression string."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def is_timestamp(value: str) -> bool:
    """True when ``value`` is an RFC 3339 timestamp with an uppercase T and a zone."""
    match = _RFC3339.match(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        dt.datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return False
    return second <= 60


_TYPES: dict[str, Callable[[Any], bool]] = {
    "String": lambda v: isinstance(v, str),
    "Boolean": lambda v: isinstance(v, bool),
    "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "Number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "Object": lambda v: isinstance(v, dict),
    "Array": lambda v: isinstance(v, list),
}


def typed(out: Out, value: Any, kind: str, location: str) -> bool:
    """Check ``value`` is of JSON type ``kind``; report AWS's message when it is not."""
    if _TYPES[kind](value):
        return True
    error(out, f"Expected value of type {kind}", location)
    return False


def required(out: Out, obj: dict[str, Any], names: tuple[str, ...], location: str) -> None:
    """Report the fields of ``names`` that ``obj`` lacks, in one diagnostic as AWS does."""
    missing = [n for n in names if n not in obj]
    if missing:
        error(out, f"These fields are required: [{', '.join(missing)}]", location)


def allowed_only(out: Out, obj: dict[str, Any], allowed: frozenset[str], location: str) -> None:
    """Report every field of ``obj`` outside ``allowed``."""
    for name in obj:
        if name not in allowed:
            error(out, f"Field '{name}' is not supported", location)


def only_one(out: Out, obj: dict[str, Any], names: tuple[str, ...], location: str) -> None:
    """Report when more than one of ``names`` is present."""
    present = [n for n in names if n in obj]
    if len(present) > 1:
        error(
            out, f"There should only be one of the following fields: [{', '.join(names)}]", location
        )


def integer(out: Out, obj: dict[str, Any], name: str, location: str, jsonata: bool) -> None:
    """Check an integer field against its bounds (a JSONata expression is also accepted)."""
    if name not in obj or (jsonata and is_jsonata(obj[name])):
        return
    value, at = obj[name], f"{location}/{name}"
    if not typed(out, value, "Integer", at):
        return
    low, high = INTEGERS[name]
    if value < low:
        error(out, f"Value should be greater than or equal to {low}", at)
    elif high is not None and value > high:
        error(out, f"Value should be less than or equal to {high}", at)


def payload(out: Out, value: Any, location: str) -> None:
    """Check the ``.$`` keys of a JSONPath payload template (Parameters, ItemSelector...).

    AWS reports a bad ``.$`` value at the object holding the key.
    """
    if isinstance(value, list):
        for i, item in enumerate(value):
            payload(out, item, f"{location}[{i}]")
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key.endswith(".$"):
            if not (isinstance(item, str) and dollar_value_ok(item)):
                error(
                    out,
                    f"The value for the field '{key}' must be a valid JSONPath or a valid "
                    "intrinsic function call",
                    location,
                )
        else:
            payload(out, item, f"{location}/{key}")


def dollar_value_ok(value: str) -> bool:
    """True for a valid JSONPath or intrinsic function call (a ``.$`` value)."""
    if value.startswith("States."):
        return intrinsic_ok(value)
    return value.startswith("$") and path_ok(value)


def query_language(out: Out, state: dict[str, Any], location: str, ctx: Context) -> str:
    """The effective query language of a state; report a bad or downgraded value."""
    if "QueryLanguage" not in state:
        return ctx.machine_language
    value = state["QueryLanguage"]
    if value not in (JSONPATH, JSONATA):
        error(
            out,
            "Value should be one of the following: [JSONPath, JSONata]",
            f"{location}/QueryLanguage",
        )
        return ctx.machine_language
    if value == JSONPATH and ctx.machine_language == JSONATA:
        error(
            out,
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            location,
        )
    return str(value)


def check_state(state: Any, location: str, ctx: Context, out: Out, sub_machine: SubMachine) -> None:
    """Append the diagnostics of one state (not its transitions' targets)."""
    if not typed(out, state, "Object", location):
        return
    if "Type" not in state:
        required(out, state, ("Type",), location)
        return
    kind = state["Type"]
    if kind not in STATE_TYPES:
        error(
            out,
            f"Value should be one of the following: [{', '.join(STATE_TYPES)}]",
            f"{location}/Type",
        )
        return
    language = query_language(out, state, location, ctx)
    jsonata = language == JSONATA
    own, other = (JSONATA_ONLY, JSONPATH_ONLY) if jsonata else (JSONPATH_ONLY, JSONATA_ONLY)
    for name in state:
        if name in COMMON or name in FIELDS[kind] or name in own[kind]:
            continue
        if name in other[kind]:
            error(
                out,
                f"The QueryLanguage is set to '{language}', but field '{name}' is only "
                f"supported for the '{JSONPATH if jsonata else JSONATA}' QueryLanguage",
                location,
            )
        else:
            error(out, f"Field '{name}' is not supported", location)
    if "Comment" in state:
        typed(out, state["Comment"], "String", f"{location}/Comment")
    _flow(out, state, kind, location)
    for a, b in EXCLUSIVE:
        only_one(out, state, (a, b), location)
    if not jsonata:
        _jsonpath_fields(out, state, location)
    else:
        _jsonata_references(out, state, location)
    for name in ("Retry", "Catch"):
        if name in state:
            _handlers(out, state[name], name, f"{location}/{name}", jsonata)
    CHECKS[kind](state, location, ctx, jsonata, out, sub_machine)


# Fields of a state not read for expressions: those holding states of their own (checked
# as sub-machines) and the free-text Comment.
_NESTED = frozenset({"ItemProcessor", "Iterator", "Branches", "Comment"})


def _jsonata_references(out: Out, state: dict[str, Any], location: str) -> None:
    """Every ``{% %}`` expression of a JSONata state (Choice rules and catchers included)
    must compile, and must not read a field at its top level: there is no context item."""
    from opensfn.asl import jsonata  # the engine loads only for JSONata definitions

    rules = ("Choices", "Retry", "Catch")  # lists of objects whose Comment is text
    todo: deque[tuple[Any, str]] = deque(
        (value, f"{location}/{name}")
        for name, value in state.items()
        if name not in _NESTED and not (name in rules and isinstance(value, list))
    )
    for name in rules:
        items = state.get(name)
        for i, item in enumerate(items if isinstance(items, list) else ()):
            if isinstance(item, dict):
                where = f"{location}/{name}/{i}"
                todo.extend(
                    (v, f"{where}/{pointer_key(k)}") for k, v in item.items() if k != "Comment"
                )
    while todo:
        value, where = todo.popleft()
        if is_jsonata(value):
            problem, names = jsonata.static_problems(value[2:-2])
            if problem is not None:
                error(out, problem, where, "INVALID_JSONATA_EXPRESSION")
            for name in names:
                error(
                    out,
                    f"Reference to '{name}' at the top level is not supported.",
                    where,
                    "UNSUPPORTED_JSONATA_EXPRESSION",
                )
        elif isinstance(value, dict):
            todo.extend((v, f"{where}/{pointer_key(k)}") for k, v in value.items())
        elif isinstance(value, list):
            todo.extend((v, f"{where}/{i}") for i, v in enumerate(value))


def pointer_key(key: str) -> str:
    """``key`` as one JSON Pointer segment (``~`` and ``/`` escaped)."""
    return key.replace("~", "~0").replace("/", "~1")


def _flow(out: Out, state: dict[str, Any], kind: str, location: str) -> None:
    if kind in ("Choice", "Succeed", "Fail"):
        if kind == "Choice" and "Default" in state:
            typed(out, state["Default"], "String", f"{location}/Default")
        return
    if "Next" in state:
        typed(out, state["Next"], "String", f"{location}/Next")
    if "End" in state:
        typed(out, state["End"], "Boolean", f"{location}/End")
    if "Next" in state and state.get("End") is True:
        error(out, "There should only be one of the following fields: [Next, End]", location)
    elif "Next" not in state and state.get("End") is not True:
        error(
            out, "This object should have only one of the following fields: [Next, End]", location
        )


def _jsonpath_fields(out: Out, state: dict[str, Any], location: str) -> None:
    for name in ("InputPath", "OutputPath"):
        value = state.get(name)
        if name in state and value is not None and not (isinstance(value, str) and path_ok(value)):
            error(out, f"The value for the field '{name}' must be a valid JSONPath", location)
    for name in REFERENCE_FIELDS:
        value = state.get(name)
        if name not in state or (value is None and name == "ResultPath"):
            continue
        if typed(out, value, "String", f"{location}/{name}"):
            problem = reference_path_problem(str(value))
            if problem:
                error(out, problem, f"{location}/{name}")
    for name in ("Parameters", "ResultSelector", "ItemSelector"):
        if name in state and typed(out, state[name], "Object", f"{location}/{name}"):
            payload(out, state[name], f"{location}/{name}")
    if "Assign" in state:
        payload(out, state["Assign"], f"{location}/Assign")


def _handlers(out: Out, value: Any, name: str, location: str, jsonata: bool) -> None:
    """Retry or Catch: a list of objects whose ErrorEquals are well formed."""
    if not typed(out, value, "Array", location):
        return
    for i, item in enumerate(value):
        at = f"{location}[{i}]"
        if not typed(out, item, "Object", at):
            continue
        if name == "Retry":
            fields = {
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            }
            allowed_only(out, item, frozenset(fields), at)
            required(out, item, ("ErrorEquals",), at)
            _retrier(out, item, at)
        else:
            extra = {"Output", "Assign"} if jsonata else {"ResultPath", "Assign"}
            allowed_only(out, item, frozenset({"ErrorEquals", "Next", "Comment", *extra}), at)
            required(out, item, ("ErrorEquals", "Next"), at)
            if "Next" in item:
                typed(out, item["Next"], "String", f"{at}/Next")
            result_path = item.get("ResultPath")
            if (
                not jsonata
                and result_path is not None
                and typed(out, result_path, "String", f"{at}/ResultPath")
            ):
                problem = reference_path_problem(result_path)
                if problem:
                    error(out, problem, f"{at}/ResultPath")
        errors = item.get("ErrorEquals")
        if errors is None or not typed(out, errors, "Array", f"{at}/ErrorEquals"):
            continue
        if not errors:
            error(out, "Value cannot be empty", f"{at}/ErrorEquals")
        for j, err_name in enumerate(errors):
            typed(out, err_name, "String", f"{at}/ErrorEquals[{j}]")
        if "States.ALL" in errors and (len(errors) > 1 or i < len(value) - 1):
            error(out, "States.ALL must appear alone and at end of list", f"{at}/ErrorEquals")


def _retrier(out: Out, item: dict[str, Any], at: str) -> None:
    bounds = {"IntervalSeconds": 1, "MaxAttempts": 0, "MaxDelaySeconds": 1}
    for name, low in bounds.items():
        if name in item and typed(out, item[name], "Integer", f"{at}/{name}") and item[name] < low:
            error(out, f"Value should be greater than or equal to {low}", f"{at}/{name}")
    rate: Any = item.get("BackoffRate")
    if (
        "BackoffRate" in item
        and typed(out, rate, "Number", f"{at}/BackoffRate")
        and float(rate) < 1
    ):
        error(out, "Value should be greater than or equal to 1.0", f"{at}/BackoffRate")
    if "JitterStrategy" in item and item["JitterStrategy"] not in ("FULL", "NONE"):
        error(out, "Value should be one of the following: [FULL, NONE]", f"{at}/JitterStrategy")


def _task(
    state: dict[str, Any], location: str, ctx: Context, jsonata: bool, out: Out, sub: SubMachine
) -> None:
    required(out, state, ("Resource",), location)
    resource = state.get("Resource")
    if "Resource" in state and typed(out, resource, "String", f"{location}/Resource"):
        problem = resource_problem(str(resource))
        if problem is None and ctx.machine_type == "EXPRESS":
            problem = express_problem(str(resource))
        if problem:
            error(out, problem, f"{location}/Resource")
    for name in ("TimeoutSeconds", "HeartbeatSeconds"):
        integer(out, state, name, location, jsonata)
    timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    if isinstance(timeout, int) and isinstance(heartbeat, int) and heartbeat >= timeout:
        error(
            out,
            "HeartbeatSeconds must be smaller than TimeoutSeconds",
            f"{location}/HeartbeatSeconds",
        )
    credentials: Any = state.get("Credentials")
    if "Credentials" in state and typed(out, credentials, "Object", f"{location}/Credentials"):
        if "RoleArn" not in credentials and "RoleArn.$" not in credentials:
            error(out, "The field 'RoleArn' is required but was missing", f"{location}/Credentials")
        elif not jsonata:
            payload(out, credentials, f"{location}/Credentials")


def _wait(
    state: dict[str, Any], location: str, ctx: Context, jsonata: bool, out: Out, sub: SubMachine
) -> None:
    names = ("SecondsPath", "Seconds", "TimestampPath", "Timestamp")
    present = [n for n in names if n in state]
    listed = ", ".join(names)
    if len(present) > 1:
        error(out, f"There should only be one of the following fields: [{listed}]", location)
    elif not present:
        error(
            out, f"This object should have only one of the following fields: [{listed}]", location
        )
    integer(out, state, "Seconds", location, jsonata)
    stamp = state.get("Timestamp")
    if (
        "Timestamp" in state
        and not (jsonata and is_jsonata(stamp))
        and typed(out, stamp, "String", f"{location}/Timestamp")
        and not is_timestamp(str(stamp))
    ):
        error(out, "String does not match RFC3339 timestamp", f"{location}/Timestamp")


def _fail(
    state: dict[str, Any], location: str, ctx: Context, jsonata: bool, out: Out, sub: SubMachine
) -> None:
    for name in ("Error", "Cause"):
        if name in state:
            typed(out, state[name], "String", f"{location}/{name}")
    for name in ("ErrorPath", "CausePath"):
        value = state.get(name)
        if (
            name in state
            and typed(out, value, "String", f"{location}/{name}")
            and not dollar_value_ok(str(value))
        ):
            error(
                out,
                f"The value for the field '{name}' must be a valid JSONPath or a valid intrinsic function call",
                location,
            )


def _choice(
    state: dict[str, Any], location: str, ctx: Context, jsonata: bool, out: Out, sub: SubMachine
) -> None:
    required(out, state, ("Choices",), location)
    choices: Any = state.get("Choices")
    if "Choices" not in state or not typed(out, choices, "Array", f"{location}/Choices"):
        return
    if not choices:
        error(out, "Value cannot be empty", f"{location}/Choices")
    from opensfn.asl import choice_rules  # imports this module: bound late

    for i, rule in enumerate(choices):
        choice_rules.check_rule(out, rule, f"{location}/Choices[{i}]", jsonata, top=True)


def _parallel(
    state: dict[str, Any], location: str, ctx: Context, jsonata: bool, out: Out, sub: SubMachine
) -> None:
    required(out, state, ("Branches",), location)
    branches: Any = state.get("Branches")
    if "Branches" not in state or not typed(out, branches, "Array", f"{location}/Branches"):
        return
    if not branches:
        error(out, "Value cannot be empty", f"{location}/Branches")
    for i, branch in enumerate(branches):
        sub(branch, f"{location}/Branches[{i}]")


def _nothing(
    state: dict[str, Any], location: str, ctx: Context, jsonata: bool, out: Out, sub: SubMachine
) -> None:
    """Pass and Succeed have no rules beyond the common ones."""


def _map(
    state: dict[str, Any], location: str, ctx: Context, jsonata: bool, out: Out, sub: SubMachine
) -> None:
    from opensfn.asl import map_rules  # Map's many sub-objects live in their own module

    map_rules.check_map(out, state, location, jsonata, sub)


# State type -> its own rules (run after the common field, flow, path and Retry/Catch rules).
CHECKS: dict[str, Callable[[dict[str, Any], str, Context, bool, Out, SubMachine], None]] = {
    "Pass": _nothing,
    "Succeed": _nothing,
    "Task": _task,
    "Wait": _wait,
    "Fail": _fail,
    "Choice": _choice,
    "Parallel": _parallel,
    "Map": _map,
}
