"""Activity operations and task answers: Create/Describe/Delete/ListActivities,
GetActivityTask, SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat."""

from __future__ import annotations

import time
from typing import Any

import orjson

from opensfn.api import arns, encryption, pagination
from opensfn.api.context import RequestContext
from opensfn.api.executions import MAX_PAYLOAD_BYTES
from opensfn.api.tags import check_tag_count, tag_pairs
from opensfn.asl.payload import MAX_DEPTH, too_deep
from opensfn.engine.protocol import TaskFailed, TaskHeartbeat, TaskSucceeded, Trigger
from opensfn.errors import (
    ActivityAlreadyExists,
    ActivityDoesNotExist,
    InvalidOutput,
    InvalidToken,
    TaskTimedOut,
)
from opensfn.runtime import tokens
from opensfn.runtime.runner import OpenExecution
from opensfn.store import writes
from opensfn.store.records import ActivityRecord


def _get(ctx: RequestContext, arn: str) -> ActivityRecord:
    arns.activity(arn)
    a = ctx.store.get_activity(arn)
    if a is None:
        raise ActivityDoesNotExist(f"Activity Does Not Exist: '{arn}'")
    return a


async def create_activity(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """CreateActivity (idempotent by name; tags of a repeat call are ignored, as AWS does;
    its encryption configuration cannot be changed: ActivityAlreadyExists)."""
    name = arns.check_name(p["name"])
    arn = arns.make(ctx.region, ctx.account, "activity", name)
    config = p.get("encryptionConfiguration")
    encrypted = encryption.kept(config)
    existing = ctx.store.get_activity(arn)
    if existing is not None:
        if config is not None and not encryption.same(encrypted, existing.encryption):
            raise ActivityAlreadyExists(f"Activity Already Exists: '{arn}'")
        return {"activityArn": arn, "creationDate": existing.creation_date}
    tags = tag_pairs(p.get("tags"))
    check_tag_count(arn, len(tags))
    now = time.time()
    record = ActivityRecord(arn, ctx.region, ctx.account, name, now, ctx.store.new_seq(), encrypted)
    try:
        await ctx.store.submit(writes.create_activity(record, tags))
    except Exception:
        again = ctx.store.get_activity(arn)  # a concurrent create of the same name won
        if again is None:
            raise
        return {"activityArn": arn, "creationDate": again.creation_date}
    return {"activityArn": arn, "creationDate": now}


async def describe_activity(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """DescribeActivity."""
    a = _get(ctx, p["activityArn"])
    out = {"activityArn": a.arn, "name": a.name, "creationDate": a.creation_date}
    return encryption.described(out, a.encryption)


async def delete_activity(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """DeleteActivity (deleting an absent activity succeeds)."""
    arn = p["activityArn"]
    arns.activity(arn)
    await ctx.store.submit(writes.delete_activity(arn))
    return {}


async def list_activities(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """ListActivities in creation order."""
    after = pagination.decode("ListActivities", p.get("nextToken")) or 0
    size = pagination.page_size(p)
    rows = ctx.store.list_activities(ctx.account, ctx.region, int(after), size + 1)
    out: dict[str, Any] = {
        "activities": [
            {"activityArn": a.arn, "name": a.name, "creationDate": a.creation_date}
            for a in rows[:size]
        ]
    }
    if len(rows) > size:
        out["nextToken"] = pagination.encode("ListActivities", rows[size - 1].seq)
    return out


async def get_activity_task(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """GetActivityTask: long-poll for a task; no token when none arrives in time."""
    a = _get(ctx, p["activityArn"])
    got = await ctx.runtime.take_activity_task(
        a.arn, p.get("workerName"), ctx.account, ctx.services.settings.activity_poll_seconds
    )
    if got is None:
        return {}
    token, task_input = got
    return {"taskToken": token, "input": task_input}


def _open_task(ctx: RequestContext, token: str) -> tuple[OpenExecution, str]:
    target = tokens.read_token(ctx.runtime.secret, ctx.account, token)
    if target is None:
        raise InvalidToken("Invalid Token: 'Invalid token'")
    ex = ctx.runtime.task_is_open(target.execution_arn, target.task_id)
    if ex is None:
        raise TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'")
    return ex, target.task_id


async def _answer(ctx: RequestContext, token: str, make: Any) -> dict[str, Any]:
    ex, task_id = _open_task(ctx, token)
    trigger: Trigger = make(task_id)
    await ctx.runtime.answer_task(ex, trigger)
    return {}


async def send_task_success(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """SendTaskSuccess: the task's output (JSON) completes it."""
    output = p["output"]
    if len(output.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidOutput(
            f"Invalid Output: 'The output exceeds the maximum of {MAX_PAYLOAD_BYTES} bytes'"
        )
    try:
        value = orjson.loads(output)
    except orjson.JSONDecodeError as exc:
        raise InvalidOutput(f"Invalid Output: '{exc}'") from None
    if too_deep(output, value):
        raise InvalidOutput(
            f"Invalid Output: 'The output nests arrays and objects deeper than {MAX_DEPTH} "
            "levels, the most opensfn supports'"
        )
    return await _answer(ctx, p["taskToken"], lambda task_id: TaskSucceeded(task_id, output))


async def send_task_failure(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """SendTaskFailure: the task fails with ``error`` and ``cause``."""
    return await _answer(
        ctx, p["taskToken"], lambda task_id: TaskFailed(task_id, p.get("error"), p.get("cause"))
    )


async def send_task_heartbeat(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """SendTaskHeartbeat: the task's heartbeat timer starts again."""
    return await _answer(ctx, p["taskToken"], TaskHeartbeat)
