"""AWS's JSONPath flavour (Jayway-like), compiled once, evaluated cheaply.

A path starts with ``$`` (the state input), ``$$`` (the context object) or ``$name`` (a
workflow variable); :meth:`JsonPath.resolve` picks that root, :meth:`JsonPath.find`
walks the segments from a given document.

Semantics follow Jayway JsonPath, which AWS uses:

* a *definite* path (only names and single indexes) returns one value, or raises
  :class:`PathNotFound` carrying Jayway's message (``No results for path: $['a']``,
  ``Missing property in path $['a']``, ...);
* an *indefinite* path (wildcard, ``..``, slice, union, filter) returns a list of the
  matches, possibly empty, and never fails;
* a trailing function (``.length()``, ``.min()`` ...) applies to the path's result.

Filters ``[?(...)]`` live in :mod:`opensfn.asl.jsonpath_filter`.

JSON values are shared, never copied: callers must treat them as immutable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from opensfn.errors import DefinitionError

# The class Jayway names in its "not a json object" message: AWS evaluates with Jackson.
_PROVIDER = "com.jayway.jsonpath.spi.json.JacksonJsonProvider"


class PathNotFound(Exception):
    """A definite path matched nothing. ``message`` is Jayway's text, ``path`` the expression."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


# --------------------------------------------------------------------------- segments


@dataclass(frozen=True, slots=True)
class Prop:
    """``.a`` / ``['a']`` (one name) or ``['a','b']`` (several).

    Several names are indefinite, except as the last segment (``merge``), where Jayway
    builds one object holding the names present.
    """

    names: tuple[str, ...]
    merge: bool = False


@dataclass(frozen=True, slots=True)
class Index:
    """``[0]`` / ``[-1]`` (definite) or ``[0,2]`` (a union, indefinite)."""

    indexes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Slice:
    """``[a:b]`` / ``[a:b:c]`` with Python's bounds; always indefinite."""

    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``.*`` / ``[*]``: every member of an object or array."""


@dataclass(frozen=True, slots=True)
class Deep:
    """``..x``: ``inner`` applied at every level of the document (depth first)."""

    inner: Segment


@dataclass(frozen=True, slots=True)
class Filter:
    """``[?(expr)]``: the array elements (or the object itself) for which ``test`` holds."""

    test: Callable[[Any, Any], bool]  # (candidate, root document) -> keep?


Segment = Prop | Index | Slice | Wildcard | Deep | Filter


def is_definite(seg: Segment) -> bool:
    """True for the segments a definite (single-value) path may contain."""
    if isinstance(seg, Prop):
        return len(seg.names) == 1 or seg.merge
    if isinstance(seg, Index):
        return len(seg.indexes) == 1
    return False


def _fragment(seg: Segment) -> str:
    """Jayway's normalised text of one segment, as it appears in its messages."""
    if isinstance(seg, Prop):
        return "[" + ",".join(f"'{n}'" for n in seg.names) + "]"
    if isinstance(seg, Index):
        return "[" + ",".join(str(i) for i in seg.indexes) + "]"
    if isinstance(seg, Slice):
        a = "" if seg.start is None else str(seg.start)
        b = "" if seg.stop is None else str(seg.stop)
        return f"[{a}:{b}]" if seg.step is None else f"[{a}:{b}:{seg.step}]"
    if isinstance(seg, Wildcard):
        return "[*]"
    if isinstance(seg, Deep):
        return ".." + _fragment(seg.inner)
    return "[?]"


