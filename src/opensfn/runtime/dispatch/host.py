"""What dispatchers share: the host protocol, the integration state, the call helpers.

A dispatcher gets the host (the runtime, or the Express runner), the execution ARN and
the ``ScheduleTask`` command. It never blocks the event loop: blocking work (boto3,
local Lambda handlers) runs in the integrations' thread pool, async work (httpx) as an
asyncio task. It answers through ``host.deliver`` with TaskStarted, then TaskSucceeded /
TaskFailed; ``.waitForTaskToken`` tasks answer TaskSubmitted with the service's
response and are completed by SendTask*; ``.sync`` tasks answer TaskSubmitted and later
TaskSucceeded / TaskFailed when the job ends.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from opensfn.config import Settings, load_settings
from opensfn.engine.protocol import (
    ScheduleTask,
    TaskFailed,
    TaskStarted,
    TaskSubmitted,
    TaskSucceeded,
    Trigger,
)
from opensfn.runtime.per_execution import PerExecution
from opensfn.runtime.queues import ActivityQueues
from opensfn.runtime.services import Clients, parse_pairs

LOG = logging.getLogger("opensfn.dispatch")
T = TypeVar("T")


class DispatchHost(Protocol):
    """What a dispatcher may use of the runtime."""

    queues: ActivityQueues

    def deliver(self, execution_arn: str, trigger: Trigger) -> None:
        """Step the execution with ``trigger`` (in order with its other triggers)."""


Dispatcher = Callable[[DispatchHost, str, ScheduleTask], None]


@dataclass(frozen=True)
class Outcome:
    """What an integration call produced: ``output`` (JSON text) or ``error``/``cause``."""

    output: str | None = None
    error: str | None = None
    cause: str | None = None

    @property
    def failed(self) -> bool:
        return self.output is None


@dataclass
class Integrations:
    """Per-server integration state (mutable on purpose: caches and in-flight calls).

    ``running``: the asyncio task carrying out each (execution, task) still in flight, so
    CancelTask and closing executions can drop it. ``test_cases``: the mock test case
    an execution was started with. ``mock_calls``: how often each (execution, state) was
    answered from the mock configuration (selects the numbered response).
    ``children``/``parents``: nested executions started by ``.sync`` Tasks, both ways.
    """

    settings: Settings
    clients: Clients
    handlers: dict[str, str]
    pool: ThreadPoolExecutor
    running: PerExecution[asyncio.Task[None]] = field(default_factory=PerExecution)
    test_cases: dict[str, tuple[str, str]] = field(default_factory=dict)
    mock_calls: PerExecution[int] = field(default_factory=PerExecution)
    children: PerExecution[str] = field(default_factory=PerExecution)
    parents: dict[str, tuple[Any, str, str, str]] = field(default_factory=dict)
    runtime: Any = None  # the Standard runtime (nested executions start there)
    closing: bool = False  # the server is shutting down: work in flight is not abandoned
    # OAuth connections' access tokens: endpoint and client id -> (token, monotonic expiry).
    oauth_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)


def build_integrations(settings: Settings | None = None) -> Integrations:
    """The integration state of one server."""
    settings = settings or load_settings()
    return Integrations(
        settings=settings,
        clients=Clients(settings),
        handlers=parse_pairs(settings.lambdas),
        pool=ThreadPoolExecutor(max_workers=64, thread_name_prefix="opensfn-task"),
    )


_FALLBACK: list[Integrations] = []


def integrations_of(host: DispatchHost) -> Integrations:
    """The host's integration state (hosts without one share one built from the env)."""
    found = getattr(host, "integrations", None)
    if isinstance(found, Integrations):
        return found
    if not _FALLBACK:
        _FALLBACK.append(build_integrations())
    return _FALLBACK[0]


async def in_thread(host: DispatchHost, fn: Callable[..., T], *args: Any) -> T:
    """Run blocking ``fn(*args)`` in the integrations' thread pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(integrations_of(host).pool, fn, *args)


def start(
    host: DispatchHost,
    execution_arn: str,
    cmd: ScheduleTask,
    work: Callable[[], Awaitable[Outcome]],
    *,
    finish: Callable[[DispatchHost, str, ScheduleTask, Outcome], None] | None = None,
    announce: bool = True,
) -> None:
    """Carry out ``work`` as an asyncio task: TaskStarted now (unless ``announce`` is
    False: a task taken up again after a restart started before), then its outcome."""
    state = integrations_of(host)

    async def go() -> None:
        if announce:
            host.deliver(execution_arn, TaskStarted(cmd.task_id))
        try:
            outcome = await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an integration bug must not leave the task hanging
            LOG.exception("integration %s failed", cmd.resource)
            outcome = Outcome(error="States.TaskFailed", cause=_describe(exc))
        (finish or answer)(host, execution_arn, cmd, outcome)

    task = asyncio.get_running_loop().create_task(go())
    state.running.put(execution_arn, cmd.task_id, task)
    task.add_done_callback(lambda _t: _forget(state, execution_arn, cmd.task_id, task))


_BACKGROUND: set[asyncio.Task[Any]] = set()


def spawn(coro: Awaitable[Any]) -> None:
    """Run ``coro`` as a background task, kept referenced until it ends."""

    async def run() -> None:
        await coro

    task = asyncio.get_running_loop().create_task(run())
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


def _forget(
    state: Integrations, execution_arn: str, task_id: str, task: asyncio.Task[None]
) -> None:
    if state.running.get(execution_arn, task_id) is task:
        state.running.pop(execution_arn, task_id)


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


MAX_RESULT_BYTES = 262_144


def _task_name(resource: str) -> str:
    # What AWS names the task in a DataLimitExceeded cause: the service of an
    # integration ("lambda"), else the resource ARN itself.
    parts = resource.split(":")
    if len(parts) >= 7 and parts[2] == "states" and parts[5] and parts[5] != "activity":
        return parts[5]
    return resource


def answer(host: DispatchHost, execution_arn: str, cmd: ScheduleTask, outcome: Outcome) -> None:
    """Report a call's outcome: failed, submitted (callback pattern) or succeeded."""
    if outcome.output is not None and len(outcome.output.encode()) > MAX_RESULT_BYTES:
        outcome = Outcome(
            error="States.DataLimitExceeded",
            cause=f"The state/task '{_task_name(cmd.resource)}' returned a result with a size "
            "exceeding the maximum number of bytes service limit.",
        )
    if outcome.output is None:
        host.deliver(execution_arn, TaskFailed(cmd.task_id, outcome.error, outcome.cause))
    elif cmd.wait_for_token:
        host.deliver(execution_arn, TaskSubmitted(cmd.task_id, outcome.output))
    else:
        host.deliver(execution_arn, TaskSucceeded(cmd.task_id, outcome.output))


def cancel(host: DispatchHost, execution_arn: str, task_id: str) -> None:
    """Drop the in-flight call of a task that is no longer wanted."""
    task = integrations_of(host).running.pop(execution_arn, task_id)
    if task is not None:
        task.cancel()
