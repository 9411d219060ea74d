"""Output of the connector's commands: JSON, tables, event summaries, durations.

On a terminal, tables are drawn and coloured with rich; otherwise (a pipe, a file,
``NO_COLOR``/``TERM=dumb`` as rich honours them) tables are tab-separated plain text
with a header line, so scripts can cut and sort them.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = [
    "STATUS_STYLE",
    "console",
    "duration",
    "event_summary",
    "jsonable",
    "print_json",
    "print_table",
]

# Colour of each execution status and of each outcome word in event summaries.
STATUS_STYLE = {
    "RUNNING": "cyan",
    "SUCCEEDED": "green",
    "FAILED": "red",
    "TIMED_OUT": "red",
    "ABORTED": "yellow",
    "PENDING_REDRIVE": "magenta",
}


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr); plain when that stream is not a terminal."""
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def jsonable(value: Any) -> Any:
    """``value`` with boto3's datetimes as ISO 8601 text (as the AWS CLI v2 prints them)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON on stdout, coloured on a terminal."""
    text = json.dumps(jsonable(value), indent=2, ensure_ascii=False)
    out = console()
    if out.is_terminal:
        out.print_json(text, indent=2, highlight=True)
    else:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
    """Print a table: rich on a terminal, tab-separated lines (header first) otherwise.

    A cell may be a rich ``Text`` (kept styled on a terminal, plain otherwise).
    """
    out = console()
    if not out.is_terminal:
        for row in (headers, *rows):
            sys.stdout.write("\t".join(str(_plain(c)) for c in row) + "\n")
        sys.stdout.flush()
        return
    table = Table(title=title or None, show_edge=False, header_style="bold")
    for h in headers:
        table.add_column(h, overflow="fold")
    for row in rows:
        table.add_row(*(c if isinstance(c, Text) else Text(str(c)) for c in row))
    out.print(table)


def _plain(cell: Any) -> Any:
    return cell.plain if isinstance(cell, Text) else cell


def status_text(status: str) -> Text:
    """An execution status, coloured."""
    return Text(status, style=STATUS_STYLE.get(status, ""))


def duration(seconds: float | None) -> str:
    """A short human duration: ``850ms``, ``12.3s``, ``4m05s``, ``2h07m``."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def elapsed(start: dt.datetime, stop: dt.datetime | None) -> float:
    """Seconds from ``start`` to ``stop`` (to now while still running)."""
    end = stop or dt.datetime.now(start.tzinfo or dt.UTC)
    return max(0.0, (end - start).total_seconds())


# Per history event, the detail members worth one line of a timeline, in order.
_DETAIL_FIELDS = ("name", "resource", "error", "cause", "input", "output")
_SHORT = 120


def event_details(event: dict[str, Any]) -> dict[str, Any]:
    """The ``...EventDetails`` member of a history event (empty if it has none)."""
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def event_summary(event: dict[str, Any]) -> str:
    """One line saying what a history event carries: state name, error, cause, data."""
    details = event_details(event)
    parts = []
    for key in _DETAIL_FIELDS:
        if key in details and details[key] not in (None, ""):
            text = str(details[key]).replace("\n", " ")
            if len(text) > _SHORT:
                text = text[: _SHORT - 1] + "…"
            parts.append(text if key == "name" else f"{key}={text}")
    return "  ".join(parts)


def event_style(event_type: str) -> str:
    """Colour of a history event type in a timeline."""
    if event_type.endswith(("Failed", "TimedOut", "Aborted")):
        return "red"
    if event_type.endswith(("Succeeded", "Exited")):
        return "green"
    if event_type.endswith("Entered") or event_type.endswith("Started"):
        return "cyan"
    return ""
