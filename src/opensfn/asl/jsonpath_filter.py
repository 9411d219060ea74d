"""JSONPath filter expressions ``[?(...)]``, Jayway's dialect, compiled to closures.

Grammar::

    or      := and ('||' and)*
    and     := unary ('&&' unary)*
    unary   := '!' unary | '(' or ')' | operand [op operand]
    operand := @path | $path | number | 'string' | "string" | true | false | null
             | /regex/flags | [json array]

A lone path operand is an existence test. A path that does not resolve is *undefined*:
it equals nothing, differs from everything and orders with nothing (Jayway's rules).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Test = Callable[[Any, Any], bool]  # (candidate "@", root document "$") -> bool
Operand = Callable[[Any, Any], Any]

_UNDEFINED: Any = object()


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` is ``1.0``, containers compare deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    return type(a) is type(b) and a == b


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _order(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if _is_num(a) and _is_num(b):
            return op(a, b)
        if isinstance(a, str) and isinstance(b, str):
            return op(a, b)
        return False

    return compare


def _contains(a: Any, b: Any) -> bool:
    if isinstance(a, str):
        return isinstance(b, str) and b in a
    return isinstance(a, list) and any(json_equal(x, b) for x in a)


def _in(a: Any, b: Any) -> bool:
    return isinstance(b, list) and any(json_equal(a, x) for x in b)


def _subset(a: Any, b: Any) -> bool:
    return isinstance(a, list) and isinstance(b, list) and all(_in(x, b) for x in a)


def _anyof(a: Any, b: Any) -> bool:
    return isinstance(a, list) and isinstance(b, list) and any(_in(x, b) for x in a)


def _size(a: Any, b: Any) -> bool:
    return isinstance(a, list | str) and _is_num(b) and len(a) == b


def _empty(a: Any, b: Any) -> bool:
    return isinstance(a, list | str) and isinstance(b, bool) and (len(a) == 0) == b


def _regex(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, re.Pattern) and b.fullmatch(a) is not None


# Relational operators: name -> predicate on two defined values. Undefined operands are
# handled before the table: only "!=" (and "nin"/"noneof", negations) can then hold.
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": json_equal,
    "!=": lambda a, b: not json_equal(a, b),
    "<": _order(lambda a, b: a < b),
    "<=": _order(lambda a, b: a <= b),
    ">": _order(lambda a, b: a > b),
    ">=": _order(lambda a, b: a >= b),
    "=~": _regex,
    "in": _in,
    "nin": lambda a, b: isinstance(b, list) and not _in(a, b),
    "subsetof": _subset,
    "anyof": _anyof,
    "noneof": lambda a, b: isinstance(a, list) and isinstance(b, list) and not _anyof(a, b),
    "contains": _contains,
    "size": _size,
    "empty": _empty,
}
_SYMBOL_OPS = ("==", "!=", "<=", ">=", "=~", "<", ">")
_WORD_OPS = ("subsetof", "contains", "noneof", "anyof", "empty", "size", "nin", "in")


_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def _either(a: Test, b: Test) -> Test:
    return lambda c, r: a(c, r) or b(c, r)


def _both(a: Test, b: Test) -> Test:
    return lambda c, r: a(c, r) and b(c, r)


def _const(value: Any) -> Operand:
    return lambda _c, _r: value


class FilterSyntax(Exception):
    """Raised (as the parser's syntax error) for a malformed filter."""


class _Parser:
    def __init__(self, text: str, pos: int, stop: int) -> None:
        self.text, self.pos, self.stop = text, pos, stop

    def skip(self) -> None:
        while self.pos < self.stop and self.text[self.pos] == " ":
            self.pos += 1

    def peek(self, s: str) -> bool:
        self.skip()
        return self.text.startswith(s, self.pos)

    def expect(self, s: str) -> None:
        if not self.peek(s):
            raise FilterSyntax(f"expected {s!r} at {self.pos}")
        self.pos += len(s)

    def parse_or(self) -> Test:
        left = self.parse_and()
        while self.peek("||"):
            self.pos += 2
            left = _either(left, self.parse_and())
        return left

    def parse_and(self) -> Test:
        left = self.parse_unary()
        while self.peek("&&"):
            self.pos += 2
            left = _both(left, self.parse_unary())
        return left

    def parse_unary(self) -> Test:
        if self.peek("!") and not self.peek("!="):
            self.pos += 1
            inner = self.parse_unary()
            return lambda c, r: not inner(c, r)
        if self.peek("("):
            self.pos += 1
            inner = self.parse_or()
            self.expect(")")
            return inner
        left = self.operand()
        op = self.operator()
        if op is None:
            return lambda c, r: _truthy(left(c, r))
        right = self.operand()
        pred = _OPERATORS[op]
        negative = op in ("!=", "nin", "noneof")

        def relation(c: Any, r: Any) -> bool:
            a, b = left(c, r), right(c, r)
            if a is _UNDEFINED or b is _UNDEFINED:
                return negative and op == "!="
            return pred(a, b)

        return relation

    def operator(self) -> str | None:
        self.skip()
        for op in _SYMBOL_OPS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return op
        for op in _WORD_OPS:
            end = self.pos + len(op)
            if self.text.startswith(op, self.pos) and end < self.stop and self.text[end] == " ":
                self.pos = end
                return op
        return None

    def operand(self) -> Operand:
        self.skip()
        if self.pos >= self.stop:
            raise FilterSyntax("missing operand")
        c = self.text[self.pos]
        if c in "@$":
            return self.path_operand()
        if c in "'\"":
            end = self.text.find(c, self.pos + 1, self.stop)
            if end < 0:
                raise FilterSyntax("unterminated string")
            value: Any = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return lambda _c, _r: value
        if c == "/":
            end = self.text.find("/", self.pos + 1, self.stop)
            if end < 0:
                raise FilterSyntax("unterminated regex")
            pattern, self.pos = self.text[self.pos + 1 : end], end + 1
            flags = 0
            while self.pos < self.stop and self.text[self.pos] in "imsx":
                flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}[self.text[self.pos]]
                self.pos += 1
            regex = re.compile(pattern, flags)
            return lambda _c, _r: regex
        if c in "[{":
            value, length = json.JSONDecoder().raw_decode(
                self.text[self.pos : self.stop].replace("'", '"')
            )
            self.pos += length
            return lambda _c, _r: value
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return _const(literal)
        m = _NUMBER.match(self.text, self.pos, self.stop)
        if m is None:
            raise FilterSyntax(f"unexpected {c!r} at {self.pos}")
        self.pos = m.end()
        number: Any = float(m.group()) if m.group(1) or m.group(2) else int(m.group())
        return lambda _c, _r: number

    def path_operand(self) -> Operand:
        from opensfn.asl.jsonpath import JsonPath, PathNotFound, is_definite, parse_segments

        start = self.pos
        depth, i = 0, self.pos + 1
        while i < self.stop:
            ch = self.text[i]
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            elif ch in "'\"" and depth:
                i = self.text.index(ch, i + 1)
            elif depth == 0 and ch in " )=!<>&|,":
                if ch == ")" and self.text[i - 1] == "(":
                    i += 1
                    continue
                break
            i += 1
        segments, function = parse_segments(self.text, start + 1, i)
        self.pos = i
        definite = all(is_definite(s) for s in segments)
        path = JsonPath(self.text[start:i], "@", tuple(segments), definite, function)
        relative = self.text[start] == "@"

        def resolve(c: Any, r: Any) -> Any:
            try:
                value = path.find(c if relative else r)
            except PathNotFound:
                return _UNDEFINED
            # An indefinite path that matched nothing does not exist either.
            return _UNDEFINED if value == [] and not definite and function is None else value

        return resolve


def _truthy(value: Any) -> bool:
    """Existence test: the path resolved (to anything, ``null`` included)."""
    return value is not _UNDEFINED


def parse_filter(text: str, pos: int, stop: int) -> tuple[Test, int]:
    """Parse ``(expr)`` at ``text[pos]``; returns the test and the position after ``)``."""
    parser = _Parser(text, pos, stop)
    try:
        parser.expect("(")
        test = parser.parse_or()
        parser.expect(")")
    except (FilterSyntax, ValueError, re.error) as exc:
        from opensfn.asl.jsonpath import _Syntax

        raise _Syntax(f"invalid filter: {exc}") from None
    return test, parser.pos
