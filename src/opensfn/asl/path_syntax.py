"""Static syntax checks for the expressions a JSONPath-mode definition carries.

Three kinds, as AWS distinguishes them when a state machine is created:

- a *Path* (InputPath, OutputPath, ``.$`` values): any JSONPath, ``$$`` context paths
  and ``$name`` variables included;
- a *Reference Path* (ResultPath, ItemsPath, ``*SecondsPath``, Choice ``Variable``):
  a path that addresses a single node, so no wildcards, filters, slices, unions or ``..``;
- an intrinsic function call (``States.Format(...)`` ...), allowed in ``.$`` values.

``path_ok`` and ``intrinsic_ok`` delegate to ``asl.jsonpath.compile_path`` and
``asl.intrinsics.compile_intrinsic`` once those modules exist, and fall back to the
small permissive checks below until then (a false rejection is worse than a miss).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from opensfn.errors import DefinitionError

# The 18 intrinsic functions AWS knows (States.* names are case-sensitive).
INTRINSICS = frozenset(
    {
        "States.Format",
        "States.StringToJson",
        "States.JsonToString",
        "States.Array",
        "States.ArrayPartition",
        "States.ArrayContains",
        "States.ArrayRange",
        "States.ArrayGetItem",
        "States.ArrayLength",
        "States.ArrayUnique",
        "States.Base64Encode",
        "States.Base64Decode",
        "States.Hash",
        "States.JsonMerge",
        "States.MathRandom",
        "States.MathAdd",
        "States.StringSplit",
        "States.UUID",
    }
)

# Single-node steps of a reference path: .name, ['name'], ["name"], [0].
_REF_STEP = re.compile(r"""\.[^.\[\]*?@,:\s()]+|\[(?:\d+|'[^']*'|"[^"]*")\]""")
_ROOT = re.compile(r"^\$(?:\$|[A-Za-z_][A-Za-z0-9_]*)?")


def _compiler(module: str, name: str) -> Callable[[str], Any] | None:
    try:
        found: Callable[[str], Any] = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return found


def path_ok(expr: str) -> bool:
    """True when ``expr`` is a syntactically valid JSONPath as AWS accepts it."""
    compile_path = _compiler("opensfn.asl.jsonpath", "compile_path")
    if compile_path is not None:
        try:
            compile_path(expr)
        except DefinitionError:
            return False
        return True
    return _fallback_path_ok(expr)


def intrinsic_ok(expr: str) -> bool:
    """True when ``expr`` is a syntactically valid intrinsic function call."""
    compile_intrinsic = _compiler("opensfn.asl.intrinsics", "compile_intrinsic")
    if compile_intrinsic is not None:
        try:
            compile_intrinsic(expr)
        except DefinitionError:
            return False
        return True
    return _fallback_intrinsic_ok(expr)


def reference_path_problem(expr: str, *, context: bool = False) -> str | None:
    """Why ``expr`` is not a Reference Path (AWS's wording), or None when it is one.

    ``context`` allows ``$$`` context-object paths (Choice ``Variable`` does).
    """
    if not expr.startswith("$"):
        return "Value is not a Reference Path: Reference path didn't start with '$'"
    root = _ROOT.match(expr)
    end = root.end() if root else 1
    if expr.startswith("$$") and not context:
        return "Value is not a Reference Path: Reference path can't reference the context object"
    rest = expr[end:]
    while rest:
        step = _REF_STEP.match(rest)
        if step is None:
            return "Value is not a Reference Path: Only single-node paths are allowed"
        rest = rest[step.end() :]
    return None


def _fallback_path_ok(expr: str) -> bool:
    # Permissive: a root, then balanced brackets/parentheses and no dangling dot.
    if not _ROOT.match(expr):
        return False
    depth = 0
    quote = ""
    for char in expr:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quote and not expr.endswith(".")


def _fallback_intrinsic_ok(expr: str) -> bool:
    parser = _IntrinsicScanner(expr)
    return parser.call() and parser.pos == len(expr)


class _IntrinsicScanner:
    """Just enough of the intrinsic grammar to tell a well-formed call from a broken one.

    Inside single-quoted literals only ``\\'``, ``\\{``, ``\\}`` and ``\\\\`` are escapes;
    AWS rejects any other backslash sequence (e.g. ``\\"``).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def call(self) -> bool:
        name = re.compile(r"States\.[A-Za-z0-9]+").match(self.text, self.pos)
        if name is None or name.group() not in INTRINSICS:
            return False
        self.pos = name.end()
        if not self.text.startswith("(", self.pos):
            return False
        self.pos += 1
        self._skip_spaces()
        if self.text.startswith(")", self.pos):
            self.pos += 1
            return True
        while True:
            self._skip_spaces()
            if not self.argument():
                return False
            self._skip_spaces()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if self.text.startswith(")", self.pos):
                self.pos += 1
                return True
            return False

    def argument(self) -> bool:
        rest = self.text[self.pos :]
        if rest.startswith("'"):
            return self.literal()
        if rest.startswith("States."):
            return self.call()
        if rest.startswith("$"):
            end = self.pos
            depth = 0
            while end < len(self.text):
                char = self.text[end]
                if char in "[(":
                    depth += 1
                elif char in "])":
                    if depth == 0:
                        break
                    depth -= 1
                elif char == "," and depth == 0:
                    break
                end += 1
            path = self.text[self.pos : end].rstrip()
            self.pos = end
            return _fallback_path_ok(path)
        number = re.compile(r"-?\d+(\.\d+)?|true|false|null").match(self.text, self.pos)
        if number is None:
            return False
        self.pos = number.end()
        return True

    def literal(self) -> bool:
        self.pos += 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                if self.pos + 1 >= len(self.text) or self.text[self.pos + 1] not in "'{}\\":
                    return False
                self.pos += 2
                continue
            self.pos += 1
            if char == "'":
                return True
        return False
