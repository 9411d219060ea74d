"""Intrinsic function calls (``States.Format('x {}', $.a)``): a hand-written parser,
compiled once into a small tree, evaluated against the input, context and variables.

Grammar (whitespace allowed between tokens)::

    call     := 'States.' Name '(' [arg (',' arg)*] ')'
    arg      := call | path | string | number | 'true' | 'false' | 'null'
    path     := '$' ...            ($ input, $$ context, $name variable; up to ',' or ')')
    string   := "'" (char | '\\' one of ' { } \\)* "'"

Any other backslash escape is a definition error, as AWS rejects ``\\"`` in a literal
(recorded in the corpus). The functions themselves are the table in
:mod:`opensfn.asl.intrinsic_functions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from opensfn.asl.jsonpath import JsonPath, compile_path
from opensfn.errors import DefinitionError, WorkflowError


class Env(Protocol):
    """The outside world an intrinsic may use; the engine's ``StepContext`` satisfies it."""

    @property
    def new_uuid(self) -> Callable[[], str]: ...

    @property
    def random(self) -> Callable[[], float]: ...


class IntrinsicError(Exception):
    """Raised by a function of the table; becomes ``States.IntrinsicFailure``."""


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal argument. ``format_parts`` splits a string at its unescaped ``{}``."""

    value: Any
    format_parts: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class PathArg:
    """A path argument, resolved at evaluation."""

    path: JsonPath


@dataclass(frozen=True, slots=True)
class Intrinsic:
    """A compiled call: ``name`` (``States.Format``) applied to ``args``."""

    text: str
    name: str
    args: tuple[Literal | PathArg | Intrinsic, ...]

    def evaluate(self, data: Any, context: Any, variables: Mapping[str, Any], env: Env) -> Any:
        """Evaluate the call. Raises :class:`~opensfn.asl.jsonpath.PathNotFound` for a path
        argument that does not resolve and ``WorkflowError(States.IntrinsicFailure)`` when
        the function rejects its arguments."""
        from opensfn.asl.intrinsic_functions import FUNCTIONS

        values = [_arg_value(a, data, context, variables, env) for a in self.args]
        try:
            return FUNCTIONS[self.name].impl(values, self.args, env)
        except IntrinsicError as exc:
            raise WorkflowError("States.IntrinsicFailure", str(exc)) from None


def _arg_value(
    arg: Literal | PathArg | Intrinsic,
    data: Any,
    context: Any,
    variables: Mapping[str, Any],
    env: Env,
) -> Any:
    if isinstance(arg, Literal):
        return arg.value
    if isinstance(arg, PathArg):
        return arg.path.resolve(data, context, variables)
    return arg.evaluate(data, context, variables, env)


def is_intrinsic(expr: str) -> bool:
    """True when ``expr`` looks like a call (starts with ``States.``)."""
    return expr.startswith("States.")


def compile_intrinsic(expr: str) -> Intrinsic:
    """Compile ``expr``; raises :class:`DefinitionError` on a syntax error, an unknown
    function or a wrong number of arguments."""
    parser = _Parser(expr)
    try:
        call = parser.call()
        parser.skip()
        if parser.pos != len(expr):
            raise _Syntax(f"unexpected text at {parser.pos}")
    except _Syntax as exc:
        raise DefinitionError(f"Invalid intrinsic function call {expr!r}: {exc}") from None
    return call


class _Syntax(Exception):
    pass


_NAME = re.compile(r"States\.([A-Za-z0-9]+)")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_ESCAPABLE = "'{}\\"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self) -> Intrinsic:
        from opensfn.asl.intrinsic_functions import FUNCTIONS

        start = self.pos
        m = _NAME.match(self.text, self.pos)
        if m is None:
            raise _Syntax(f"expected a function name at {self.pos}")
        name = m.group()
        if name not in FUNCTIONS:
            raise _Syntax(f"unknown function {name}")
        self.pos = m.end()
        self.skip()
        if not self.text.startswith("(", self.pos):
            raise _Syntax(f"expected '(' at {self.pos}")
        self.pos += 1
        args: list[Literal | PathArg | Intrinsic] = []
        self.skip()
        if self.text.startswith(")", self.pos):
            self.pos += 1
        else:
            while True:
                args.append(self.arg())
                self.skip()
                if self.text.startswith(",", self.pos):
                    self.pos += 1
                    continue
                if self.text.startswith(")", self.pos):
                    self.pos += 1
                    break
                raise _Syntax(f"expected ',' or ')' at {self.pos}")
        spec = FUNCTIONS[name]
        if not spec.min_args <= len(args) <= spec.max_args:
            raise _Syntax(f"{name} takes {spec.arity_text} arguments, got {len(args)}")
        return Intrinsic(self.text[start : self.pos], name, tuple(args))

    def arg(self) -> Literal | PathArg | Intrinsic:
        self.skip()
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise _Syntax("missing argument")
        c = text[pos]
        if text.startswith("States.", pos):
            return self.call()
        if c == "'":
            return self.string()
        if c == "$":
            return self.path()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, pos):
                self.pos += len(word)
                return Literal(value)
        m = _NUMBER.match(text, pos)
        if m is None:
            raise _Syntax(f"unexpected {c!r} at {pos}")
        self.pos = m.end()
        number = float(m.group()) if m.group(1) or m.group(2) else int(m.group())
        return Literal(number)

    def string(self) -> Literal:
        text = self.text
        i = self.pos + 1
        chars: list[str] = []
        parts: list[str] = []
        while i < len(text):
            ch = text[i]
            if ch == "\\":
                if i + 1 >= len(text) or text[i + 1] not in _ESCAPABLE:
                    raise _Syntax(f"illegal escape at {i}")
                chars.append(text[i + 1])
                i += 2
            elif ch == "'":
                self.pos = i + 1
                parts.append("".join(chars))
                return Literal("{}".join(parts), tuple(parts))
            elif ch == "{" and text.startswith("{}", i):
                parts.append("".join(chars))
                chars = []
                i += 2
            else:
                chars.append(ch)
                i += 1
        raise _Syntax("unterminated string literal")

    def path(self) -> PathArg:
        text = self.text
        start = i = self.pos
        depth = 0
        while i < len(text):
            ch = text[i]
            if ch in "[(":
                depth += 1
            elif ch in "])":
                if depth == 0:
                    break
                depth -= 1
            elif ch in "'\"" and depth:
                end = text.find(ch, i + 1)
                if end < 0:
                    raise _Syntax("unterminated quoted name")
                i = end
            elif ch == "," and depth == 0:
                break
            i += 1
        self.pos = i
        try:
            return PathArg(compile_path(text[start:i].rstrip()))
        except DefinitionError as exc:
            raise _Syntax(exc.message) from None
