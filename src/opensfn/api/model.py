"""Request validation from botocore's ``stepfunctions`` service model, the way AWS's front end does it.

AWS JSON 1.0 services answer bad input in two stages, and so do we:

1. Deserialisation: the body must be a JSON object and every member must have the model's
   JSON type. The first mismatch (in model member order) is a ``SerializationException``
   carrying the deserialiser's words (``NUMBER_VALUE can not be converted to a String``,
   ``Start of list found where not expected``, ...). A JSON ``null`` is the same as an absent
   member, a ``null`` list element is skipped, a fractional number given for an integer is
   truncated, and members the model does not know are ignored.
2. Constraints: ``required``, ``min``/``max`` (string and list lengths, number values),
   ``enum`` and ``pattern``. All failures are gathered into one ``ValidationException``:
   ``2 validation errors detected: Value 'x' at 'name' failed to satisfy constraint: ...; Value ...``.
   Member paths are the member names, nested ones dotted, list elements as
   ``tags.1.member.key`` (1-based). Sensitive members never echo their value
   (``Value at 'definition' failed ...``).

The model is loaded once at import and compiled into one closure per shape, so validating a
request walks no botocore objects: a typical StartExecution costs a few microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape

from opensfn.errors import (
    ApiError,
    SerializationException,
    UnknownOperationException,
    ValidationException,
)

__all__ = ["OPERATIONS", "decode_request", "validate_request"]

# A compiled check: (value, member path, constraint failures so far) -> the value as AWS reads
# it (the same object unless nulls had to be dropped or a number truncated). Type mismatches
# raise SerializationException at once; constraint failures are appended as sentences.
Check = Callable[[Any, str, list[str]], Any]

_LIST_FOUND = "Start of list found where not expected"
_MAP_FOUND = "Start of structure or map found where not expected."

# Java-regex constructs of the model's patterns that Python's ``re`` spells differently.
# A pattern still holding a ``\p{...}`` after this table is not checked (never a false failure).
_JAVA_REGEX = {r"\p{ASCII}": r"[\x00-\x7F]"}

# Bounds of the Java types behind the model's number shapes: a value outside cannot be read.
_INT_BOUNDS = {"integer": 2**31, "long": 2**63}

# The Java type the deserialiser names in its message, per model type.
_JAVA_TYPE = {
    "string": "a String",
    "integer": "an Integer",
    "long": "a Long",
    "float": "a Float",
    "double": "a Double",
    "boolean": "a Boolean",
    "timestamp": "a Date",
}


def _json_kind(value: Any) -> str:
    """The deserialiser's token name for a scalar JSON value."""
    if value is True:
        return "TRUE_VALUE"
    if value is False:
        return "FALSE_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    return "NUMBER_VALUE"


def _scalar_mismatch(value: Any, type_name: str) -> ApiError:
    """The SerializationException for ``value`` where a scalar of ``type_name`` was expected."""
    if isinstance(value, list):
        return SerializationException(_LIST_FOUND)
    if isinstance(value, dict):
        return SerializationException(_MAP_FOUND)
    return SerializationException(
        f"{_json_kind(value)} can not be converted to {_JAVA_TYPE[type_name]}"
    )


def _java_text(value: Any) -> str:
    """``value`` as Java's ``toString`` prints it in a constraint message."""
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_java_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _failure(value: Any, path: str, constraint: str, sensitive: bool) -> str:
    if sensitive:
        return f"Value at '{path}' failed to satisfy constraint: {constraint}"
    return f"Value '{_java_text(value)}' at '{path}' failed to satisfy constraint: {constraint}"


def _number(limit: Any) -> str:
    return str(int(limit)) if float(limit).is_integer() else str(limit)


# ----------------------------------------------------------------------------- compilers


