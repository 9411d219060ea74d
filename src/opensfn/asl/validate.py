"""Static validation of state machine definitions, as CreateStateMachine and
ValidateStateMachineDefinition do it on AWS.

Three stages, each only when the previous one found nothing:

1. JSON: text that does not parse gives ``INVALID_JSON_DESCRIPTION`` with the parser
   message AWS's (Jackson) parser writes; text that is not an object gives
   "Definition must be a valid JSON object".
2. Schema and graph, in document order: per state its schema rules (``schema.py``),
   its transition targets (``MISSING_TRANSITION_TARGET``), its sub-machines; per
   States block the states nothing reaches; at the top level ``MISSING_END_STATE``.
3. Map labels: AWS checks them in a later layer whose message has a different shape
   (``Error=ValueError Args=[...] in definition '...'.``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from opensfn.asl import schema
from opensfn.asl.schema import SCHEMA, Context, Diagnostic

__all__ = [
    "Diagnostic",
    "invalid_definition_message",
    "validate_definition",
    "validate_response",
]

MAX_STATE_NAME = 80
MAX_LABEL = 40
ROOT_FIELDS = frozenset(
    {"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}
)
BRANCH_FIELDS = frozenset({"StartAt", "States", "Comment"})
LABEL_CODE = "INVALID_LABEL_NAME"
# Characters a Map Label may not contain: AWS's naming rules (white space, brackets,
# wildcards, the special characters below and the C0/C1 control characters).
LABEL_FORBIDDEN = frozenset(' \t\n\r\x0b\x0c<>{}[]?*"#%\\^|~`$&,;:/') | frozenset(
    chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))
)


def validate_definition(definition: str, machine_type: str = "STANDARD") -> list[Diagnostic]:
    """Every problem AWS reports for ``definition``, in AWS's order; empty when valid."""
    parsed = _parse(definition)
    if isinstance(parsed, Diagnostic):
        return [parsed]
    if not isinstance(parsed, dict):
        return [Diagnostic(SCHEMA, "Definition must be a valid JSON object", None)]
    walk = _Walk(machine_type)
    walk.machine(parsed, "", root=True)
    return walk.out or walk.labels


def invalid_definition_message(definition: str, diagnostics: list[Diagnostic]) -> str:
    """The ``message`` of the InvalidDefinition error CreateStateMachine returns.

    Problems are joined with ", " inside ``Invalid State Machine Definition: '...'``,
    each as ``CODE: message at location``; label problems use the Python-flavoured
    ``Error=ValueError`` shape AWS returns for them, echoing the definition verbatim.
    """
    errors = [d for d in diagnostics if d.severity == "ERROR"]
    if errors and all(d.code == LABEL_CODE for d in errors):
        return f"Error=ValueError Args={[errors[0].message]!r} in definition '{definition}'."
    parts = []
    for d in errors:
        if d.code == "INVALID_JSON_DESCRIPTION":
            parts.append(f"{d.code}: {d.message}")  # Jackson's message already says where
        else:
            location = "null" if d.location is None else d.location
            parts.append(f"{d.code}: {d.message} at {location}")
    return f"Invalid State Machine Definition: '{', '.join(parts)}'"


def validate_response(
    definition: str, machine_type: str = "STANDARD", severity: str = "ERROR", max_results: int = 100
) -> dict[str, Any]:
    """The ValidateStateMachineDefinition response for ``definition``.

    ``severity`` ERROR returns only errors, WARNING errors and warnings; ``result`` is
    FAIL when there is any error whatever the filter; at most ``max_results``
    diagnostics are returned and ``truncated`` says whether some were left out.
    """
    found = validate_definition(definition, machine_type)
    shown = [d for d in found if severity == "WARNING" or d.severity == "ERROR"]
    items = []
    for d in shown[:max_results]:
        item = {"code": d.code, "message": d.message, "severity": d.severity}
        if d.location is not None:
            item["location"] = d.location
        items.append(item)
    return {
        "result": "FAIL" if any(d.severity == "ERROR" for d in found) else "OK",
        "diagnostics": items,
        "truncated": len(shown) > max_results,
    }


# --------------------------------------------------------------------------- walk


