"""JSONata for Step Functions: the one module that imports the JSONata engine.

The engine is ``jsonata2py`` (pure Python; it translates each expression to Python source
once, so evaluation is a plain function call). It was chosen by measurement against the
other PyPI engines (``bench/jsonata_engines.py``): best pass rate on JSONata's own test
suite and fastest evaluation. Everything engine-specific stays here, so swapping engines
touches one file.

What Step Functions adds on top of JSONata, as AWS does it:

- ``{% expr %}`` strings (exactly: no space before ``{%`` or after ``%}``) are expressions,
  anywhere in a JSON template; other strings are literals.
- ``$states`` (``input``, ``context``, ``result``, ``errorOutput``) and the workflow
  variables are bound as ``$name``; there is no input document (``$`` is undefined).
- Functions ``$partition``, ``$range``, ``$hash``, ``$random([seed])``, ``$uuid``, ``$parse``.
  ``$random()`` and ``$uuid()`` draw from the caller's ``Env`` so the engine stays
  deterministic; ``$eval`` is not offered (AWS points to ``$parse``).
- A result must be JSON: undefined, a function or a non-finite number is a
  ``States.QueryEvaluationError`` naming the expression and the field, with AWS's text.

Results may share structure with ``$states``/variables and with template constants:
callers treat every value as immutable.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jsonata2py
from jsonata2py import JsonataFunctionArguments
from jsonata2py.parser import ast_nodes as ast
from jsonata2py.parser.lexer import Lexer
from jsonata2py.parser.parser import Parser
from jsonata2py.parser.tokens import TokenType

from opensfn.asl.intrinsic_functions import HASH_ALGORITHMS
from opensfn.asl.schema import pointer_key
from opensfn.errors import DefinitionError, WorkflowError

QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"

_FACTORY = jsonata2py.JsonataExpressionFactory()
_MISSING = jsonata2py.MISSING


# ---------------------------------------------------------------------- the CPU budget
#
# JSONata can ask for unbounded work (``$map([1..9999999], function($x){ $count([1..9999999])
# })``), and expressions run on the server's one event loop: a runaway one would stall every
# execution, and again after each restart. A step therefore runs under a budget of CPU time
# (``CpuBudget``, armed by the runtime around each engine call): an expression still running
# when it is spent, or started after, fails with States.QueryEvaluationError like any
# JSONata error, so the state's Catch and Retry apply (the budget is renewed once for them).
# The budget is a one-shot ITIMER_VIRTUAL (the process's user CPU; 0.6 us to arm and
# disarm): SIGVTALRM's handler interrupts only JSONata evaluation, and only in the main
# thread, where Python runs signal handlers; elsewhere, or when SIGVTALRM already has
# another owner (or does not exist), there is no budget.


class _Overrun(BaseException):
    """Raised inside a JSONata evaluation when the step's CPU budget is spent (a
    BaseException, so that no ``except Exception`` on the way swallows it)."""


_MAIN = threading.main_thread().ident
_spent = False  # the budget of the step being run is spent
_handler_ours: bool | None = None  # SIGVTALRM is ours (decided at the first arming)


def _on_spent(signum: int, frame: Any) -> None:
    # Runs in the main thread, between two bytecodes of whatever it was running: stop it
    # only inside a JSONata evaluation (found on the stack, so the hot path pays nothing).
    global _spent
    _spent = True
    while frame is not None:
        if frame.f_code is _EVALUATE:
            raise _Overrun
        frame = frame.f_back


def _can_arm() -> bool:
    global _handler_ours
    if threading.get_ident() != _MAIN:
        return False
    if _handler_ours is None:
        vtalrm = getattr(signal, "SIGVTALRM", None)  # (none on Windows)
        _handler_ours = vtalrm is not None and signal.getsignal(vtalrm) in (signal.SIG_DFL, None)
        if _handler_ours:
            signal.signal(signal.SIGVTALRM, _on_spent)
    return _handler_ours


class CpuBudget:
    """``with budget:`` runs an engine call under ``seconds`` of CPU time for its JSONata
    (0: no limit). A ``with`` inside another shares the outer one's budget."""

    __slots__ = ("_armed", "_depth", "_renewed", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._depth = 0
        self._armed = False
        self._renewed = False

    def __enter__(self) -> None:
        global _spent
        self._depth += 1
        if self._depth == 1 and self.seconds > 0 and _can_arm():
            _spent = False
            signal.setitimer(signal.ITIMER_VIRTUAL, self.seconds)
            self._armed = True
            self._renewed = False

    def renew(self) -> None:
        """After an expression was stopped: what follows in the step (the state's Catch,
        its Retry) gets a fresh budget, once per step, so a step stays bounded by twice
        the limit however many expressions it runs (a Map's iterations)."""
        global _spent
        if self._armed and not self._renewed:
            self._renewed = True
            _spent = False
            signal.setitimer(signal.ITIMER_VIRTUAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        global _spent
        self._depth -= 1
        if self._depth == 0 and self._armed:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            self._armed = False
            _spent = False


STEP_BUDGET = CpuBudget(5.0)
"""The budget the runtime arms around every engine call (``--expression-cpu-limit``)."""


class Env(Protocol):
    """Where ``$uuid()`` and an unseeded ``$random()`` get their values (the StepContext)."""

    new_uuid: Callable[[], str]
    random: Callable[[], float]


def is_template(value: Any) -> bool:
    """True for a string AWS evaluates as JSONata: it starts with ``{%`` and ends with ``%}``."""
    return isinstance(value, str) and len(value) >= 4 and value[:2] == "{%" and value[-2:] == "%}"


# --------------------------------------------------------------------------- AWS functions


class _FunctionError(Exception):
    """A Step Functions function refused its arguments; the text becomes the cause."""


def _partition(array: list[Any], size: float) -> list[list[Any]]:
    if size != int(size) or size <= 0:
        raise _FunctionError("The chunk size of $partition must be a positive integer")
    n = int(size)
    return [array[i : i + n] for i in range(0, len(array), n)]


def _range(start: float, end: float, step: float) -> Any:
    if step == 0 or any(v != int(v) for v in (start, end, step)):
        raise _FunctionError("The arguments of $range must be integers and the step not 0")
    values = list(range(int(start), int(end) + (1 if step > 0 else -1), int(step)))
    # AWS returns a JSONata sequence: one value comes back alone, not in an array.
    return values[0] if len(values) == 1 else values


def _hash(value: str, algorithm: str) -> str:
    name = HASH_ALGORITHMS.get(algorithm)
    if name is None:
        raise _FunctionError(f"The hash algorithm must be one of {', '.join(HASH_ALGORITHMS)}")
    return hashlib.new(name, value.encode()).hexdigest()


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise _FunctionError(f"The argument of $parse is not valid JSON: {text}") from None


def _seeded_random(seed: float) -> float:
    """``java.util.Random(seed).nextDouble()``: a seed always gives the same number."""
    mask = (1 << 48) - 1
    state = (int(seed) ^ 0x5DEECE66D) & mask
    words = []
    for bits in (26, 27):
        state = (state * 0x5DEECE66D + 0xB) & mask
        words.append(state >> (48 - bits))
    return ((words[0] << 27) + words[1]) * 2.0**-53


@dataclass(frozen=True, slots=True)
class _Function:
    """A function bound into every expression; ``impl(env, *args)`` when ``uses_env``."""

    signature: str
    impl: Callable[..., Any]
    env: Env | None = None

    def get_function_signature(self) -> str:
        return self.signature

    def apply(self, args: JsonataFunctionArguments) -> Any:
        values = args.as_list()
        if self.env is not None:
            return self.impl(self.env, *values)
        return self.impl(*values)


def _random(env: Env, seed: Any = _MISSING) -> float:
    return env.random() if seed is _MISSING or seed is None else _seeded_random(seed)


def _uuid(env: Env) -> str:
    return env.new_uuid()


# Step Functions' functions: name -> (JSONata signature, implementation, needs the Env).
# `random` is renamed at compile time (see _RENAMES) because jsonata2py's own $random
# cannot be overridden by a binding.
_FUNCTIONS: dict[str, tuple[str, Callable[..., Any], bool]] = {
    "partition": ("<an:a>", _partition, False),
    "range": ("<nnn:x>", _range, False),
    "hash": ("<ss:s>", _hash, False),
    "parse": ("<s:x>", _parse, False),
    "__sfn_random": ("<n?:n>", _random, True),
    "uuid": ("<:s>", _uuid, True),
}
_STATIC = {n: _Function(sig, f) for n, (sig, f, env) in _FUNCTIONS.items() if not env}

# Names rewritten in the expression text before compiling: AWS's seeded $random replaces
# JSONata's, and $eval is unavailable (an unbound name fails with T1006 as on AWS).
_RENAMES = {"random": "__sfn_random", "eval": "__sfn_eval"}


class _Scope:
    """The bindings one evaluation sees: ``$states``, the variables, the functions.

    It answers jsonata2py's bindings protocol by lookup, so no variable is copied.
    """

    __slots__ = ("env", "states", "variables")

    def __init__(self, states: dict[str, Any], variables: Mapping[str, Any], env: Env) -> None:
        self.states = states
        self.variables = variables
        self.env = env

    def is_empty(self) -> bool:
        return False

    def get_value(self, name: str) -> Any:
        if name == "states":
            return self.states
        return self.variables.get(name, _MISSING)

    def get_function(self, name: str) -> _Function | None:
        spec = _FUNCTIONS.get(name)
        if spec is None:
            return None
        return _Function(spec[0], spec[1], self.env) if spec[2] else _STATIC[name]

    def get_values(self) -> dict[str, Any]:
        return {**self.variables, "states": self.states}

    def get_functions(self) -> dict[str, _Function]:
        return {name: f for name in _FUNCTIONS if (f := self.get_function(name)) is not None}


# --------------------------------------------------------------------------- expressions

# JSONata's own wording for codes whose engine text differs; AWS prints "CODE: text".
_MESSAGES = {
    "T1006": "Attempted to invoke a non-function",
    "T2006": "The right side of the function application operator ~> must be a function",
    "D3001": "Attempting to invoke string function on Infinity or NaN",
}


# JSONata's wording where the engine's text lacks what JSONata quotes: the operator, the
# function's name, the array's item type (jsonata-js renders each as a JSON string, e.g.
# ``T0412: Argument 1 of function "sum" must be an array of "numbers"``, the text AWS
# returns). Rules: (code, engine text pattern, template; {function} is filled from the
# expression when it calls exactly one function, else that error keeps the engine's text).
_REWORDED: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "T2001",
        re.compile(r"The left side of the (\S+) operator must evaluate to a number"),
        'The left side of the "{0}" operator must evaluate to a number',
    ),
    (
        "T2002",
        re.compile(r"The right side of the (\S+) operator must evaluate to a number"),
        'The right side of the "{0}" operator must evaluate to a number',
    ),
    (
        "T0410",
        re.compile(r"Argument (\d+) of function does not match function signature"),
        'Argument {0} of function "{function}" does not match function signature',
    ),
    (
        "T0410",
        re.compile(r"\$(\w+)\(\) function: argument (\d+) of \$\w+ must be .+"),
        'Argument {1} of function "{0}" does not match function signature',
    ),
    (
        "T0410",
        re.compile(r"Argument (\d+) of \$(\w+) must be .+"),
        'Argument {0} of function "{1}" does not match function signature',
    ),
    (
        "T0410",
        re.compile(r"\$(\w+): argument must be .+"),
        'Argument 1 of function "{0}" does not match function signature',
    ),
    (
        "T0411",
        re.compile(r"Context value is not a compatible type with argument (\d+)"),
        'Context value is not a compatible type with argument {0} of function "{function}"',
    ),
    (
        "T0412",
        re.compile(r"Argument (\d+) of function must be an array of (\w+)"),
        'Argument {0} of function "{function}" must be an array of "{1}"',
    ),
)


