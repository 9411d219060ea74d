"""The 18 intrinsic functions: one table, name -> (arity, implementation).

Rules of the table:

* an implementation receives the evaluated argument values, the argument nodes (so
  ``States.Format`` can see which braces of a literal template were escaped) and the
  :class:`~opensfn.asl.intrinsics.Env`;
* it raises :class:`~opensfn.asl.intrinsics.IntrinsicError` with the cause text when an
  argument is unacceptable (the caller turns it into ``States.IntrinsicFailure``);
* arity is checked when the call is compiled, types and limits when it runs.

Numbers behave as in AWS (a JVM): ``MathAdd``/``MathRandom`` round their arguments with
``Math.round`` (half up), seeded ``MathRandom`` is ``java.util.Random``, and numbers in
``States.Format`` print as Java prints them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from opensfn.asl.intrinsics import Env, IntrinsicError, Literal

Impl = Callable[[list[Any], tuple[Any, ...], Env], Any]


@dataclass(frozen=True, slots=True)
class Spec:
    """One function: how many arguments it takes and what it does."""

    impl: Impl
    min_args: int
    max_args: int

    @property
    def arity_text(self) -> str:
        """``2`` / ``2 or 3`` / ``at least 1``, for definition errors."""
        if self.max_args == self.min_args:
            return str(self.min_args)
        if self.max_args > 1000:
            return f"at least {self.min_args}"
        return f"{self.min_args} to {self.max_args}"


_MAX_CHARS = 10_000  # Base64Encode/Base64Decode/Hash input limit (AWS docs)
_MAX_RANGE = 1_000  # ArrayRange result limit (AWS docs)
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # MathAdd/MathRandom operands are Java ints


# --------------------------------------------------------------------------- value helpers


def compact_json(value: Any) -> str:
    """JSON text without spaces, as AWS serialises values (``{"a":1}``)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def java_number(value: int | float) -> str:
    """``Double.toString``/``Long.toString``: ``1.5``, ``1.0E7``, ``1.0E-4``."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{len(text) - 1 + exponent}"


def render(value: Any) -> str:
    """How ``States.Format`` prints an argument: strings raw, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return java_number(value)
    if value is None:
        return "null"
    return compact_json(value)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _java_round(v: int | float) -> int:
    """``Math.round``: half up, so -1.5 -> -1 and 2.5 -> 3."""
    return v if isinstance(v, int) else math.floor(v + 0.5)


def _number(name: str, v: Any, what: str) -> int | float:
    if not _is_number(v):
        raise IntrinsicError(f"The {what} of {name} must be a number, got {render(v)}")
    return v  # type: ignore[no-any-return]


def _integer(name: str, v: Any, what: str) -> int:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if not isinstance(v, int) or isinstance(v, bool):
        raise IntrinsicError(f"The {what} of {name} must be an integer, got {render(v)}")
    return v


def _array(name: str, v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise IntrinsicError(f"The first argument of {name} must be an array, got {render(v)}")
    return v


def _string(name: str, v: Any, what: str = "argument") -> str:
    if not isinstance(v, str):
        raise IntrinsicError(f"The {what} of {name} must be a string, got {render(v)}")
    return v


def _limited(name: str, v: Any) -> str:
    text = _string(name, v, "input")
    if len(text) > _MAX_CHARS:
        raise IntrinsicError(f"The input of {name} exceeds the limit of {_MAX_CHARS} characters")
    return text


def _json_equal(a: Any, b: Any) -> bool:
    from opensfn.asl.jsonpath_filter import json_equal

    return json_equal(a, b)


# --------------------------------------------------------------------------- functions


def _format(values: list[Any], args: tuple[Any, ...], env: Env) -> str:
    template = values[0]
    first = args[0]
    if isinstance(first, Literal) and first.format_parts is not None:
        parts = list(first.format_parts)
    else:
        parts = _string("States.Format", template, "first argument").split("{}")
    if len(parts) - 1 != len(values) - 1:
        raise IntrinsicError(
            f"The number of arguments of States.Format ({len(values) - 1}) does not match "
            f"the number of placeholders in the template ({len(parts) - 1})"
        )
    out = [parts[0]]
    for value, part in zip(values[1:], parts[1:], strict=True):
        out.append(render(value))
        out.append(part)
    return "".join(out)


def _string_to_json(values: list[Any], args: tuple[Any, ...], env: Env) -> Any:
    text = _string("States.StringToJson", values[0])
    if not text.strip():
        return None  # AWS answers null for "" and " " (recorded)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        raise IntrinsicError(
            f"The argument of States.StringToJson is not valid JSON: {text}"
        ) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _array_partition(values: list[Any], args: tuple[Any, ...], env: Env) -> list[list[Any]]:
    items = _array("States.ArrayPartition", values[0])
    size = _integer("States.ArrayPartition", values[1], "chunk size")
    if size <= 0:
        raise IntrinsicError(
            f"The chunk size of States.ArrayPartition must be positive, got {size}"
        )
    return [items[i : i + size] for i in range(0, len(items), size)]


