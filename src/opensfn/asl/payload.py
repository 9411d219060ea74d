"""Payload templates (Parameters, ResultSelector, ItemSelector, Credentials, Assign) and
the InputPath / ResultPath / OutputPath steps, with AWS's failure causes.

A template is compiled once: keys ending in ``.$`` take a path (``$``, ``$$``, ``$var``)
or an intrinsic call and lose their suffix in the output; other values are literals;
objects and arrays nest. Evaluation shares literal subtrees and input values with its
result (no copies): JSON values must be treated as immutable by every caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from opensfn.asl.intrinsic_functions import compact_json
from opensfn.asl.intrinsics import Env, Intrinsic, compile_intrinsic, is_intrinsic
from opensfn.asl.jsonpath import Index, JsonPath, PathNotFound, Prop, compile_path
from opensfn.errors import DefinitionError, WorkflowError

Expression = JsonPath | Intrinsic

MAX_DEPTH = 254
"""How deep arrays and objects may nest in the data an execution receives: the depth
orjson, which writes every payload, serialises. Deeper input is refused where it comes in
(StartExecution, SendTaskSuccess, TestState) with a clear error, not failed later."""


def too_deep(text: str, value: Any) -> bool:
    """Does ``value``, parsed from the JSON ``text``, nest arrays and objects deeper than
    :data:`MAX_DEPTH`?"""
    if text.count("[") + text.count("{") <= MAX_DEPTH:  # cannot: the common case, no walk
        return False
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return True
    return False


def compile_expression(expr: Any, field: str, pointer: str = "") -> Expression:
    """Compile the value of a ``.$`` field (or of ErrorPath, CausePath, ...).

    Raises ``DefinitionError("The value for the field '<field>' must be a valid JSONPath
    or a valid intrinsic function call", pointer)`` as AWS words it."""
    message = f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"
    if not isinstance(expr, str):
        raise DefinitionError(message, pointer or "/")
    try:
        return compile_intrinsic(expr) if is_intrinsic(expr) else compile_path(expr)
    except DefinitionError:
        raise DefinitionError(message, pointer or "/") from None


def evaluate_expression(
    expr: Expression,
    field: str,
    data: Any,
    context: Any,
    variables: Mapping[str, Any],
    env: Env,
) -> Any:
    """Evaluate a compiled ``.$`` value; a path that does not resolve fails with AWS's
    ``States.Runtime`` "The JSONPath '<path>' specified for the field '<field>' could not
    be found in the input '<input as compact JSON>'"."""
    try:
        if isinstance(expr, JsonPath):
            return expr.resolve(data, context, variables)
        return expr.evaluate(data, context, variables, env)
    except PathNotFound as exc:
        raise WorkflowError(
            "States.Runtime",
            f"The JSONPath '{exc.path}' specified for the field '{field}' could not be found "
            f"in the input '{compact_json(data)}'",
        ) from None


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True, slots=True)
class _Dynamic:
    field: str  # the key as written, with its ".$"
    expr: Expression


@dataclass(frozen=True, slots=True)
class _Object:
    items: tuple[tuple[str, Any], ...]  # (output key, node)


@dataclass(frozen=True, slots=True)
class _Array:
    items: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Static:
    value: Any  # a subtree without any ".$" field, returned as is


Node = _Dynamic | _Object | _Array | _Static


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled payload template for the field ``field`` (``Parameters`` ...)."""

    field: str
    root: Node

    def evaluate(self, data: Any, context: Any, variables: Mapping[str, Any], env: Env) -> Any:
        """Build the payload; failures raise ``WorkflowError`` with AWS's causes."""
        return _build(self.root, data, context, variables, env)


def compile_template(template: Any, field: str) -> Template:
    """Compile a template once. ``DefinitionError.pointer`` is relative to the state
    (``/Parameters/nested``): the caller prefixes ``/States/<name>``."""
    return Template(field, _compile(template, f"/{field}"))


