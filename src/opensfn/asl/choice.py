"""Choice Rules: compiled once when a state machine is created, evaluated per transition.

A Choice Rule is either a comparison (``Variable`` + one operator from :data:`OPERATORS`,
or its ``…Path`` form), a boolean combination (``And`` / ``Or`` / ``Not``), or, in
JSONata states, a ``Condition``. :func:`compile_choice_rule` turns the JSON into a
:class:`ChoiceRule` whose :meth:`ChoiceRule.matches` is a chain of small closures: literal
operands are checked and converted (timestamps parsed, ``StringMatches`` patterns split)
at compile time, so evaluation does no parsing beyond the input value itself.

AWS's semantics, which the table and evaluators follow:

* a typed operator applied to a value of another type is simply false, never an error
  (``NumericEquals`` on ``"1"``, ``BooleanEquals`` on ``0``, ``StringEquals`` on ``null``);
  booleans are not numbers;
* a ``Variable`` (or the operand of a ``…Path`` operator) that does not resolve fails the
  state with ``States.Runtime`` — except for ``IsPresent``, which exists to test that;
* numbers compare by value across int and float (``1`` equals ``1.0``);
* strings order as Java's ``String.compareTo`` does, by UTF-16 code unit;
* timestamps compare as instants (offsets applied); see :mod:`opensfn.asl.timestamps`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from opensfn.asl import jsonpath
from opensfn.asl.schema import pointer_key
from opensfn.asl.timestamps import parse_timestamp
from opensfn.errors import DefinitionError, WorkflowError

__all__ = ["OPERATORS", "ChoiceRule", "compile_choice_rule"]

# (input, context object, variables) -> value; raises jsonpath.PathNotFound.
Resolve = Callable[[Any, dict[str, Any], Mapping[str, Any]], Any]
# (input, context object, variables) -> did the rule match.
Evaluate = Callable[[Any, dict[str, Any], Mapping[str, Any]], bool]

_WRONG: Final = object()  # an operand of the wrong type: the comparison is false


@dataclass(frozen=True, slots=True)
class ChoiceRule:
    """One compiled Choice Rule.

    ``operator`` is ``"And"``, ``"Or"``, ``"Not"``, ``"Condition"`` or the comparison field
    as written (``"NumericEqualsPath"``); ``operand`` its literal value or path text;
    ``rules`` the nested rules of And/Or/Not. ``next``, ``assign`` and ``output`` are set on
    top-level rules only (``assign``/``output`` raw, for the interpreter to compile).
    ``condition`` is the raw JSONata ``Condition`` (``"{% … %}"`` or a boolean): a rule whose
    ``condition`` is a string is evaluated by the JSONata engine, not by :meth:`matches`.
    """

    next: str | None
    operator: str
    variable: str | None = None
    operand: Any = None
    rules: tuple[ChoiceRule, ...] = ()
    condition: Any = None
    assign: Any = None
    output: Any = None
    evaluate: Evaluate = field(kw_only=True, repr=False, compare=False)

    def matches(self, data: Any, context: dict[str, Any], variables: Mapping[str, Any]) -> bool:
        """Evaluate against the state input ``data``; raises :class:`WorkflowError`."""
        return self.evaluate(data, context, variables)


# --------------------------------------------------------------------------- operators


def _is_number(v: Any) -> bool:
    # ``type(...) is`` rather than isinstance: bool is an int subclass but not a JSON number.
    return type(v) is int or type(v) is float


def _java_compare(a: str, b: str) -> int:
    """``a.compareTo(b)`` in Java: order by UTF-16 code unit, not by code point."""
    if a == b:
        return 0
    # The two orders differ only when a supplementary character (a surrogate pair in
    # UTF-16) meets a BMP character at or above U+E000; an ASCII side rules that out.
    if a.isascii() or b.isascii():
        return -1 if a < b else 1
    ua = a.encode("utf-16-be", "surrogatepass")
    ub = b.encode("utf-16-be", "surrogatepass")
    return -1 if ua < ub else 1


@dataclass(frozen=True, slots=True)
class _Wildcard:
    """A ``StringMatches`` pattern: literal pieces separated by ``*`` (any run of chars)."""

    parts: tuple[str, ...]

    def match(self, s: str) -> bool:
        parts = self.parts
        if len(parts) == 1:
            return s == parts[0]
        first, last = parts[0], parts[-1]
        end = len(s) - len(last)
        if end < len(first) or not s.startswith(first) or not s.endswith(last):
            return False
        # Leftmost placement of each middle piece is optimal for '*'-only globs: linear
        # scans, no backtracking, whatever the pattern.
        pos = len(first)
        for piece in parts[1:-1]:
            i = s.find(piece, pos, end)
            if i < 0:
                return False
            pos = i + len(piece)
        return True


def _wildcard(pattern: str) -> _Wildcard:
    r"""Split on unescaped ``*``; ``\*`` is a literal star, ``\\`` a literal backslash."""
    parts: list[str] = []
    piece: list[str] = []
    chars = iter(pattern)
    for c in chars:
        if c == "\\":
            # A backslash escapes the next character; a trailing one stands for itself.
            piece.append(next(chars, "\\"))
        elif c == "*":
            parts.append("".join(piece))
            piece = []
        else:
            piece.append(c)
    parts.append("".join(piece))
    return _Wildcard(tuple(parts))


def _string(v: Any) -> Any:
    return v if type(v) is str else _WRONG


def _number(v: Any) -> Any:
    return v if _is_number(v) else _WRONG


def _boolean(v: Any) -> Any:
    return v if type(v) is bool else _WRONG


def _timestamp(v: Any) -> Any:
    t = parse_timestamp(v) if type(v) is str else None
    return _WRONG if t is None else t


def _matches_pattern(v: Any) -> Any:
    return _wildcard(v) if type(v) is str else _WRONG


def _value_timestamp(v: Any) -> datetime | None:
    return parse_timestamp(v) if type(v) is str else None


@dataclass(frozen=True, slots=True)
class _Operator:
    expects: str  # the JSON type of the operand, for definition errors
    prepare: Callable[[Any], Any]  # operand -> its compiled form, or _WRONG
    test: Callable[[Any, Any], bool]  # (Variable's value, compiled operand) -> matched
    has_path: bool = True  # whether "<name>Path" exists


def _ts(cmp: Callable[[datetime, datetime], bool]) -> Callable[[Any, Any], bool]:
    def test(v: Any, o: datetime) -> bool:
        t = _value_timestamp(v)
        return t is not None and cmp(t, o)

    return test


# The comparison operators. Rules: the key is the field name of a Choice Rule; when
# ``has_path`` the same name + "Path" takes a reference path whose value is resolved at
# run time and passed through ``prepare`` (a wrong type makes the rule false). ``test``
# receives the Variable's value as any JSON value and must return False, never raise, for
# a value of the wrong type. Is* operands are the boolean the type test must equal.
OPERATORS: Final[dict[str, _Operator]] = {
    "StringEquals": _Operator("String", _string, lambda v, o: type(v) is str and v == o),
    "StringLessThan": _Operator(
        "String", _string, lambda v, o: type(v) is str and _java_compare(v, o) < 0
    ),
    "StringGreaterThan": _Operator(
        "String", _string, lambda v, o: type(v) is str and _java_compare(v, o) > 0
    ),
    "StringLessThanEquals": _Operator(
        "String", _string, lambda v, o: type(v) is str and _java_compare(v, o) <= 0
    ),
    "StringGreaterThanEquals": _Operator(
        "String", _string, lambda v, o: type(v) is str and _java_compare(v, o) >= 0
    ),
    "StringMatches": _Operator(
        "String", _matches_pattern, lambda v, o: type(v) is str and o.match(v), has_path=False
    ),
    "NumericEquals": _Operator("Number", _number, lambda v, o: _is_number(v) and v == o),
    "NumericLessThan": _Operator("Number", _number, lambda v, o: _is_number(v) and v < o),
    "NumericGreaterThan": _Operator("Number", _number, lambda v, o: _is_number(v) and v > o),
    "NumericLessThanEquals": _Operator("Number", _number, lambda v, o: _is_number(v) and v <= o),
    "NumericGreaterThanEquals": _Operator("Number", _number, lambda v, o: _is_number(v) and v >= o),
    "BooleanEquals": _Operator("Boolean", _boolean, lambda v, o: type(v) is bool and v is o),
    "TimestampEquals": _Operator("Timestamp", _timestamp, _ts(lambda t, o: t == o)),
    "TimestampLessThan": _Operator("Timestamp", _timestamp, _ts(lambda t, o: t < o)),
    "TimestampGreaterThan": _Operator("Timestamp", _timestamp, _ts(lambda t, o: t > o)),
    "TimestampLessThanEquals": _Operator("Timestamp", _timestamp, _ts(lambda t, o: t <= o)),
    "TimestampGreaterThanEquals": _Operator("Timestamp", _timestamp, _ts(lambda t, o: t >= o)),
    "IsNull": _Operator("Boolean", _boolean, lambda v, o: (v is None) is o, has_path=False),
    "IsBoolean": _Operator(
        "Boolean", _boolean, lambda v, o: (type(v) is bool) is o, has_path=False
    ),
    "IsNumeric": _Operator("Boolean", _boolean, lambda v, o: _is_number(v) is o, has_path=False),
    "IsString": _Operator("Boolean", _boolean, lambda v, o: (type(v) is str) is o, has_path=False),
    "IsTimestamp": _Operator(
        "Boolean", _boolean, lambda v, o: (_value_timestamp(v) is not None) is o, has_path=False
    ),
    # IsPresent never sees a value: its evaluator is built by _is_present.
    "IsPresent": _Operator("Boolean", _boolean, lambda v, o: o is True, has_path=False),
}

# Every comparison field a rule may carry -> (operator, operand is a path).
_FIELDS: Final[dict[str, tuple[_Operator, bool]]] = {
    **{name: (op, False) for name, op in OPERATORS.items()},
    **{name + "Path": (op, True) for name, op in OPERATORS.items() if op.has_path},
}
_COMBINATORS: Final = ("And", "Or", "Not")
_ANNOTATIONS: Final = frozenset({"Comment"})
_TOP_LEVEL: Final = frozenset({"Next", "Assign", "Output"})


# --------------------------------------------------------------------------- paths


def _invalid_path(path: str) -> WorkflowError:
    return WorkflowError(
        "States.Runtime",
        f"Invalid path '{path}': The choice state's condition path references an invalid value.",
    )


def _reference(text: Any, pointer: str, name: str) -> Resolve:
    """Compile a reference path (``$.x``, ``$$.Execution.Input``, ``$var.x``)."""
    if not isinstance(text, str):
        raise DefinitionError("Expected value of type String", f"{pointer}/{name}")
    try:
        path = jsonpath.compile_path(text)
    except DefinitionError as exc:
        raise DefinitionError(
            f"The value for the field '{name}' must be a valid JSONPath", f"{pointer}/{name}"
        ) from exc
    # JsonPath.resolve picks the root ($ input, $$ context object, $name variable).
    return path.resolve


# --------------------------------------------------------------------------- compiling


def compile_choice_rule(
    rule: dict[str, Any], pointer: str, *, top_level: bool = True
) -> ChoiceRule:
    """Compile one Choice Rule found at JSON Pointer ``pointer``.

    ``top_level`` rules (elements of ``Choices``) need ``Next``; rules nested in
    And/Or/Not must not have it. Raises :class:`DefinitionError` for a malformed rule.
    """
    if not isinstance(rule, dict):
        raise DefinitionError("Expected value of type Object", pointer)
    allowed = _ANNOTATIONS | _TOP_LEVEL if top_level else _ANNOTATIONS
    kinds = [k for k in rule if k in _FIELDS or k in _COMBINATORS or k == "Condition"]
    for key in rule:
        if key not in allowed and key != "Variable" and key not in kinds:
            raise DefinitionError(
                f"The field '{key}' is not supported by Step Functions",
                f"{pointer}/{pointer_key(key)}",
            )
    if len(kinds) != 1:
        raise DefinitionError(
            "A Choice Rule must have exactly one comparison operator or And, Or, Not, Condition",
            pointer,
        )
    kind = kinds[0]
    nxt = rule.get("Next")
    if top_level and not isinstance(nxt, str):
        if "Next" in rule:
            raise DefinitionError("Expected value of type String", f"{pointer}/Next")
        raise DefinitionError("These fields are required: [Next]", pointer)
    if "Variable" in rule and kind not in _FIELDS:
        raise DefinitionError(
            "The field 'Variable' is not supported by Step Functions", f"{pointer}/Variable"
        )
    extra: dict[str, Any] = {
        "next": nxt,
        "assign": rule.get("Assign"),
        "output": rule.get("Output"),
    }
    operand = rule[kind]
    at = f"{pointer}/{kind}"
    if kind == "Condition":
        return _condition(operand, at, extra)
    if kind in _COMBINATORS:
        return _combination(kind, operand, at, extra)
    if "Variable" not in rule:
        raise DefinitionError("These fields are required: [Variable]", pointer)
    variable = rule["Variable"]
    var = _reference(variable, pointer, "Variable")
    op, is_path = _FIELDS[kind]
    if is_path:
        evaluate = _path_comparison(var, variable, op, _reference(operand, pointer, kind), operand)
    else:
        prepared = op.prepare(operand)
        if prepared is _WRONG:
            raise DefinitionError(_literal_error(op, operand), at)
        if kind == "IsPresent":
            evaluate = _is_present(var, prepared)
        else:
            evaluate = _comparison(var, variable, op.test, prepared)
    return ChoiceRule(operator=kind, variable=variable, operand=operand, evaluate=evaluate, **extra)


def _literal_error(op: _Operator, operand: Any) -> str:
    if op.expects != "Timestamp":
        return f"Expected value of type {op.expects}"
    # The message AWS gives for a bad literal Wait Timestamp; a Timestamp is a string.
    if isinstance(operand, str):
        return "String does not match RFC3339 timestamp"
    return "Expected value of type String"


def _condition(condition: Any, at: str, extra: dict[str, Any]) -> ChoiceRule:
    if isinstance(condition, bool):
        return ChoiceRule(
            operator="Condition",
            condition=condition,
            evaluate=lambda d, c, v: condition,
            **extra,
        )
    if not (isinstance(condition, str) and condition.startswith("{%") and condition.endswith("%}")):
        raise DefinitionError("The field 'Condition' must be a boolean or a JSONata expression", at)

    def jsonata_only(data: Any, context: dict[str, Any], variables: Mapping[str, Any]) -> bool:
        raise NotImplementedError("a JSONata Condition is evaluated by the JSONata engine")

    return ChoiceRule(operator="Condition", condition=condition, evaluate=jsonata_only, **extra)


def _combination(kind: str, operand: Any, at: str, extra: dict[str, Any]) -> ChoiceRule:
    if kind == "Not":
        if not isinstance(operand, dict):
            raise DefinitionError("Expected value of type Object", at)
        inner = compile_choice_rule(operand, at, top_level=False)
        test = inner.evaluate
        return ChoiceRule(
            operator=kind, rules=(inner,), evaluate=lambda d, c, v: not test(d, c, v), **extra
        )
    if not isinstance(operand, list) or not operand:
        raise DefinitionError("Expected value of type non-empty Array", at)
    rules = tuple(
        compile_choice_rule(r, f"{at}/{i}", top_level=False) for i, r in enumerate(operand)
    )
    tests = tuple(r.evaluate for r in rules)
    want = kind == "Or"  # And stops at the first false, Or at the first true

    def combined(data: Any, context: dict[str, Any], variables: Mapping[str, Any]) -> bool:
        for t in tests:
            if t(data, context, variables) is want:
                return want
        return not want

    return ChoiceRule(operator=kind, rules=rules, evaluate=combined, **extra)


def _comparison(
    var: Resolve, text: str, test: Callable[[Any, Any], bool], operand: Any
) -> Evaluate:
    def evaluate(data: Any, context: dict[str, Any], variables: Mapping[str, Any]) -> bool:
        try:
            value = var(data, context, variables)
        except jsonpath.PathNotFound:
            raise _invalid_path(text) from None
        return test(value, operand)

    return evaluate


def _path_comparison(
    var: Resolve, text: str, op: _Operator, other: Resolve, other_text: str
) -> Evaluate:
    test, prepare = op.test, op.prepare

    def evaluate(data: Any, context: dict[str, Any], variables: Mapping[str, Any]) -> bool:
        try:
            value = var(data, context, variables)
        except jsonpath.PathNotFound:
            raise _invalid_path(text) from None
        try:
            operand = prepare(other(data, context, variables))
        except jsonpath.PathNotFound:
            raise _invalid_path(other_text) from None
        return operand is not _WRONG and test(value, operand)

    return evaluate


def _is_present(var: Resolve, expected: bool) -> Evaluate:
    def evaluate(data: Any, context: dict[str, Any], variables: Mapping[str, Any]) -> bool:
        try:
            var(data, context, variables)
        except jsonpath.PathNotFound:
            return not expected
        return expected

    return evaluate