def _java_class(value: Any) -> str:
    """The Java class Jackson would have built for ``value`` (for Jayway's messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list):
        return "java.util.ArrayList"
    return "java.util.LinkedHashMap"


# --------------------------------------------------------------------------- functions

# Trailing path functions (Jayway's set that makes sense on JSON): name -> implementation.
# Each receives the path's result (a value or the list of matches); numeric ones take
# the numbers of a list and fail with Jayway's message on an empty one.


def _numbers(value: Any) -> list[float | int]:
    items = value if isinstance(value, list) else []
    nums = [v for v in items if isinstance(v, int | float) and not isinstance(v, bool)]
    if not nums:
        raise PathNotFound(
            "", "Aggregation function attempted to calculate value using empty array"
        )
    return nums


def _avg(v: Any) -> float:
    nums = _numbers(v)
    return sum(nums) / len(nums)


def _stddev(v: Any) -> float:
    nums = _numbers(v)
    mean = sum(nums) / len(nums)
    return math.sqrt(sum((x - mean) ** 2 for x in nums) / len(nums))


def _length(v: Any) -> Any:
    if isinstance(v, list | dict | str):
        return len(v)
    return None


_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "length": _length,
    "size": _length,
    "min": lambda v: float(min(_numbers(v))),
    "max": lambda v: float(max(_numbers(v))),
    "sum": lambda v: float(sum(_numbers(v))),
    "avg": _avg,
    "stddev": _stddev,
    "keys": lambda v: list(v) if isinstance(v, dict) else None,
    "first": lambda v: v[0] if isinstance(v, list) and v else None,
    "last": lambda v: v[-1] if isinstance(v, list) and v else None,
}


# --------------------------------------------------------------------------- compiled path


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled path. ``root`` is ``"$"``, ``"$$"`` or the variable name."""

    text: str
    root: str
    segments: tuple[Segment, ...]
    is_definite: bool
    function: str | None = None

    @property
    def is_reference(self) -> bool:
        """True for a reference path: names and single indexes only (ResultPath's kind)."""
        return self.is_definite and self.function is None

    @property
    def normalized(self) -> str:
        """Jayway's normalised form (``$['a'][0]``), rooted at ``$`` whatever the prefix."""
        return "$" + "".join(_fragment(s) for s in self.segments)

    def resolve(self, data: Any, context: Any, variables: Mapping[str, Any]) -> Any:
        """Evaluate against the state input, the context object or a variable, by prefix."""
        if self.root == "$":
            return self.find(data)
        if self.root == "$$":
            return self.find(context)
        if self.root not in variables:
            raise PathNotFound(self.text, f"No results for path: ${self.root}")
        return self.find(variables[self.root])

    def find(self, data: Any) -> Any:
        """Apply the segments to ``data``. See the module docstring for the rules."""
        if self.is_definite:
            result = self._find_definite(data)
        else:
            result = list(_walk(self.segments, 0, data, data))
        if self.function is not None:
            try:
                return _FUNCTIONS[self.function](result)
            except PathNotFound as exc:
                raise PathNotFound(self.text, exc.message) from None
        return result

    def _find_definite(self, data: Any) -> Any:
        current = data
        last = len(self.segments) - 1
        for i, seg in enumerate(self.segments):
            if isinstance(seg, Prop):
                name = seg.names[0]
                if seg.merge and isinstance(current, dict):
                    return {n: current[n] for n in seg.names if n in current}
                if not isinstance(current, dict):
                    raise PathNotFound(
                        self.text,
                        f"Expected to find an object with property {_fragment(seg)} in path "
                        f"{self._prefix(i)} but found '{_java_class(current)}'. This is not a "
                        f"json object according to the JsonProvider: '{_PROVIDER}'.",
                    )
                if name not in current:
                    if i == last:
                        raise PathNotFound(self.text, f"No results for path: {self.normalized}")
                    raise PathNotFound(self.text, f"Missing property in path {self._prefix(i + 1)}")
                current = current[name]
            else:
                assert isinstance(seg, Index)
                if current is None:
                    raise PathNotFound(self.text, f"The path {self._prefix(i)} is null")
                if not isinstance(current, list):
                    raise PathNotFound(
                        self.text,
                        f"Filter: {_fragment(seg)} can only be applied to arrays. "
                        f"Current context is: {_java_text(current)}",
                    )
                index = seg.indexes[0]
                if not -len(current) <= index < len(current):
                    raise PathNotFound(self.text, f"No results for path: {self.normalized}")
                current = current[index]
        return current

    def _prefix(self, n: int) -> str:
        return "$" + "".join(_fragment(s) for s in self.segments[:n])


