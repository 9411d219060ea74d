"""CloudWatch Logs of executions: a state machine's ``loggingConfiguration`` honoured.

A state machine (Standard or Express) whose logging ``level`` is not ``OFF`` and which
names a log group has its execution history events written there, one JSON record per event, as AWS writes
them (recorded against AWS, 2024-06)::

    {"id": "3", "type": "ExecutionFailed", "details": {"cause": "…", "error": "…"},
     "previous_event_id": "2", "event_timestamp": "1717615626123",
     "execution_arn": "arn:aws:states:…:execution:…", "redrive_count": "0"}

- ``details`` are the event's details; ``includeExecutionData`` false leaves out the
  execution data (``input``, ``output``, their ``…Details``, a Task's ``parameters``,
  assigned variables) and keeps the rest (names, error, cause, role ARN);
- ``ALL`` logs every event; ``ERROR`` the failures — every ``…Failed``, ``…TimedOut``
  and ``…Aborted`` event and ``FailStateEntered`` (recorded: a Fail state logs
  ``FailStateEntered`` and ``ExecutionFailed``, a Wait state failing at run time only
  ``ExecutionFailed``); ``FATAL`` only the execution's own end in failure
  (``ExecutionFailed``, ``ExecutionTimedOut``, ``ExecutionAborted``).

Each execution writes to a log stream of its own in that group,
``states/<state machine>/<start time, UTC, to the minute>/<8 hex digits of its ARN>``.
opensfn writes these when a CloudWatch Logs endpoint is configured (``--endpoint
logs=URL``), never to AWS on its own. As on AWS ("Publishing logs doesn't block or slow
down executions"; delivery is best effort) the records are sent after the events are
committed, off the event loop, and one that cannot be delivered — the log group does
not exist, say — is logged and dropped without touching the execution.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson

from opensfn.runtime.best_effort import ServiceOutbox

_FATAL = frozenset({"ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})
_DATA_FIELDS = frozenset(
    {"input", "inputDetails", "output", "outputDetails", "parameters",
     "assignedVariables", "assignedVariablesDetails"}
)  # fmt: skip
_BATCH = 500  # records per PutLogEvents call (its limit: 10,000 events, 1 MB)


@dataclass(frozen=True, slots=True)
class LogTarget:
    """Where and what one state machine revision logs."""

    group_arn: str
    level: str  # ALL, ERROR or FATAL
    include_data: bool

    @property
    def region(self) -> str:
        return self.group_arn.split(":")[3]

    @property
    def group_name(self) -> str:
        """``my-group`` of ``arn:aws:logs:…:log-group:my-group:*``."""
        name = self.group_arn.split(":log-group:", 1)[1]
        return name[:-2] if name.endswith(":*") else name


def target_of(logging_json: str) -> LogTarget | None:
    """The target of a revision's ``loggingConfiguration`` (None: it logs nothing)."""
    config = orjson.loads(logging_json)
    level = config.get("level", "OFF")
    destinations = config.get("destinations") or []
    if level == "OFF" or not destinations:
        return None
    group = (destinations[0].get("cloudWatchLogsLogGroup") or {}).get("logGroupArn")
    if not isinstance(group, str) or ":log-group:" not in group:
        return None
    return LogTarget(group, level, bool(config.get("includeExecutionData", False)))


def logged(level: str, event_type: str) -> bool:
    """Does ``level`` log events of ``event_type``?"""
    if level == "ALL":
        return True
    if level == "FATAL":
        return event_type in _FATAL
    return event_type == "FailStateEntered" or event_type.endswith(
        ("Failed", "TimedOut", "Aborted")
    )


def record(event: dict[str, Any], execution_arn: str, redrive_count: int, data: bool) -> str:
    """The log record (JSON text) of one history event."""
    details: dict[str, Any] = {}
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            details = value if data else {k: v for k, v in value.items() if k not in _DATA_FIELDS}
    return orjson.dumps(
        {
            "id": str(event["id"]),
            "type": event["type"],
            "details": details,
            "previous_event_id": str(event.get("previousEventId", 0)),
            "event_timestamp": str(round(float(event["timestamp"]) * 1000)),
            "execution_arn": execution_arn,
            "redrive_count": str(redrive_count),
        }
    ).decode()


def stream_name(machine_name: str, execution_arn: str, start: datetime) -> str:
    """The log stream of one execution."""
    digest = hashlib.sha256(execution_arn.encode()).hexdigest()[:8]
    return f"states/{machine_name}/{start.astimezone(UTC):%Y-%m-%d-%H-%M}/{digest}"


# One record to send: (region, group name, stream name, timestamp in ms, message).
Item = tuple[str, str, str, int, str]


class ExecutionLogs(ServiceOutbox[Item]):
    """Sends the records queued by :meth:`emit` to CloudWatch Logs (see the module
    docstring)."""

    def __init__(
        self, client_of: Callable[[str], Any], run_blocking: Callable[..., Awaitable[Any]]
    ) -> None:
        super().__init__("execution log records", _BATCH, client_of, run_blocking)
        self._streams: set[tuple[str, str, str]] = set()  # created (region, group, stream)

    def emit(
        self,
        target: LogTarget,
        stream: str,
        execution_arn: str,
        redrive_count: int,
        events: Iterable[dict[str, Any]],
    ) -> None:
        """Queue the records of the ``events`` ``target``'s level logs (never waits)."""
        for event in events:
            if logged(target.level, event["type"]):
                message = record(event, execution_arn, redrive_count, target.include_data)
                millis = round(float(event["timestamp"]) * 1000)
                self.outbox.put((target.region, target.group_name, stream, millis, message))

    async def _send(self, batch: list[Item]) -> None:
        by_stream: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for region, group, stream, millis, message in batch:
            by_stream.setdefault((region, group, stream), []).append(
                {"timestamp": millis, "message": message}
            )
        for key, records in by_stream.items():
            region, group, stream = key
            client = self._client_of(region)
            if key not in self._streams:
                with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                    await self._run_blocking(
                        partial(client.create_log_stream, logGroupName=group, logStreamName=stream)
                    )
                self._streams.add(key)
            await self._run_blocking(
                partial(client.put_log_events, logGroupName=group, logStreamName=stream,
                        logEvents=records)
            )  # fmt: skip
