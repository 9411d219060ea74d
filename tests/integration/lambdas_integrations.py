"""Local Lambda handlers the integration tests map with ``--lambda NAME=module:function``."""

from __future__ import annotations

from typing import Any


class BadInput(Exception):
    """A user-defined error, named in the Task's error like the Lambda runtime does."""


def echo(event: Any, context: Any) -> Any:
    """Returns its event and the function name the context carries."""
    return {"event": event, "function": context.function_name}


def boom(event: Any, context: Any) -> Any:
    """Always fails with BadInput."""
    raise BadInput(f"bad input: {event!r}")


def raw(event: Any, context: Any) -> bytes:
    """Returns bytes: the runtime sends them as the payload unchanged."""
    return b'"raw text"'


def slow(event: Any, context: Any) -> Any:
    """Answers after ``event["seconds"]`` seconds."""
    import time

    time.sleep(float(event.get("seconds", 2)))
    return {"slept": event.get("seconds", 2)}