def _string_check(shape: Shape) -> Check:
    meta = shape.metadata
    sensitive = bool(meta.get("sensitive"))
    # (fails(value), constraint sentence), in the order AWS lists them for one member:
    # enum, pattern, minimum length, maximum length.
    rules: list[tuple[Callable[[str], bool], str]] = []
    if shape.enum:
        allowed = frozenset(shape.enum)
        rules.append(
            (
                lambda v: v not in allowed,
                f"Member must satisfy enum value set: [{', '.join(shape.enum)}]",
            )
        )
    if "pattern" in meta:
        source = meta["pattern"]
        translated = source
        for java, python in _JAVA_REGEX.items():
            translated = translated.replace(java, python)
        if r"\p{" not in translated:
            regex = re.compile(translated, re.DOTALL)
            rules.append(
                (
                    lambda v: regex.fullmatch(v) is None,
                    f"Member must satisfy regular expression pattern: {source}",
                )
            )
    if meta.get("min", 0) > 0:
        low = int(meta["min"])
        rules.append(
            (lambda v: len(v) < low, f"Member must have length greater than or equal to {low}")
        )
    if "max" in meta:
        high = int(meta["max"])
        rules.append(
            (lambda v: len(v) > high, f"Member must have length less than or equal to {high}")
        )
    checks = tuple(rules)

    def check(value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, str):
            raise _scalar_mismatch(value, "string")
        for fails, constraint in checks:
            if fails(value):
                errors.append(_failure(value, path, constraint, sensitive))
        return value

    return check


def _number_check(shape: Shape) -> Check:
    meta = shape.metadata
    sensitive = bool(meta.get("sensitive"))
    type_name = shape.type_name
    bound = _INT_BOUNDS.get(type_name)
    # Java prints a Float or Double with a fraction (150.0), so do the messages.
    shown: Callable[[Any], Any] = float if bound is None else int
    low = meta.get("min")
    high = meta.get("max")

    def check(value: Any, path: str, errors: list[str]) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _scalar_mismatch(value, type_name)
        if bound is not None:
            if isinstance(value, float):
                value = int(value)  # AWS truncates a fractional number read as an integer
            if not -bound <= value < bound:
                raise SerializationException("")
        if low is not None and value < low:
            constraint = f"Member must have value greater than or equal to {_number(low)}"
            errors.append(_failure(shown(value), path, constraint, sensitive))
        if high is not None and value > high:
            constraint = f"Member must have value less than or equal to {_number(high)}"
            errors.append(_failure(shown(value), path, constraint, sensitive))
        return value

    return check


def _scalar_check(shape: Shape) -> Check:
    type_name = shape.type_name
    if type_name == "boolean":

        def boolean(value: Any, path: str, errors: list[str]) -> Any:
            if not isinstance(value, bool):
                raise _scalar_mismatch(value, "boolean")
            return value

        return boolean
    if type_name == "timestamp":

        def timestamp(value: Any, path: str, errors: list[str]) -> Any:
            # The JSON protocol sends timestamps as epoch seconds.
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _scalar_mismatch(value, "timestamp")
            return value

        return timestamp
    return _string_check(shape)  # blob and unknown scalars: the model gives none to inputs


def _list_check(shape: Shape, compile_shape: Callable[[Shape], Check]) -> Check:
    meta = shape.metadata
    item = compile_shape(shape.member)
    low = int(meta.get("min", 0))
    high = meta.get("max")
    sensitive = bool(meta.get("sensitive"))

    def check(value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, list):
            if isinstance(value, dict):
                raise SerializationException(_MAP_FOUND)
            raise SerializationException("Expected list or null")
        if None in value:
            value = [v for v in value if v is not None]  # AWS skips null elements
        if len(value) < low:
            constraint = f"Member must have length greater than or equal to {low}"
            errors.append(_failure(value, path, constraint, sensitive))
        if high is not None and len(value) > high:
            constraint = f"Member must have length less than or equal to {int(high)}"
            errors.append(_failure(value, path, constraint, sensitive))
        result = value
        for index, element in enumerate(value):
            read = item(element, f"{path}.{index + 1}.member", errors)
            if read is not element:
                if result is value:
                    result = list(value)
                result[index] = read
        return result

    return check


def _map_check(shape: Shape, compile_shape: Callable[[Shape], Check]) -> Check:
    key = compile_shape(shape.key)
    item = compile_shape(shape.value)

    def check(value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, dict):
            if isinstance(value, list):
                raise SerializationException(_LIST_FOUND)
            raise SerializationException("Expected map or null")
        result: dict[str, Any] = {}
        for k, v in value.items():
            if v is None:
                continue
            key(k, path, errors)
            result[k] = item(v, f"{path}.{k}", errors)
        return result

    return check


def _member_path_name(name: str) -> str:
    # AWS names members in lowerCamelCase in validation messages.
    return name[:1].lower() + name[1:]


