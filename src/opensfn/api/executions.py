"""Execution operations: Start, Describe, Stop, List, GetExecutionHistory."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from opensfn.api import arns, pagination
from opensfn.api.context import RequestContext
from opensfn.api.machines import current_revision, get_machine
from opensfn.errors import ExecutionDoesNotExist, InvalidExecutionInput
from opensfn.store.records import ExecutionRecord

MAX_PAYLOAD_BYTES = 262_144

# Why an execution can or cannot be redriven, by status (DescribeExecution's
# redriveStatus / redriveStatusReason). Rules: statuses absent here are REDRIVABLE
# without a reason.
_NOT_REDRIVABLE = {
    "RUNNING": "Execution is RUNNING and cannot be redriven",
    "SUCCEEDED": "Execution is SUCCEEDED and cannot be redriven",
}


def _get(ctx: RequestContext, arn: str) -> ExecutionRecord:
    arns.execution(arn)
    rec = ctx.store.get_execution(arn)
    if rec is None:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
    return rec


def check_input(text: str) -> str:
    """``text`` if it is JSON of at most 262,144 bytes, else InvalidExecutionInput."""
    if len(text) * 4 > MAX_PAYLOAD_BYTES and len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidExecutionInput(
            f"Invalid State Machine Execution Input: 'The input is {len(text.encode())} bytes; "
            f"the maximum is {MAX_PAYLOAD_BYTES} bytes'"
        )
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from None
    return text


async def start_execution(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """StartExecution (idempotent by name: same name and input while RUNNING)."""
    m = get_machine(ctx, p["stateMachineArn"])
    name = p.get("name")
    name = str(uuid.uuid4()) if name is None else arns.check_name(name)
    raw = p.get("input")
    input_text = "{}" if raw is None else check_input(raw)
    revision = current_revision(ctx, m)
    arn = arns.execution_of(m.arn, name)
    started = await ctx.runtime.start_execution(m, revision, arn, name, input_text)
    return {"executionArn": started.execution_arn, "startDate": started.start_date}


async def describe_execution(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """DescribeExecution."""
    rec = _get(ctx, p["executionArn"])
    with_data = p.get("includedData") != "METADATA_ONLY"
    out: dict[str, Any] = {
        "executionArn": rec.arn,
        "stateMachineArn": rec.machine_arn,
        "name": rec.name,
        "status": rec.status,
        "startDate": rec.start_date,
    }
    if rec.stop_date is not None:
        out["stopDate"] = rec.stop_date
    if with_data:
        out["input"] = rec.input
    out["inputDetails"] = {"included": with_data}
    if rec.status == "SUCCEEDED" or rec.output is not None:
        if with_data and rec.output is not None:
            out["output"] = rec.output
        out["outputDetails"] = {"included": with_data}
    if rec.error is not None:
        out["error"] = rec.error
    if rec.cause is not None:
        out["cause"] = rec.cause
    out["redriveCount"] = 0
    reason = _NOT_REDRIVABLE.get(rec.status)
    out["redriveStatus"] = "REDRIVABLE" if reason is None else "NOT_REDRIVABLE"
    if reason is not None:
        out["redriveStatusReason"] = reason
    return out


async def stop_execution(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """StopExecution: the execution ends ABORTED (a closed one is left as it is)."""
    arn = p["executionArn"]
    rec = _get(ctx, arn)
    ex = ctx.runtime.open.get(arn)
    if ex is not None and not ex.closed:
        stop_date = await ctx.runtime.stop_execution(ex, p.get("error"), p.get("cause"))
        return {"stopDate": stop_date}
    return {"stopDate": rec.stop_date if rec.stop_date is not None else time.time()}


def _list_item(rec: ExecutionRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "executionArn": rec.arn,
        "stateMachineArn": rec.machine_arn,
        "name": rec.name,
        "status": rec.status,
        "startDate": rec.start_date,
    }
    if rec.stop_date is not None:
        item["stopDate"] = rec.stop_date
    return item


async def list_executions(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """ListExecutions: newest first, optionally one status only."""
    m = get_machine(ctx, p["stateMachineArn"])
    before = pagination.decode("ListExecutions", p.get("nextToken"))
    size = pagination.page_size(p)
    rows = ctx.store.list_executions(
        m.arn, p.get("statusFilter"), 2**62 if before is None else int(before), size + 1
    )
    out: dict[str, Any] = {"executions": [_list_item(r) for r in rows[:size]]}
    if len(rows) > size:
        out["nextToken"] = pagination.encode("ListExecutions", rows[size - 1].id)
    return out


_DATA_KEYS = ("input", "output")


def _strip(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            for data_key in _DATA_KEYS:
                value.pop(data_key, None)
    return event


async def get_execution_history(ctx: RequestContext, p: dict[str, Any]) -> bytes:
    """GetExecutionHistory: events as recorded, paginated, optionally reversed or without data."""
    rec = _get(ctx, p["executionArn"])
    reverse = bool(p.get("reverseOrder"))
    position = pagination.decode("GetExecutionHistory", p.get("nextToken"))
    after = (2**62 if reverse else 0) if position is None else int(position)
    size = pagination.page_size(p)
    rows = ctx.store.get_events(rec.id, after, size + 1, reverse)
    page = rows[:size]
    if p.get("includeExecutionData", True):
        body = b",".join(b.encode() for _, b in page)
    else:
        body = b",".join(orjson.dumps(_strip(orjson.loads(b))) for _, b in page)
    tail = b""
    if len(rows) > size:
        tail = b',"nextToken":' + orjson.dumps(
            pagination.encode("GetExecutionHistory", page[-1][0])
        )
    return b'{"events":[' + body + b"]" + tail + b"}"