def _array_range(values: list[Any], args: tuple[Any, ...], env: Env) -> list[int]:
    name = "States.ArrayRange"
    start = _integer(name, values[0], "first argument")
    end = _integer(name, values[1], "second argument")
    step = _integer(name, values[2], "third argument")
    if step == 0:
        raise IntrinsicError(f"The step of {name} must not be zero")
    result = range(start, end + (1 if step > 0 else -1), step)
    if len(result) > _MAX_RANGE:
        raise IntrinsicError(f"The array built by {name} exceeds {_MAX_RANGE} items")
    return list(result)


def _array_get_item(values: list[Any], args: tuple[Any, ...], env: Env) -> Any:
    items = _array("States.ArrayGetItem", values[0])
    index = _integer("States.ArrayGetItem", values[1], "index")
    if not 0 <= index < len(items):
        raise IntrinsicError(f"The index {index} of States.ArrayGetItem is out of bounds")
    return items[index]


def _array_unique(values: list[Any], args: tuple[Any, ...], env: Env) -> list[Any]:
    unique: list[Any] = []
    for item in _array("States.ArrayUnique", values[0]):
        if not any(_json_equal(item, seen) for seen in unique):
            unique.append(item)
    return unique


def _base64_encode(values: list[Any], args: tuple[Any, ...], env: Env) -> str:
    text = _limited("States.Base64Encode", values[0])
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _base64_decode(values: list[Any], args: tuple[Any, ...], env: Env) -> str:
    text = _limited("States.Base64Decode", values[0])
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise IntrinsicError(
            f"The input of States.Base64Decode is not valid base64: {text}"
        ) from None


# Hash algorithms AWS accepts (States.Hash and JSONata's $hash) -> hashlib names.
HASH_ALGORITHMS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(values: list[Any], args: tuple[Any, ...], env: Env) -> str:
    data = values[0]
    text = data if isinstance(data, str) else render(data)
    if len(text) > _MAX_CHARS:
        raise IntrinsicError(
            f"The input of States.Hash exceeds the limit of {_MAX_CHARS} characters"
        )
    algorithm = values[1]
    if algorithm not in HASH_ALGORITHMS:
        raise IntrinsicError(
            f"The hash algorithm {render(algorithm)} is not supported; use one of "
            + ", ".join(HASH_ALGORITHMS)
        )
    return hashlib.new(HASH_ALGORITHMS[algorithm], text.encode("utf-8")).hexdigest()


def _json_merge(values: list[Any], args: tuple[Any, ...], env: Env) -> dict[str, Any]:
    left, right, deep = values
    if not isinstance(left, dict) or not isinstance(right, dict):
        raise IntrinsicError("The first two arguments of States.JsonMerge must be JSON objects")
    if deep is not False:
        raise IntrinsicError(
            "States.JsonMerge supports only shallow merging: the third argument must be false"
        )
    return {**left, **right}


