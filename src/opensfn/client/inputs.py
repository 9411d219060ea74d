"""Reading a command's JSON argument: inline text, ``@file``, or stdin."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any

import orjson

from opensfn.client.connect import EXIT_BAD_REQUEST, fail

__all__ = ["parse_request", "read_json_arg"]


def _stdin_is_data() -> bool:
    # Only a pipe or a redirected file is read implicitly: a terminal would wait for
    # typing, and /dev/null, sockets and the like mean "no request given".
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def read_json_arg(value: str | None, *, default: str = "{}", stdin: bool = True) -> str:
    """The JSON text an ``--input`` value names.

    ``@path`` is a file's content, ``-`` is stdin, anything else is the JSON itself;
    without a value it is stdin when stdin is a pipe or a file (and ``stdin`` allows),
    else ``default``.
    """
    if value is None:
        return sys.stdin.read() if stdin and _stdin_is_data() else default
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        try:
            return Path(value[1:]).expanduser().read_text()
        except OSError as exc:
            fail(f"cannot read {value[1:]}: {exc.strerror}", EXIT_BAD_REQUEST)
    return value


def parse_request(text: str) -> dict[str, Any]:
    """The request object in ``text``; exit 252 when it is not a JSON object."""
    if not text.strip():
        return {}
    try:
        request = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        fail(f"the request is not valid JSON: {exc}", EXIT_BAD_REQUEST)
    if not isinstance(request, dict):
        fail("the request must be a JSON object", EXIT_BAD_REQUEST)
    return request