_CAST_PREFIX = "$number: unable to cast value to a number: "


def _error_text(exc: jsonata2py.JsonataError, expression: str | None = None) -> str:
    code = exc.error_code if exc.error_code and exc.error_code != "UNKNOWN" else None
    message = exc.message
    cut = message.rfind(" (position ")
    if cut >= 0 and message.endswith(")"):
        message = message[:cut]
    if code is None:
        return message
    if code == "D3030" and message.startswith(_CAST_PREFIX):  # only strings fail the cast
        return (
            f"{code}: Unable to cast value to a number: {json.dumps(message[len(_CAST_PREFIX) :])}"
        )
    for rule_code, pattern, template in _REWORDED:
        match = pattern.fullmatch(message) if rule_code == code else None
        if match is None:
            continue
        if "{function}" in template:
            called = _called_functions(expression or "")
            if len(called) != 1:
                continue
            return f"{code}: {template.format(*match.groups(), function=called[0])}"
        return f"{code}: {template.format(*match.groups())}"
    return f"{code}: {_MESSAGES.get(code, message)}"


def _called_functions(text: str) -> list[str]:
    """Names of the functions ``text`` calls (``$sum(...)`` gives ``sum``), each once."""
    try:
        tokens = Lexer.tokenize(text)
    except jsonata2py.JsonataError:
        return []
    names: list[str] = []
    for token, following in itertools.pairwise(tokens):
        if (
            token.type is TokenType.VARIABLE
            and following.type is TokenType.LPAREN
            and token.value not in names
        ):
            names.append(token.value)
    return names