@dataclass
class _Walk:
    """The mutable state of one validation: diagnostics so far and names seen."""

    machine_type: str
    out: list[Diagnostic] = field(default_factory=list)
    labels: list[Diagnostic] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    ctx: Context = field(init=False)

    def __post_init__(self) -> None:
        self.ctx = Context(self.machine_type, schema.JSONPATH)

    def machine(self, obj: Any, location: str, *, root: bool = False) -> None:
        """Check a state machine, a Parallel branch or a Map's ItemProcessor."""
        here = location or "/"
        if not schema.typed(self.out, obj, "Object", here):
            return
        if root:
            language = obj.get("QueryLanguage", schema.JSONPATH)
            if language not in (schema.JSONPATH, schema.JSONATA):
                schema.error(
                    self.out,
                    "Value should be one of the following: [JSONPath, JSONata]",
                    "/QueryLanguage",
                )
                language = schema.JSONPATH
            self.ctx = Context(self.machine_type, language)
            if (
                "TimeoutSeconds" in obj
                and schema.typed(self.out, obj["TimeoutSeconds"], "Integer", "/TimeoutSeconds")
                and obj["TimeoutSeconds"] < 0
            ):
                schema.error(
                    self.out, "Value should be greater than or equal to 0", "/TimeoutSeconds"
                )
            if "Version" in obj and obj["Version"] != "1.0":
                schema.error(self.out, "Value should be one of the following: [1.0]", "/Version")
        schema.allowed_only(self.out, obj, ROOT_FIELDS if root else BRANCH_FIELDS, here)
        schema.required(self.out, obj, ("StartAt", "States"), here)
        if "Comment" in obj:
            schema.typed(self.out, obj["Comment"], "String", f"{location}/Comment")
        start = obj.get("StartAt")
        if "StartAt" in obj and not schema.typed(self.out, start, "String", f"{location}/StartAt"):
            start = None
        states = obj.get("States")
        if "States" not in obj or not schema.typed(
            self.out, states, "Object", f"{location}/States"
        ):
            return
        for name in getattr(states, "duplicates", ()):
            self.out.append(
                Diagnostic(
                    "DUPLICATE_STATE_NAME",
                    f"Duplicate State name: {name}",
                    f"{location}/States/{name}",
                )
            )
        for name, state in states.items():
            self.state(name, state, f"{location}/States/{name}", states)
        if isinstance(start, str) and start not in states:
            self._missing(start, f"{location}/StartAt")
        if root and not any(_terminal(s) for s in states.values()):
            self.out.append(Diagnostic("MISSING_END_STATE", "Workflow has no terminal state", None))
            return
        reached = _reachable(start, states)
        for name in states:
            if name not in reached:
                message = f'State "{name}" is not reachable.'
                self.out.append(
                    Diagnostic("MISSING_TRANSITION_TARGET", message, f"{location}/States/{name}")
                )

    def state(self, name: str, state: Any, location: str, siblings: dict[str, Any]) -> None:
        """Check one state: its name, its schema, its sub-machines, its targets, its label."""
        if len(name) > MAX_STATE_NAME:
            message = f"State name '{name}' exceeds the {MAX_STATE_NAME}-character limit allowed by the service"
            self.out.append(Diagnostic("INVALID_STATE_NAME", message, location))
        if name in self.names:
            self.out.append(
                Diagnostic("DUPLICATE_STATE_NAME", f"Duplicate State name: {name}", location)
            )
        self.names.add(name)
        schema.check_state(state, location, self.ctx, self.out, self.machine)
        if not isinstance(state, dict):
            return
        for target, at in _targets(state, location):
            if target not in siblings:
                self._missing(target, at)
        if state.get("Type") == "Map" and isinstance(state.get("Label"), str):
            problem = _label_problem(state["Label"])
            if problem:
                self.labels.append(Diagnostic(LABEL_CODE, problem, f"{location}/Label"))

    def _missing(self, target: str, location: str) -> None:
        message = f"Missing 'Next' target: {target}"
        self.out.append(Diagnostic("MISSING_TRANSITION_TARGET", message, location))


def _targets(state: dict[str, Any], location: str) -> list[tuple[str, str]]:
    """The state names a state may transition to, each with the pointer naming it."""
    found: list[tuple[str, str]] = []
    for key in ("Next", "Default"):
        if isinstance(state.get(key), str):
            found.append((state[key], f"{location}/{key}"))
    for key in ("Choices", "Catch"):
        items = state.get(key)
        if isinstance(items, list):
            for i, item in enumerate(items):
                if isinstance(item, dict) and isinstance(item.get("Next"), str):
                    found.append((item["Next"], f"{location}/{key}[{i}]/Next"))
    return found


def _terminal(state: Any) -> bool:
    return isinstance(state, dict) and (
        state.get("Type") in ("Succeed", "Fail") or state.get("End") is True
    )


def _reachable(start: Any, states: dict[str, Any]) -> set[str]:
    reached: set[str] = set()
    pending = [start] if isinstance(start, str) and start in states else []
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        state = states[name]
        if isinstance(state, dict):
            pending.extend(t for t, _ in _targets(state, "") if t in states)
    return reached


