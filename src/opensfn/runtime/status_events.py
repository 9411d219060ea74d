"""EventBridge's "Step Functions Execution Status Change" events.

AWS sends one to the account's default event bus each time a Standard execution starts
(``RUNNING``, again when it is redriven) and when it ends (``SUCCEEDED``, ``FAILED``,
``TIMED_OUT``, ``ABORTED``), with ``source`` ``aws.states``; rules on that bus start
workflows, call functions or fill queues from them. Express executions send none. The
event's ``detail`` is what DescribeExecution says, dates in epoch milliseconds, and
``stopDate``, ``output`` and ``outputDetails`` null until there is one (AWS's examples);
an input and output too large for an event together (248 KB) leave the input out, an
output too large alone leaves it out too, ``…Details.included`` saying so.

opensfn sends them when an EventBridge endpoint is configured (``--endpoint
events=URL``, the endpoint the ``events:putEvents`` Task uses): never to AWS on its own.
As on AWS the delivery is best effort: the events are sent after the change is
committed, in batches of up to 10 per PutEvents call, off the event loop; one that
cannot be delivered is logged and dropped, and none holds up an execution.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson

from opensfn.runtime.best_effort import ServiceOutbox
from opensfn.store.records import ExecutionRecord

SOURCE = "aws.states"
DETAIL_TYPE = "Step Functions Execution Status Change"
PAYLOAD_LIMIT = 248 * 1024
"""The escaped input and output an event carries at most (AWS's guide: EventBridge's
event size quota)."""
_BATCH = 10  # PutEvents takes at most 10 entries

# DescribeExecution's redriveStatus / redriveStatusReason by status. Rules: statuses
# absent here are REDRIVABLE without a reason.
_NOT_REDRIVABLE = {
    "RUNNING": "Execution is RUNNING and cannot be redriven",
    "SUCCEEDED": "Execution is SUCCEEDED and cannot be redriven",
}


def redrive_status(status: str) -> tuple[str, str | None]:
    """``(redriveStatus, redriveStatusReason)`` of an execution in ``status``."""
    reason = _NOT_REDRIVABLE.get(status)
    return ("REDRIVABLE", None) if reason is None else ("NOT_REDRIVABLE", reason)


def _millis(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _escaped_size(text: str | None) -> int:
    return 0 if text is None else len(orjson.dumps(text)) - 2


def detail(rec: ExecutionRecord) -> dict[str, Any]:
    """The event's ``detail`` for an execution as stored."""
    keep_input = _escaped_size(rec.input) + _escaped_size(rec.output) <= PAYLOAD_LIMIT
    keep_output = rec.output is not None and _escaped_size(rec.output) <= PAYLOAD_LIMIT
    out: dict[str, Any] = {
        "executionArn": rec.arn,
        "stateMachineArn": rec.machine_arn,
        "name": rec.name,
        "status": rec.status,
        "startDate": _millis(rec.start_date),
        "stopDate": _millis(rec.stop_date),
        "input": rec.input if keep_input else None,
        "output": rec.output if keep_output else None,
        "inputDetails": {"included": keep_input},
        "outputDetails": {"included": keep_output} if rec.output is not None else None,
    }
    if rec.error is not None:
        out["error"] = rec.error
    if rec.cause is not None:
        out["cause"] = rec.cause
    out["redriveCount"] = rec.redrive_count
    if rec.redrive_date is not None:
        out["redriveDate"] = _millis(rec.redrive_date)
    out["redriveStatus"], reason = redrive_status(rec.status)
    if reason is not None:
        out["redriveStatusReason"] = reason
    return out


def entry(rec: ExecutionRecord) -> tuple[str, dict[str, Any]]:
    """``(region, PutEvents entry)`` of the status change ``rec`` now shows."""
    parts = rec.arn.split(":")
    changed = rec.stop_date if rec.stop_date is not None else rec.redrive_date or rec.start_date
    return parts[3], {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Resources": [rec.arn],
        "Detail": orjson.dumps(detail(rec)).decode(),
        "Time": datetime.fromtimestamp(changed, UTC),
    }


class StatusEvents(ServiceOutbox[tuple[str, dict[str, Any]]]):
    """Sends the events queued by :meth:`emit` to EventBridge (see the module docstring)."""

    def __init__(
        self, client_of: Callable[[str], Any], run_blocking: Callable[..., Awaitable[Any]]
    ) -> None:
        super().__init__("execution status events", _BATCH, client_of, run_blocking)
        self.sent = 0

    def emit(self, rec: ExecutionRecord) -> None:
        """Queue the event of ``rec``'s status (never waits)."""
        self.outbox.put(entry(rec))

    async def _send(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        by_region: dict[str, list[dict[str, Any]]] = {}
        for region, item in batch:
            by_region.setdefault(region, []).append(item)
        for region, entries in by_region.items():
            client = self._client_of(region)
            answer = await self._run_blocking(partial(client.put_events, Entries=entries))
            failed = int(answer.get("FailedEntryCount") or 0)
            self.sent += len(entries) - failed
            if failed:
                codes = sorted({e.get("ErrorCode", "?") for e in answer.get("Entries", [])} - {"?"})
                self.outbox.drop(failed, f"refused by EventBridge ({', '.join(codes)})")
