"""Execution operations: Start, Describe, Stop, List, GetExecutionHistory."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from opensfn.api import arns, express, map_runs, pagination, versions
from opensfn.api.context import RequestContext
from opensfn.api.machines import get_machine
from opensfn.asl.payload import MAX_DEPTH, too_deep
from opensfn.errors import (
    ExecutionDoesNotExist,
    InvalidExecutionInput,
    StateMachineDeleting,
    StateMachineTypeNotSupported,
    ValidationException,
)
from opensfn.runtime.status_events import redrive_status
from opensfn.store import versions as vstore
from opensfn.store.records import ExecutionRecord

MAX_PAYLOAD_BYTES = 262_144


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
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from None
    if too_deep(text, value):
        raise InvalidExecutionInput(
            "Invalid State Machine Execution Input: 'The input nests arrays and objects "
            f"deeper than {MAX_DEPTH} levels, the most opensfn supports'"
        )
    return text


async def start_execution(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """StartExecution (idempotent by name: same name and input while RUNNING).

    The ARN may name the machine, one of its versions or one of its aliases; an EXPRESS
    machine's execution runs in memory (``api.express``).
    """
    # Step Functions Local's mock test cases: "stateMachineArn#TestCase" (issue #5).
    machine_arn, _, test_case = p["stateMachineArn"].partition("#")
    parsed = arns.parse(machine_arn)
    if parsed.kind == "stateMachine" and parsed.parts and "/" in parsed.parts[0]:
        raise ValidationException(
            f"'{machine_arn}' names a Distributed Map state: its child workflow executions "
            "are started by the Map Run, not by StartExecution"
        )
    target = versions.resolve(ctx, machine_arn)
    m = target.machine
    name = p.get("name")
    fresh_name = name is None
    name = str(uuid.uuid4()) if name is None else arns.check_name(name)
    raw = p.get("input")
    input_text = "{}" if raw is None else check_input(raw)
    if m.status == "DELETING":
        raise StateMachineDeleting(f"State Machine is being deleted: '{m.arn}'")
    if m.type == "EXPRESS":
        return express.start_express(ctx, target, name, input_text)
    arn = arns.execution_of(m.arn, name)
    await versions.remember_source(ctx, target, arn)
    started = await ctx.runtime.start_execution(
        m, target.revision, arn, name, input_text, test_case or None, fresh_name=fresh_name,
        trace_header=trace_header(ctx, p),
    )  # fmt: skip
    return {"executionArn": started.execution_arn, "startDate": started.start_date}


def trace_header(ctx: RequestContext, p: dict[str, Any]) -> str | None:
    """The X-Ray trace header passed to StartExecution or StartSyncExecution: the
    ``X-Amzn-Trace-Id`` header, else the body's ``traceHeader`` (AWS prefers the header)."""
    return ctx.trace_header or p.get("traceHeader") or None


async def describe_execution(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """DescribeExecution."""
    rec = _get(ctx, p["executionArn"])
    with_data = p.get("includedData") != "METADATA_ONLY"
    out = _list_item(ctx, rec)  # what ListExecutions shows, and more
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
    if rec.map_run_arn is not None:
        out["mapRunArn"] = rec.map_run_arn
    if rec.trace_header is not None:
        out["traceHeader"] = rec.trace_header
    out["redriveCount"] = rec.redrive_count
    if rec.redrive_date is not None:
        out["redriveDate"] = rec.redrive_date
    out["redriveStatus"], reason = redrive_status(rec.status)
    if reason is not None:
        out["redriveStatusReason"] = reason
    return out


async def stop_execution(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """StopExecution: the execution ends ABORTED (a closed one is left as it is)."""
    arn = p["executionArn"]
    rec = _get(ctx, arn)
    if rec.map_run_arn is not None and rec.status == "RUNNING":
        raise ValidationException(
            "opensfn runs a Map Run's child executions inside their parent: stop the parent "
            "execution (or let the Map Run's failure tolerance end them)"
        )
    ex = ctx.runtime.open.get(arn)
    if ex is not None and not ex.closed:
        stop_date = await ctx.runtime.stop_execution(ex, p.get("error"), p.get("cause"))
        return {"stopDate": stop_date}
    return {"stopDate": rec.stop_date if rec.stop_date is not None else time.time()}


def _list_item(ctx: RequestContext, rec: ExecutionRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "executionArn": rec.arn,
        "stateMachineArn": rec.machine_arn,
        "name": rec.name,
        "status": rec.status,
        "startDate": rec.start_date,
    }
    if rec.stop_date is not None:
        item["stopDate"] = rec.stop_date
    if rec.map_run_arn is not None:  # a Distributed Map's child execution
        return item
    source = vstore.get_source(ctx.store, rec.arn)
    if source is not None:
        item["stateMachineVersionArn"] = source.version_arn
        if source.alias_arn is not None:
            item["stateMachineAliasArn"] = source.alias_arn
    return item


async def list_executions(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """ListExecutions: newest first, optionally one status only, optionally only the
    executions redriven at least once (``redriveFilter`` REDRIVEN) or never (NOT_REDRIVEN).

    ``stateMachineArn`` may be a version or alias ARN (only the executions started
    through it); ``mapRunArn`` lists a Map Run's child executions instead.
    """
    status = p.get("statusFilter")
    redrive_filter = p.get("redriveFilter")
    redriven = None if redrive_filter is None else redrive_filter == "REDRIVEN"
    run_arn = p.get("mapRunArn")
    through: set[str] | None = None
    if run_arn is not None:
        map_runs.check_child_listing(ctx, p)

        def fetch(position: int, limit: int) -> list[ExecutionRecord]:
            return ctx.store.list_map_run_executions(run_arn, status, position, limit, redriven)

    else:
        target_arn = p.get("stateMachineArn")
        if target_arn is None:
            raise ValidationException("Must provide a StateMachine ARN or MapRun ARN")
        base, qualifier = versions.split_qualified(target_arn)
        m = (
            get_machine(ctx, base)
            if qualifier is None
            else versions.resolve(ctx, target_arn).machine
        )
        if m.type == "EXPRESS":
            raise StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine"
            )
        if qualifier is not None:
            through = vstore.executions_through(ctx.store, target_arn)

        def fetch(position: int, limit: int) -> list[ExecutionRecord]:
            return ctx.store.list_executions(m.arn, status, position, limit, redriven)

    before = pagination.decode("ListExecutions", p.get("nextToken"))
    size = pagination.page_size(p)
    position = 2**62 if before is None else int(before)
    items: list[ExecutionRecord] = []
    more = False
    while True:  # a version/alias filter may skip rows: read on until the page is full
        rows = fetch(position, size + 1)
        for r in rows:
            if through is None or r.arn in through:
                if len(items) == size:
                    more = True
                    break
                items.append(r)
        if more or len(rows) <= size:
            break
        position = rows[-1].id
    listed = [_list_item(ctx, r) for r in items]
    if run_arn is not None:  # only when listed by their Map Run, as AWS answers
        for item, r in zip(listed, items, strict=True):
            item["mapRunArn"] = run_arn
            item["itemCount"] = r.item_count if r.item_count is not None else 1
    out: dict[str, Any] = {"executions": listed}
    if more:
        out["nextToken"] = pagination.encode("ListExecutions", items[-1].id)
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
