"""Dispatchers: who carries out a Task state's work, by resource kind.

``DISPATCHERS`` maps a resource kind (see :func:`resource_kind`) to a function that
takes the ``ScheduleTask`` command (the rules every dispatcher follows are in
``dispatch.host``). Before the table is consulted, an execution started with a mock
test case (``stateMachineArn#TestCase``) takes the Tasks its case names from the mock
configuration. The runtime tells this package when a task is no longer wanted
(:func:`cancel`) and when an execution ended (:func:`closed`), so in-flight calls are
dropped and ``.sync`` children stopped or reported.
"""

from __future__ import annotations

from typing import Any

from opensfn.engine.protocol import (
    CancelTask,
    CancelTimer,
    Command,
    ScheduleTask,
    ScheduleTimer,
    TaskFailed,
)
from opensfn.runtime.dispatch import activity, itemio, lambda_, mocks, nested, sdk
from opensfn.runtime.dispatch.host import (
    Dispatcher,
    DispatchHost,
    Integrations,
    build_integrations,
    integrations_of,
)
from opensfn.runtime.dispatch.host import cancel as _cancel_call
from opensfn.runtime.timers import Timers

__all__ = [
    "DISPATCHERS",
    "DispatchHost",
    "Dispatcher",
    "Integrations",
    "build_integrations",
    "cancel",
    "closed",
    "dispatch",
    "for_activity_worker",
    "resource_kind",
    "select_test_case",
]


def resource_kind(resource: str) -> str:
    """The dispatcher key of a Task resource ARN."""
    parts = resource.split(":")
    if len(parts) >= 7 and parts[2] == "states" and parts[5] == "activity":
        return "activity"
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        return "lambda"
    if resource.startswith("arn:") and len(parts) >= 7 and parts[2] == "states" and parts[5]:
        service, action = parts[5], parts[6].split(".")[0]
        key = f"{service}:{action}"
        return key if key in DISPATCHERS else "service"
    return "unsupported"


def _unsupported(host: DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    if cmd.wait_for_token:  # completed by SendTask* with its token, nothing to run here
        return
    host.deliver(
        execution_arn,
        TaskFailed(
            cmd.task_id,
            "States.TaskFailed",
            f"opensfn does not run this resource: {cmd.resource}",
        ),
    )


def _http(host: DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    from opensfn.runtime.dispatch import http

    http.invoke(host, execution_arn, cmd)


# Resource kind -> dispatcher. Rules: keys are what resource_kind returns ("service:action"
# keys take those integrations from the generic "service" one); every dispatcher returns
# at once and reports through the host.
DISPATCHERS: dict[str, Dispatcher] = {
    "activity": activity.enqueue,
    "lambda": lambda_.bare,
    "lambda:invoke": lambda_.invoke,
    "states:startExecution": nested.start_execution,
    "http:invoke": _http,
    "opensfn:itemReader": itemio.read,  # a Distributed Map's ItemReader (internal task)
    "opensfn:resultWriter": itemio.write,  # a Distributed Map's ResultWriter (internal task)
    "service": sdk.call,
    "unsupported": _unsupported,
}


def dispatch(host: DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    """Hand ``cmd`` to its mocked answer or to the dispatcher of its resource kind."""
    mocked = mocks.lookup(host, execution_arn, cmd)
    if mocked is not None:
        mocks.deliver(host, execution_arn, cmd, mocked)
        return
    DISPATCHERS[resource_kind(cmd.resource)](host, execution_arn, cmd)


def for_activity_worker(host: DispatchHost, execution_arn: str, cmd: Command) -> bool:
    """Whether ``cmd`` schedules a task for a worker of an activity (not mocked)."""
    return (
        isinstance(cmd, ScheduleTask)
        and resource_kind(cmd.resource) == "activity"
        and execution_arn not in integrations_of(host).test_cases
    )


def cancel(host: DispatchHost, execution_arn: str, task_id: str) -> None:
    """CancelTask: drop the task's call in flight and stop its ``.sync`` child."""
    host.queues.cancel(execution_arn, task_id)
    _cancel_call(host, execution_arn, task_id)
    nested.stop_child(integrations_of(host), execution_arn, task_id)


def carry_out(
    host: DispatchHost, timers: Timers, execution_arn: str, commands: list[Command]
) -> None:
    """Carry out a committed transition's commands: timers, tasks and their cancelling."""
    for cmd in commands:
        if isinstance(cmd, ScheduleTimer):
            timers.schedule(execution_arn, cmd.timer_id, cmd.due)
        elif isinstance(cmd, CancelTimer):
            timers.cancel(execution_arn, cmd.timer_id)
        elif isinstance(cmd, ScheduleTask):
            dispatch(host, execution_arn, cmd)
        elif isinstance(cmd, CancelTask):
            cancel(host, execution_arn, cmd.task_id)  # queues, calls, .sync children


def resumed(host: DispatchHost, execution_arn: str, state: dict[str, Any]) -> None:
    """An open execution was loaded after a restart: re-link what lives in memory only
    (``.sync`` parents and their children, ``.sync`` jobs being followed)."""
    nested.reattach(host, execution_arn, state.get("tasks") or {})
    sdk.reattach(host, execution_arn, state.get("tasks") or {})


def closed(host: DispatchHost, ex: Any, status: str, stop_date: float, output: str | None,
           error: str | None, cause: str | None) -> None:  # fmt: skip
    """An execution ended: drop its calls, stop its children, report it to its parent."""
    state = integrations_of(host)
    arn = ex.info.execution_arn
    for task_id in state.running.task_ids(arn):
        _cancel_call(host, arn, task_id)
    nested.parent_closed(state, arn)
    if state.test_cases.pop(arn, None) is not None:  # only mocked executions count calls
        state.mock_calls.drop(arn)
    info = ex.info
    nested.child_closed(
        state,
        nested.Closed(
            arn, info.state_machine_arn, info.execution_name, ex.input,
            info.start_time.timestamp(), status, stop_date, output, error, cause,
        ),
    )  # fmt: skip


def select_test_case(host: DispatchHost, execution_arn: str, machine_name: str, case: str) -> None:
    """Run ``execution_arn`` with the mock configuration's test case ``case``."""
    integrations_of(host).test_cases[execution_arn] = (machine_name, case)


def restore_test_case(
    host: DispatchHost, rec: Any, history: list[dict[str, Any]], state: dict[str, Any]
) -> None:
    """After a restart: select the execution's test case again and count the mocked Task
    invocations its history holds, so numbered responses go on where they were."""
    machine_name = rec.machine_arn.rsplit(":", 1)[-1]
    select_test_case(host, rec.arn, machine_name, rec.test_case)
    calls = mocks.invocations(history)
    for task in (state.get("tasks") or {}).values():
        name = task.get("name", "")
        if not task.get("started") and calls.get(name):
            calls[name] -= 1  # scheduled, not answered: it is asked for again
    counts = integrations_of(host).mock_calls
    for name, n in calls.items():
        if n:
            counts.put(rec.arn, name, n)
