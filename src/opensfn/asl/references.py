"""``variableReferences`` of DescribeStateMachine: which variables each state reads.

AWS answers a map of state name to the variables (``$name``) the state's JSONPath fields
refer to, for every state that refers to one (nested states of Map and Parallel under
their own names); the answer leaves the field out when no state does. What counts, as
AWS records it:

- a path field whose value starts with a variable: ``InputPath``, ``OutputPath``,
  ``ItemsPath``, ``SecondsPath``, ``TimestampPath``, ``ErrorPath``, ``CausePath``,
  ``MaxConcurrencyPath``, the tolerated-failure and ``ItemReader``/``ItemBatcher`` paths,
  a Choice rule's ``Variable`` and its ``…Path`` comparisons;
- a ``.$`` field of a payload template (``Parameters``, ``ItemSelector``,
  ``ResultSelector``, ``Assign``, …): a path, or every variable argument of an intrinsic
  function, nested calls included;
- a Map's ``ItemSelector`` counts for the Map state, its item processor's states for
  themselves.

Not counted: ``$$`` (the context object), ``$`` (the input), a template value without
``.$`` (``"bucketName": "$bucket"`` is the literal text), ``Result``, and every state
written in JSONata (AWS does not list the variables of JSONata expressions).
Each state's names are listed once, in the order they appear in the definition.
"""

from __future__ import annotations

from typing import Any

from opensfn.asl.intrinsics import Intrinsic, PathArg, compile_intrinsic, is_intrinsic
from opensfn.asl.jsonpath import compile_path
from opensfn.errors import DefinitionError

_NOT_VARIABLES = frozenset({"$", "$$"})
_TEMPLATES = frozenset(
    {"Parameters", "ItemSelector", "ResultSelector", "Assign", "BatchInput", "Credentials"}
)
_SKIPPED = frozenset({"Result", "Comment", "Iterator", "ItemProcessor", "Branches"})


def variable_references(definition: Any) -> dict[str, list[str]]:
    """State name → variables it reads, for a parsed definition (``{}`` when none does
    or the definition is not a state machine)."""
    out: dict[str, list[str]] = {}
    if isinstance(definition, dict):
        _scope(definition, definition.get("QueryLanguage", "JSONPath"), out)
    return out


def _scope(scope: dict[str, Any], language: Any, out: dict[str, list[str]]) -> None:
    states = scope.get("States")
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        state_language = state.get("QueryLanguage", language)
        if state_language != "JSONata":
            found: list[str] = []
            _fields(state, found)
            if found:
                out[name] = list(dict.fromkeys(found))
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), dict):
                _scope(state[key], state[key].get("QueryLanguage", state_language), out)
        for branch in state.get("Branches") or ():
            if isinstance(branch, dict):
                _scope(branch, branch.get("QueryLanguage", state_language), out)


def _fields(node: dict[str, Any], found: list[str]) -> None:
    """Variables of a state's own fields (and of its Choice rules, Catchers, ItemReader)."""
    for key, value in node.items():
        if key in _SKIPPED:
            continue
        if key in _TEMPLATES:
            _template(value, found)
        elif isinstance(value, str):
            if key == "Variable" or key.endswith("Path"):
                _path(value, found)
        elif isinstance(value, dict):
            _fields(value, found)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    _fields(item, found)


def _template(value: Any, found: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith(".$") and isinstance(item, str):
                _expression(item, found)
            else:
                _template(item, found)
    elif isinstance(value, list):
        for item in value:
            _template(item, found)


def _expression(text: str, found: list[str]) -> None:
    if is_intrinsic(text):
        try:
            _call(compile_intrinsic(text), found)
        except DefinitionError:
            return
    else:
        _path(text, found)


def _call(call: Intrinsic, found: list[str]) -> None:
    for arg in call.args:
        if isinstance(arg, Intrinsic):
            _call(arg, found)
        elif isinstance(arg, PathArg) and arg.path.root not in _NOT_VARIABLES:
            found.append(arg.path.root)


def _path(text: str, found: list[str]) -> None:
    if not text.startswith("$"):
        return
    try:
        root = compile_path(text).root
    except DefinitionError:
        return
    if root not in _NOT_VARIABLES:
        found.append(root)
