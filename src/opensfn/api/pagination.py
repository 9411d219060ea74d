"""Opaque pagination tokens for every List* operation and GetExecutionHistory.

A token names the operation it came from and the position after the last item
returned; it is base64url JSON, so it survives restarts. A token from another
operation or an edited token answers InvalidToken, as AWS does for tokens it did not
issue.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from opensfn.errors import InvalidToken

DEFAULT_PAGE = 100  # AWS: maxResults 0 or absent means 100
MAX_PAGE = 1000


def page_size(params: dict[str, Any]) -> int:
    """The page size asked for (``maxResults``; 0 or absent means the default)."""
    n = params.get("maxResults") or 0
    return DEFAULT_PAGE if n <= 0 else min(int(n), MAX_PAGE)


def encode(op: str, position: Any) -> str:
    """The nextToken for resuming ``op`` after ``position``."""
    return base64.urlsafe_b64encode(orjson.dumps({"op": op, "at": position})).decode("ascii")


def decode(op: str, token: str | None) -> Any:
    """The position a nextToken resumes at (``None`` without a token)."""
    if token is None:
        return None
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        data = None
    if not isinstance(data, dict) or data.get("op") != op or "at" not in data:
        raise InvalidToken(f"Invalid Token: 'Invalid nextToken: {token}'")
    return data["at"]
