"""Express executions at the API: StartSyncExecution, and StartExecution of an EXPRESS machine.

Express executions keep no history (``runtime.express``): their ARN is of the
``express`` kind (``…:express:<machine>:<name>:<uuid>``), which DescribeExecution and
GetExecutionHistory refuse as AWS does (``InvalidArn``: resource type not valid).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from opensfn.api import arns
from opensfn.api.context import RequestContext
from opensfn.api.versions import Target, resolve
from opensfn.engine.protocol import ExecutionInfo
from opensfn.errors import InternalFailure, StateMachineTypeNotSupported
from opensfn.runtime import express

# AWS reports a fixed memory figure for Express billing.
BILLED_MEMORY_MB = 64


def runner(ctx: RequestContext) -> express.ExpressRunner:
    """This server's Express runner."""
    return express.runner_for(ctx.runtime, ctx.services.settings.wait_scale)


def _info(target: Target, name: str) -> ExecutionInfo:
    m = target.machine
    return ExecutionInfo(
        execution_arn=express.new_execution_arn(m.arn, name),
        execution_name=name,
        state_machine_arn=m.arn,
        state_machine_name=m.name,
        role_arn=target.revision.role_arn,
        start_time=datetime.now(UTC),
    )


def _machine(ctx: RequestContext, target: Target) -> Any:
    try:
        return ctx.runtime.machine(target.revision)
    except Exception as exc:
        raise InternalFailure("The state machine definition could not be loaded.") from exc


def start_express(
    ctx: RequestContext, target: Target, name: str, input_text: str
) -> dict[str, Any]:
    """StartExecution of an EXPRESS machine: runs in memory, answers at once."""
    ex = _start(ctx, target, _info(target, name), input_text)
    return {"executionArn": ex.info.execution_arn, "startDate": ex.start_date}


def _start(
    ctx: RequestContext, target: Target, info: ExecutionInfo, input_text: str
) -> express.ExpressExecution:
    logs = ctx.runtime.logs_of(target.revision, info)
    return runner(ctx).start(_machine(ctx, target), info, input_text, logs)


async def start_sync_execution(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """StartSyncExecution: run an EXPRESS execution to its end and report it."""
    from opensfn.api.executions import check_input, trace_header  # (executions imports us)

    target = resolve(ctx, p["stateMachineArn"])
    if target.machine.type != "EXPRESS":
        raise StateMachineTypeNotSupported(
            "StartSyncExecution is not available for STANDARD workflows"
        )
    name = p.get("name")
    name = str(uuid.uuid4()) if name is None else arns.check_name(name)
    raw = p.get("input")
    input_text = "{}" if raw is None else check_input(raw)
    ex = _start(ctx, target, _info(target, name), input_text)
    # A client that goes away does not stop the execution (AWS runs it to its end).
    outcome = await asyncio.shield(ex.done)
    out: dict[str, Any] = {
        "executionArn": ex.info.execution_arn,
        "stateMachineArn": target.machine.arn,
        "name": name,
        "startDate": ex.start_date,
        "stopDate": outcome.stop_date,
        "status": outcome.status,
        "input": input_text,
        "inputDetails": {"included": True},
    }
    if outcome.output is not None:
        out["output"] = outcome.output
    out["outputDetails"] = {"included": True}
    if outcome.error is not None:
        out["error"] = outcome.error
    if outcome.cause is not None:
        out["cause"] = outcome.cause
    header = trace_header(ctx, p)
    if header is not None:
        out["traceHeader"] = header
    out["billingDetails"] = {
        "billedMemoryUsedInMB": BILLED_MEMORY_MB,
        "billedDurationInMilliseconds": express.billed_milliseconds(
            ex.start_date, outcome.stop_date
        ),
    }
    return out