def _structure_check(shape: Shape, compile_shape: Callable[[Shape], Check]) -> Check:
    required = frozenset(shape.required_members)
    # (JSON key, path segment, check, required), in model order: the order AWS reads them.
    members = tuple(
        (name, _member_path_name(name), compile_shape(member), name in required)
        for name, member in shape.members.items()
    )

    def check(value: Any, path: str, errors: list[str]) -> Any:
        if not isinstance(value, dict):
            if isinstance(value, list):
                raise SerializationException(_LIST_FOUND)
            raise SerializationException("Expected null")
        result = value
        if None in value.values():
            result = {k: v for k, v in value.items() if v is not None}
        prefix = f"{path}." if path else ""
        for name, segment, member_check, is_required in members:
            member = result.get(name)
            if member is None:
                if is_required:
                    errors.append(
                        f"Value null at '{prefix}{segment}' failed to satisfy constraint: "
                        "Member must not be null"
                    )
                continue
            read = member_check(member, prefix + segment, errors)
            if read is not member:
                if result is value:
                    result = dict(value)
                result[name] = read
        return result

    return check


def _compiler() -> Callable[[Shape], Check]:
    """A shape compiler sharing one cache, so each named shape is compiled once."""
    cache: dict[str, Check] = {}

    def compile_shape(shape: Shape) -> Check:
        cached = cache.get(shape.name)
        if cached is not None:
            return cached
        type_name = shape.type_name
        check: Check
        if type_name == "structure":
            # Register a forwarder first so a recursive shape finds itself in the cache.
            slot: list[Check] = []
            cache[shape.name] = lambda v, p, e: slot[0](v, p, e)
            check = _structure_check(shape, compile_shape)
            slot.append(check)
        elif type_name == "list":
            check = _list_check(shape, compile_shape)
        elif type_name == "map":
            check = _map_check(shape, compile_shape)
        elif type_name in _INT_BOUNDS or type_name in ("float", "double"):
            check = _number_check(shape)
        else:
            check = _scalar_check(shape)
        cache[shape.name] = check
        return check

    return compile_shape


def _load() -> tuple[frozenset[str], dict[str, Check]]:
    loader = Loader()
    model = ServiceModel(loader.load_service_model("stepfunctions", "service-2"), "stepfunctions")
    compile_shape = _compiler()
    validators: dict[str, Check] = {}
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        if shape is None:
            validators[name] = _structure_check_empty
        else:
            validators[name] = compile_shape(shape)
    return frozenset(model.operation_names), validators


def _structure_check_empty(value: Any, path: str, errors: list[str]) -> Any:
    if not isinstance(value, dict):
        raise SerializationException(_LIST_FOUND if isinstance(value, list) else "")
    return value


OPERATIONS, _VALIDATORS = _load()
"""Every operation name of botocore's ``stepfunctions`` model (``StartExecution``, ...)."""


# ----------------------------------------------------------------------------- public API


def validate_request(operation: str, params: Any) -> dict[str, Any]:
    """Validate a decoded request body of ``operation`` against the service model.

    Returns the parameters as AWS reads them: ``params`` itself unless a ``null`` member or
    list element had to be dropped or a fractional integer truncated (then a normalised copy).
    Raises ``UnknownOperationException`` (empty message: AWS sends none) for an operation
    the model lacks, ``SerializationException`` for a body that is not an object or a member
    of the wrong JSON type (an empty message means AWS sends none), ``ValidationException``
    with AWS's aggregate message for constraint failures.
    """
    validator = _VALIDATORS.get(operation)
    if validator is None:
        raise UnknownOperationException("")
    if not isinstance(params, dict):
        # The body itself: only a top-level array gets words from the deserialiser.
        raise SerializationException(_LIST_FOUND if isinstance(params, list) else "")
    errors: list[str] = []
    result: dict[str, Any] = validator(params, "", errors)
    if errors:
        count = len(errors)
        noun = "error" if count == 1 else "errors"
        raise ValidationException(f"{count} validation {noun} detected: " + "; ".join(errors))
    return result


def decode_request(operation: str, body: bytes) -> dict[str, Any]:
    """Decode a raw JSON request body and validate it (see ``validate_request``).

    Malformed JSON, an empty body included, is a ``SerializationException`` with no message,
    as AWS answers; the body is decoded before the operation is looked up, as AWS does.
    """
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SerializationException("") from None
    return validate_request(operation, params)
