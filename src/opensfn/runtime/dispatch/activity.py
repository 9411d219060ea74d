"""Activities: the task waits in its activity's queue for GetActivityTask.

GetActivityTask hands the task out (TaskStarted) and SendTask* answers it; nothing runs
here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from opensfn.engine.protocol import ScheduleTask
from opensfn.runtime.dispatch.host import DispatchHost
from opensfn.runtime.queues import QueuedTask


def enqueue(host: DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    """Queue the task for a worker of its activity."""
    host.queues.put(cmd.resource, task_of(execution_arn, cmd))


def task_of(
    execution_arn: str, cmd: ScheduleTask, started: asyncio.Future[Any] | None = None
) -> QueuedTask:
    """What a worker of the activity is given for ``cmd`` (its input as JSON text)."""
    return QueuedTask(execution_arn, cmd.task_id, orjson.dumps(cmd.parameters).decode(), started)