def _java_text(value: Any) -> str:
    """``toString`` of a Jackson-built value, for Jayway's "Current context" message."""
    import json

    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _children(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        yield from value.values()
    elif isinstance(value, list):
        yield from value


def _apply(seg: Segment, value: Any, root: Any) -> Iterator[Any]:
    """The matches of one non-deep segment at ``value`` (misses are skipped)."""
    if isinstance(seg, Prop):
        if seg.merge:
            if isinstance(value, dict):
                yield {n: value[n] for n in seg.names if n in value}
        elif isinstance(value, dict):
            for name in seg.names:
                if name in value:
                    yield value[name]
    elif isinstance(seg, Index):
        if isinstance(value, list):
            n = len(value)
            for i in seg.indexes:
                if -n <= i < n:
                    yield value[i]
    elif isinstance(seg, Slice):
        if isinstance(value, list):
            yield from value[seg.start : seg.stop : seg.step]
    elif isinstance(seg, Wildcard):
        yield from _children(value)
    elif isinstance(seg, Filter):
        if isinstance(value, list):
            for item in value:
                if seg.test(item, root):
                    yield item
        elif isinstance(value, dict) and seg.test(value, root):
            yield value


def _walk(segs: tuple[Segment, ...], i: int, value: Any, root: Any) -> Iterator[Any]:
    if i == len(segs):
        yield value
        return
    seg = segs[i]
    if isinstance(seg, Deep):
        for node in _descend(value):
            for hit in _apply(seg.inner, node, root):
                yield from _walk(segs, i + 1, hit, root)
        return
    for hit in _apply(seg, value, root):
        yield from _walk(segs, i + 1, hit, root)


def _descend(value: Any) -> Iterator[Any]:
    """``value`` and every container below it, depth first (Jayway's scan order)."""
    yield value
    for child in _children(value):
        if isinstance(child, dict | list):
            yield from _descend(child)


# --------------------------------------------------------------------------- parser

_NAME_STOP = frozenset(".[( )")


def compile_path(expr: str) -> JsonPath:
    """Compile ``expr`` once; raises :class:`DefinitionError` when it is not a valid path."""
    return _compile_cached(expr)


@lru_cache(maxsize=4096)
def _compile_cached(expr: str) -> JsonPath:
    if not isinstance(expr, str) or not expr.startswith("$"):
        raise DefinitionError(f"Invalid JSONPath: {expr!r}")
    if expr.startswith("$$"):
        root, pos = "$$", 2
    elif len(expr) > 1 and (expr[1].isalpha() or expr[1] == "_"):
        pos = 1
        while pos < len(expr) and (expr[pos].isalnum() or expr[pos] == "_"):
            pos += 1
        root = expr[1:pos]
    else:
        root, pos = "$", 1
    try:
        segments, function = parse_segments(expr, pos)
    except _Syntax as exc:
        raise DefinitionError(f"Invalid JSONPath: {expr!r} ({exc})") from None
    last = segments[-1] if segments else None
    if function is None and isinstance(last, Prop) and len(last.names) > 1:
        segments[-1] = Prop(last.names, merge=True)
    definite = all(is_definite(s) for s in segments)
    return JsonPath(expr, root, tuple(segments), definite, function)


class _Syntax(Exception):
    pass


def parse_segments(text: str, pos: int, end: int | None = None) -> tuple[list[Segment], str | None]:
    """Parse the segments of ``text[pos:end]`` (after the root). Used by filters too."""
    stop = len(text) if end is None else end
    segments: list[Segment] = []
    function: str | None = None
    while pos < stop:
        if function is not None:
            raise _Syntax(f"unexpected text after function at {pos}")
        c = text[pos]
        if text.startswith("..", pos):
            pos += 2
            if pos < stop and text[pos] == "[":
                inner, pos = _bracket(text, pos, stop)
            elif pos < stop and text[pos] == "*":
                inner, pos = Wildcard(), pos + 1
            else:
                name, pos = _dot_name(text, pos, stop)
                inner = Prop((name,))
            segments.append(Deep(inner))
        elif c == ".":
            pos += 1
            if pos < stop and text[pos] == "*":
                segments.append(Wildcard())
                pos += 1
                continue
            name, pos = _dot_name(text, pos, stop)
            if text.startswith("()", pos) and name in _FUNCTIONS:
                function, pos = name, pos + 2
            else:
                segments.append(Prop((name,)))
        elif c == "[":
            seg, pos = _bracket(text, pos, stop)
            segments.append(seg)
        else:
            raise _Syntax(f"unexpected {c!r} at {pos}")
    return segments, function


def _dot_name(text: str, pos: int, stop: int) -> tuple[str, int]:
    start = pos
    while pos < stop and text[pos] not in _NAME_STOP:
        pos += 1
    if pos == start:
        raise _Syntax(f"empty property name at {start}")
    return text[start:pos], pos


def _bracket(text: str, pos: int, stop: int) -> tuple[Segment, int]:
    """Parse ``[...]`` starting at ``text[pos] == '['``."""
    pos += 1
    while pos < stop and text[pos] == " ":
        pos += 1
    if pos >= stop:
        raise _Syntax("unterminated '['")
    c = text[pos]
    if c == "?":
        from opensfn.asl.jsonpath_filter import parse_filter

        test, pos = parse_filter(text, pos + 1, stop)
        return Filter(test), _close(text, pos, stop)
    if c == "*":
        return Wildcard(), _close(text, pos + 1, stop)
    if c in "'\"":
        names: list[str] = []
        while True:
            name, pos = _quoted(text, pos, stop)
            names.append(name)
            while pos < stop and text[pos] == " ":
                pos += 1
            if pos < stop and text[pos] == ",":
                pos += 1
                while pos < stop and text[pos] == " ":
                    pos += 1
                continue
            return Prop(tuple(names)), _close(text, pos, stop)
    close = text.find("]", pos, stop)
    if close < 0:
        raise _Syntax("unterminated '['")
    body = text[pos:close].replace(" ", "")
    try:
        if ":" in body:
            parts = body.split(":")
            if len(parts) > 3:
                raise ValueError(body)
            nums = [int(p) if p else None for p in parts] + [None] * (3 - len(parts))
            if nums[2] == 0:
                raise ValueError(body)
            return Slice(nums[0], nums[1], nums[2]), close + 1
        return Index(tuple(int(p) for p in body.split(","))), close + 1
    except ValueError:
        raise _Syntax(f"invalid bracket expression [{body}]") from None


def _quoted(text: str, pos: int, stop: int) -> tuple[str, int]:
    """A quoted name. A backslash protects the next character but stays in the name:
    AWS matched ``$['a\\"b']`` against the key ``a\\"b`` (recorded in the corpus)."""
    quote = text[pos]
    i = pos + 1
    while i < stop:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == quote:
            return text[pos + 1 : i], i + 1
        i += 1
    raise _Syntax("unterminated quoted name")


def _close(text: str, pos: int, stop: int) -> int:
    while pos < stop and text[pos] == " ":
        pos += 1
    if pos >= stop or text[pos] != "]":
        raise _Syntax(f"expected ']' at {pos}")
    return pos + 1