def _label_problem(label: str) -> str | None:
    if not label:
        return "Label cannot be empty"
    if len(label) > MAX_LABEL:
        return f"Label cannot exceed {MAX_LABEL} characters"
    for char in label:
        if char in LABEL_FORBIDDEN:
            return f"Label contains invalid character: {char!r}"
    return None


# --------------------------------------------------------------------------- JSON


class _Object(dict[str, Any]):
    """A decoded JSON object that remembers the keys it saw twice (for state names)."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    seen: list[str] = []
    for key, value in pairs:
        if key in obj and key not in seen:
            seen.append(key)
        obj[key] = value
    obj.duplicates = tuple(seen)
    return obj


def _reject_constant(name: str) -> Any:
    raise _JsonError(
        f"Non-standard token '{name}': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow",
        None,
    )


class _JsonError(Exception):
    def __init__(self, message: str, pos: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


_JSON_SPACE = " \t\r\n"


def _parse(text: str) -> Any:
    """The decoded definition, None when there is no value, or a Diagnostic.

    Like Jackson's ``readTree``, trailing content after the first value is ignored.
    """
    start = len(text) - len(text.lstrip(_JSON_SPACE))
    if start == len(text):
        return None
    decoder = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_reject_constant)
    try:
        return decoder.raw_decode(text, start)[0]
    except json.JSONDecodeError as exc:
        message, pos = _jackson_message(text, exc.msg, exc.pos)
    except _JsonError as exc:
        message, pos = exc.message, start
    where = _source(text, pos)
    return Diagnostic("INVALID_JSON_DESCRIPTION", f"{message}\n at {where}", where)


def _source(text: str, pos: int, column_offset: int = 1) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + column_offset
    shown = text if len(text) <= 500 else f'{text[:500]}"[truncated {len(text) - 500} chars]'
    closing = '"' if len(text) <= 500 else ""
    return f'[Source: (String)"{shown}{closing}; line: {line}, column: {column}]'


def _open_containers(text: str, pos: int) -> list[tuple[str, int]]:
    """The objects/arrays still open at ``pos``: (bracket, offset), innermost last."""
    stack: list[tuple[str, int]] = []
    in_string = escaped = False
    for i, char in enumerate(text[:pos]):
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append((char, i))
        elif char in "}]" and stack:
            stack.pop()
    return stack


def _jackson_message(text: str, reason: str, pos: int) -> tuple[str, int]:
    """Jackson's wording for a syntax error Python's decoder found at ``pos``.

    Returns the message and the offset Jackson's location points at (one past the
    offending character or token, as Jackson reports it).
    """
    stack = _open_containers(text, pos)
    if pos >= len(text) or reason.startswith("Unterminated string"):
        if reason.startswith("Unterminated string"):
            return "Unexpected end-of-input: was expecting closing quote for a string value", len(
                text
            )
        if stack:
            bracket, at = stack[-1]
            kind = "Object" if bracket == "{" else "Array"
            marker = _source(text, at)
            return (
                f"Unexpected end-of-input: expected close marker for {kind} (start marker at {marker})",
                len(text),
            )
        return "Unexpected end-of-input", len(text)
    char = text[pos]
    if reason == "Expecting value" and (char.isalpha() or char == "_"):
        end = pos
        while end < len(text) and (text[end].isalnum() or text[end] in "_$"):
            end += 1
        token = text[pos:end]
        expected = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        return f"Unrecognized token '{token}': was expecting {expected}", end
    if ord(char) < 0x20:
        what = f"(CTRL-CHAR, code {ord(char)})"
        if reason.startswith("Invalid control character"):
            return (
                f"Illegal unquoted character ({what}): has to be escaped using backslash to be included in string value",
                pos + 1,
            )
    else:
        what = f"'{char}' (code {ord(char)})"
    if reason.startswith("Invalid \\escape"):
        char = text[pos + 1] if pos + 1 < len(text) else ""
        return f"Unrecognized character escape '{char}' (code {ord(char) if char else 0})", pos + 2
    in_object = bool(stack) and stack[-1][0] == "{"
    expectations = {
        "Expecting value": "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
        "Expecting property name enclosed in double quotes": "was expecting double-quote to start field name",
        "Expecting ':' delimiter": "was expecting a colon to separate field name and value",
        "Expecting ',' delimiter": f"was expecting comma to separate {'Object' if in_object else 'Array'} entries",
    }
    return f"Unexpected character ({what}): {expectations.get(reason, reason)}", pos + 1