def _math_add(values: list[Any], args: tuple[Any, ...], env: Env) -> int:
    a = _java_round(_number("States.MathAdd", values[0], "first argument"))
    b = _java_round(_number("States.MathAdd", values[1], "second argument"))
    for v in (a, b):
        if not _INT_MIN <= v <= _INT_MAX:
            raise IntrinsicError(
                f"The arguments of States.MathAdd must be between {_INT_MIN} and {_INT_MAX}"
            )
    return a + b


def _math_random(values: list[Any], args: tuple[Any, ...], env: Env) -> int:
    start = _java_round(_number("States.MathRandom", values[0], "start"))
    end = _java_round(_number("States.MathRandom", values[1], "end"))
    if start >= end:
        raise IntrinsicError("The start of States.MathRandom must be less than its end")
    if len(values) == 3:
        seed = _integer("States.MathRandom", values[2], "seed")
        return start + JavaRandom(seed).next_int(end - start)
    return start + min(int(env.random() * (end - start)), end - start - 1)


def _string_split(values: list[Any], args: tuple[Any, ...], env: Env) -> list[str]:
    text = _string("States.StringSplit", values[0], "first argument")
    delimiters = _string("States.StringSplit", values[1], "second argument")
    # java.util.StringTokenizer: every character of the second argument delimits, and
    # empty tokens are dropped (recorded: "a,,,b" -> ["a", "b"]).
    tokens: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch in delimiters:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        tokens.append("".join(current))
    return tokens


class JavaRandom:
    """``java.util.Random`` (48-bit LCG), so seeded ``MathRandom`` matches a JVM."""

    _MULT, _ADD, _MASK = 0x5DEECE66D, 0xB, (1 << 48) - 1

    def __init__(self, seed: int) -> None:
        self._seed = (seed ^ self._MULT) & self._MASK

    def _next(self, bits: int) -> int:
        self._seed = (self._seed * self._MULT + self._ADD) & self._MASK
        value = self._seed >> (48 - bits)
        return value - (1 << bits) if value >= 1 << (bits - 1) and bits == 32 else value

    def next_int(self, bound: int) -> int:
        """``nextInt(bound)``: uniform in ``[0, bound)``."""
        if bound & -bound == bound:
            return (bound * self._next(31)) >> 31
        while True:
            bits = self._next(31)
            value = bits % bound
            if bits - value + (bound - 1) < 2**31:
                return value


_MANY = 1 << 30

# name -> Spec(impl, min args, max args). Every function of the AWS documentation.
FUNCTIONS: dict[str, Spec] = {
    "States.Format": Spec(_format, 1, _MANY),
    "States.StringToJson": Spec(_string_to_json, 1, 1),
    "States.JsonToString": Spec(lambda v, a, e: compact_json(v[0]), 1, 1),
    "States.Array": Spec(lambda v, a, e: list(v), 0, _MANY),
    "States.ArrayPartition": Spec(_array_partition, 2, 2),
    "States.ArrayContains": Spec(
        lambda v, a, e: any(_json_equal(x, v[1]) for x in _array("States.ArrayContains", v[0])),
        2,
        2,
    ),
    "States.ArrayRange": Spec(_array_range, 3, 3),
    "States.ArrayGetItem": Spec(_array_get_item, 2, 2),
    "States.ArrayLength": Spec(lambda v, a, e: len(_array("States.ArrayLength", v[0])), 1, 1),
    "States.ArrayUnique": Spec(_array_unique, 1, 1),
    "States.Base64Encode": Spec(_base64_encode, 1, 1),
    "States.Base64Decode": Spec(_base64_decode, 1, 1),
    "States.Hash": Spec(_hash, 2, 2),
    "States.JsonMerge": Spec(_json_merge, 3, 3),
    "States.MathRandom": Spec(_math_random, 2, 3),
    "States.MathAdd": Spec(_math_add, 2, 2),
    "States.StringSplit": Spec(_string_split, 2, 2),
    "States.UUID": Spec(lambda v, a, e: e.new_uuid(), 0, 0),
}