def _compile(value: Any, pointer: str) -> Node:
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = []
        for key, sub in value.items():
            if key.endswith(".$"):
                items.append((key[:-2], _Dynamic(key, compile_expression(sub, key, pointer))))
            else:
                items.append((key, _compile(sub, f"{pointer}/{key}")))
        if all(isinstance(node, _Static) for _, node in items):
            return _Static(value)
        return _Object(tuple(items))
    if isinstance(value, list):
        nodes = tuple(_compile(sub, f"{pointer}/{i}") for i, sub in enumerate(value))
        if all(isinstance(node, _Static) for node in nodes):
            return _Static(value)
        return _Array(nodes)
    return _Static(value)


def _build(node: Node, data: Any, context: Any, variables: Mapping[str, Any], env: Env) -> Any:
    if isinstance(node, _Static):
        return node.value
    if isinstance(node, _Dynamic):
        return evaluate_expression(node.expr, node.field, data, context, variables, env)
    if isinstance(node, _Object):
        result: dict[str, Any] = {}
        for key, sub in node.items:
            if isinstance(sub, _Static):
                result[key] = sub.value
            elif isinstance(sub, _Dynamic):
                result[key] = evaluate_expression(
                    sub.expr, sub.field, data, context, variables, env
                )
            else:
                result[key] = _build(sub, data, context, variables, env)
        return result
    return [_build(sub, data, context, variables, env) for sub in node.items]


# --------------------------------------------------------------------------- paths


def _select(path: JsonPath, data: Any, context: Any, variables: Mapping[str, Any]) -> Any:
    try:
        return path.resolve(data, context, variables)
    except PathNotFound as exc:
        raise WorkflowError(
            "States.Runtime", f"Invalid path '{path.text}' : {exc.message}"
        ) from None


def apply_input_path(
    path: JsonPath | None, data: Any, context: Any, variables: Mapping[str, Any]
) -> Any:
    """InputPath: ``None`` ("InputPath": null) gives ``{}``; a path that does not resolve
    fails with ``States.Runtime`` "Invalid path '<path>' : <Jayway's message>"."""
    if path is None:
        return {}
    if path.root == "$" and not path.segments and path.function is None:
        return data
    return _select(path, data, context, variables)


def apply_output_path(
    path: JsonPath | None, data: Any, context: Any, variables: Mapping[str, Any]
) -> Any:
    """OutputPath: same rules as :func:`apply_input_path`."""
    return apply_input_path(path, data, context, variables)


@lru_cache(maxsize=4096)
def compile_result_path(path: str) -> JsonPath:
    """Compile a ResultPath; it must be a reference path on the input (``$``-rooted)."""
    compiled = compile_path(path)
    if compiled.root != "$" or not compiled.is_reference:
        raise DefinitionError(
            f"The value for the field 'ResultPath' must be a valid ReferencePath: {path}"
        )
    return compiled


def apply_result_path(path: str | None, state_input: Any, result: Any) -> Any:
    """ResultPath: ``None`` keeps the input, ``"$"`` takes the result, ``"$.a.b"`` puts
    the result at ``a.b`` in a copy of the input, creating missing objects on the way.
    When the input cannot hold it, fails with ``States.ResultPathMatchFailure``."""
    if path is None:
        return state_input
    compiled = compile_result_path(path)
    if not compiled.segments:
        return result
    try:
        return _put(compiled.segments, 0, state_input, result)
    except _NoMatch:
        raise WorkflowError(
            "States.ResultPathMatchFailure",
            f"Unable to apply ReferencePath {path} to input {compact_json(state_input)}",
            state_prefix=False,
        ) from None


class _NoMatch(Exception):
    pass


def _put(segments: tuple[Any, ...], i: int, node: Any, result: Any) -> Any:
    """Copy ``node`` with ``result`` stored at ``segments[i:]`` (copies only along the path)."""
    seg = segments[i]
    last = i == len(segments) - 1
    if isinstance(seg, Prop) and isinstance(node, dict):
        name = seg.names[0]
        copy = dict(node)
        copy[name] = result if last else _put(segments, i + 1, node.get(name, {}), result)
        return copy
    if isinstance(seg, Index) and isinstance(node, list):
        index = seg.indexes[0]
        if -len(node) <= index < len(node):
            items = list(node)
            items[index] = result if last else _put(segments, i + 1, node[index], result)
            return items
    raise _NoMatch
