"""Dispatchers: who carries out a Task state's work, by resource kind.

``DISPATCHERS`` maps a resource kind (see :func:`resource_kind`) to a function that
takes the ``ScheduleTask`` command. Rules: a dispatcher never blocks the event loop;
it answers later through ``host.deliver`` with TaskStarted / TaskSucceeded /
TaskFailed triggers (or, for activities, leaves that to GetActivityTask and
SendTask*). New integrations (Lambda, HTTP, aws-sdk, nested executions) add a kind and
a dispatcher here; ``.waitForTaskToken`` tasks are completed by SendTask* only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import orjson

from opensfn.engine.protocol import ScheduleTask, TaskFailed, Trigger
from opensfn.runtime.queues import ActivityQueues, QueuedTask


class DispatchHost(Protocol):
    """What a dispatcher may use of the runtime."""

    queues: ActivityQueues

    def deliver(self, execution_arn: str, trigger: Trigger) -> None:
        """Step the execution with ``trigger`` (in order with its other triggers)."""


Dispatcher = Callable[[DispatchHost, str, ScheduleTask], None]


def resource_kind(resource: str) -> str:
    """The dispatcher key of a Task resource ARN."""
    parts = resource.split(":", 6)
    if len(parts) == 7 and parts[2] == "states" and parts[5] == "activity":
        return "activity"
    return "unsupported"


def _activity(host: DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    task = QueuedTask(execution_arn, cmd.task_id, orjson.dumps(cmd.parameters).decode())
    host.queues.put(cmd.resource, task)


def _unsupported(host: DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    if cmd.wait_for_token:  # completed by SendTask* with its token, nothing to run here
        return
    host.deliver(
        execution_arn,
        TaskFailed(
            cmd.task_id,
            "States.TaskFailed",
            f"opensfn does not run this resource yet: {cmd.resource}",
        ),
    )


# Resource kind -> dispatcher. Rules: keys are what resource_kind returns; every
# dispatcher returns at once and reports through the host.
DISPATCHERS: dict[str, Dispatcher] = {
    "activity": _activity,
    "unsupported": _unsupported,
}


def dispatch(host: DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    """Hand ``cmd`` to the dispatcher of its resource kind."""
    DISPATCHERS[resource_kind(cmd.resource)](host, execution_arn, cmd)