def _rewrite(text: str) -> str:
    """Rename the variables of _RENAMES, token by token (strings and regexes untouched)."""
    tokens = [
        t
        for t in Lexer.tokenize(text)
        if t.type is TokenType.VARIABLE and t.value in _RENAMES and text[t.position] == "$"
    ]
    for token in reversed(tokens):
        start = token.position + 1
        text = text[:start] + _RENAMES[token.value] + text[start + len(token.value) :]
    return text


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled JSONata expression; ``text`` is as written, without ``{% %}``."""

    text: str
    _compiled: Any

    def evaluate(
        self, states: dict[str, Any], variables: Mapping[str, Any], env: Env, field: str
    ) -> Any:
        """Evaluate to a JSON value; raise ``States.QueryEvaluationError`` as AWS does.

        ``states`` is the ``$states`` binding, ``variables`` the workflow variables,
        ``field`` the name AWS puts in the cause (``Output``, ``Assign/x``, ``Items``).
        """
        try:
            if _spent and threading.get_ident() == _MAIN:
                raise _Overrun
            result = self._compiled.evaluate(None, _Scope(states, variables, env))
        except _Overrun:
            STEP_BUDGET.renew()
            limit = f"{STEP_BUDGET.seconds:g}"
            raise self._error(
                field,
                f"threw an error during evaluation: it ran past opensfn's limit of {limit} "
                "seconds of CPU time for one step (--expression-cpu-limit)",
            ) from None
        except jsonata2py.JsonataError as exc:
            # AWS: ". CODE: message" after a coded JSONata error, ": message" otherwise
            text = _error_text(exc, self.text)
            sep = ". " if _CODES.match(text) else ": "
            what = f"threw an error during evaluation{sep}{text}"
            raise self._error(field, what) from None
        if result is _MISSING:
            raise self._error(field, "returned nothing (undefined).")
        try:
            return _to_json(result)
        except _NotJson:
            raise self._error(field, "returned an unsupported result type.") from None

    def _error(self, field: str, what: str) -> WorkflowError:
        return WorkflowError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{self.text}' specified for the field '{field}' {what}",
        )


_EVALUATE = Expression.evaluate.__code__
_CODES = re.compile(r"^(?:[STDU]\d{4}: )+")  # JSONata error codes, which AWS leaves out


def compile_expression(text: str, pointer: str) -> Expression:
    """Compile ``text`` (without ``{% %}``) once; a syntax error is a ``DefinitionError``."""
    source = text.strip()
    rewritten = _rewrite(source)
    try:
        compiled = _FACTORY.compile(rewritten)
    except jsonata2py.JsonataError:
        try:  # report the error against the text as written, not the rewritten one
            compiled = _FACTORY.compile(source)
        except jsonata2py.JsonataError as exc:
            raise DefinitionError(
                f"The JSONata expression '{source}' is not valid: {_error_text(exc)}", pointer
            ) from None
    return Expression(source, compiled)


# Where a sub-expression is evaluated in the expression's own (root) context, by node type:
# the attributes holding such sub-expressions. A path's later steps, predicates, sort and
# group clauses and lambda bodies run in another context and are not followed.
_ROOT_CONTEXT: dict[type, tuple[str, ...]] = {
    ast.PredicateExpr: ("source",),
    ast.ArraySubscript: ("source",),
    ast.ForceArray: ("source",),
    ast.BinaryOp: ("left", "right"),
    ast.ElvisExpr: ("left", "right"),
    ast.CoalesceExpr: ("left", "right"),
    ast.UnaryMinus: ("operand",),
    ast.ConditionalExpr: ("condition", "then", "otherwise"),
    ast.RangeExpr: ("from_", "to"),
    ast.Parenthesized: ("inner",),
    ast.VariableBinding: ("value",),
}


def static_problems(text: str) -> tuple[str | None, list[str]]:
    """What AWS refuses in an expression (``text`` without ``{% %}``) when a definition
    is created, from one parse: why it does not parse (the parser's message without
    JSONata's code, as INVALID_JSONATA_EXPRESSION), else the field names it reads at its
    top level, where Step Functions gives no context item (``phone``, ``phone.number``,
    ``$count(items)``), in order, each once (``UNSUPPORTED_JSONATA_EXPRESSION: Reference
    to 'phone' at the top level is not supported.``)."""
    try:
        root = Parser.parse(text.strip())
    except jsonata2py.JsonataError as exc:
        return _CODES.sub("", _error_text(exc)), []
    return None, _top_level_fields(root)


def _top_level_fields(root: Any) -> list[str]:
    found: list[str] = []
    todo: list[Any] = [root]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FieldRef):
            if node.name not in found:
                found.append(node.name)
            continue
        children: list[Any] = []
        if isinstance(node, ast.PathExpr):
            children = node.steps[:1]
        elif isinstance(node, ast.Block):
            children = list(node.expressions)
        elif isinstance(node, ast.FunctionCall | ast.LambdaCall | ast.PartialApplication):
            children = list(node.args)
        elif isinstance(node, ast.ArrayConstructor):
            children = list(node.elements)
        elif isinstance(node, ast.ObjectConstructor):
            children = [part for pair in node.pairs for part in (pair.key, pair.value)]
        elif isinstance(node, ast.ChainExpr):
            children = node.steps[:1]
        else:
            children = [getattr(node, a) for a in _ROOT_CONTEXT.get(type(node), ())]
        todo.extend(reversed([c for c in children if c is not None]))
    return found


class _NotJson(Exception):
    pass


def _to_json(value: Any) -> Any:
    """The engine's result as plain JSON data, sharing unchanged containers."""
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _NotJson
        # JSONata numbers are doubles; AWS prints integral ones without a fraction.
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dict):
        out_d = {k: _to_json(v) for k, v in value.items() if v is not _MISSING}
        same = kind is dict and len(out_d) == len(value)
        return value if same and all(out_d[k] is value[k] for k in out_d) else out_d
    if isinstance(value, list):
        out_l = [_to_json(v) for v in value if v is not _MISSING]
        same = kind is list and len(out_l) == len(value)
        return value if same and all(a is b for a, b in zip(out_l, value, strict=True)) else out_l
    raise _NotJson


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True, slots=True)
class _Node:
    """A template tree: a constant, an expression, or an object/array of nodes."""

    constant: Any = None
    expression: Expression | None = None
    field: str = ""
    items: tuple[tuple[str, _Node], ...] | None = None  # object members
    elements: tuple[_Node, ...] | None = None  # array elements

    @property
    def is_constant(self) -> bool:
        return self.expression is None and self.items is None and self.elements is None


def _compile_node(value: Any, pointer: str, field: str) -> _Node:
    if is_template(value):
        return _Node(expression=compile_expression(value[2:-2], pointer), field=field)
    if isinstance(value, dict):
        members = tuple(
            (k, _compile_node(v, f"{pointer}/{pointer_key(k)}", f"{field}/{k}"))
            for k, v in value.items()
        )
        if all(node.is_constant for _, node in members):
            return _Node(constant=value)
        return _Node(items=members)
    if isinstance(value, list):
        elements = tuple(
            _compile_node(v, f"{pointer}/{i}", f"{field}[{i}]") for i, v in enumerate(value)
        )
        if all(e.is_constant for e in elements):
            return _Node(constant=value)
        return _Node(elements=elements)
    return _Node(constant=value)


def _evaluate_node(
    node: _Node, states: dict[str, Any], variables: Mapping[str, Any], env: Env
) -> Any:
    if node.expression is not None:
        return node.expression.evaluate(states, variables, env, node.field)
    if node.items is not None:
        return {k: _evaluate_node(n, states, variables, env) for k, n in node.items}
    if node.elements is not None:
        return [_evaluate_node(n, states, variables, env) for n in node.elements]
    return node.constant


@dataclass(frozen=True, slots=True)
class Template:
    """A JSON value whose ``{% %}`` strings, at any depth, are compiled expressions."""

    root: _Node

    @property
    def is_constant(self) -> bool:
        """True when the template holds no expression (its value never changes)."""
        return self.root.is_constant

    def evaluate(self, states: dict[str, Any], variables: Mapping[str, Any], env: Env) -> Any:
        """The template's value; the first failing expression raises its WorkflowError."""
        return _evaluate_node(self.root, states, variables, env)


def compile_template(value: Any, pointer: str, field: str) -> Template:
    """Compile every ``{% %}`` string in ``value``; ``field`` names the root in causes.

    Members are named ``field/key`` (and ``field[index]`` in arrays) as AWS names them,
    e.g. ``Output/result``; ``pointer`` locates syntax errors (``/States/A/Output/result``).
    """
    return Template(_compile_node(value, pointer, field))


def check_type(expression: Expression, value: Any, expected: str, field: str) -> None:
    """Raise AWS's error when a field needs a JSON type (``array`` for Map ``Items``...)."""
    actual = json_type(value)
    if actual != expected:
        shown = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        raise expression._error(
            field,
            f"returned an unexpected result type. Expected '{expected}', "
            f"but was '{actual}' for value: {shown}",
        )


def json_type(value: Any) -> str:
    """JSON's name for the type of ``value``: object, array, string, number, boolean, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
