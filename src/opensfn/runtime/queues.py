"""Activity task queues: tasks waiting for a worker, workers waiting for a task.

Per activity ARN, a FIFO of queued tasks and a FIFO of long-polling workers (asyncio
futures). Enqueueing wakes the oldest waiting worker directly; nothing polls. A
worker whose request went away (timeout, disconnect) is skipped, and a task handed
to a worker that vanished before using it goes back to the head of its queue —
unless the runtime had already started it for that worker (:attr:`QueuedTask.started`):
then it is that worker's, and the Task's timeouts decide, as for any worker that holds a
task and goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from typing import Any

from opensfn.runtime.per_execution import PerExecution


@dataclass(frozen=True)
class QueuedTask:
    """One activity task waiting for a worker. ``input`` is JSON text."""

    execution_arn: str
    task_id: str
    input: str
    started: asyncio.Future[Any] | None = None
    """Set when the runtime started the task for the worker it was handed to, in the
    commit that scheduled it (see ``Runtime._hand_out``): the commit to wait for before
    answering the worker. None: the worker's GetActivityTask starts it."""


@dataclass(frozen=True)
class Waiter:
    """A worker's GetActivityTask waiting for a task."""

    fut: asyncio.Future[QueuedTask]
    worker_name: str | None


class ActivityQueues:
    """Every activity's queue of tasks and of waiting workers."""

    def __init__(self) -> None:
        self._tasks: dict[str, deque[QueuedTask]] = {}
        self._waiters: dict[str, deque[Waiter]] = {}
        # execution -> {task id -> activity ARN} of its queued tasks: closing an execution
        # finds its own tasks without looking at every task queued.
        self._where: PerExecution[str] = PerExecution()  # queued task -> its activity

    def put(self, activity_arn: str, task: QueuedTask, *, front: bool = False) -> None:
        """Queue ``task`` (or hand it at once to the oldest waiting worker)."""
        waiter = self.waiting(activity_arn)
        if waiter is not None:
            waiter.fut.set_result(task)
            return
        queue = self._tasks.setdefault(activity_arn, deque())
        if front:
            queue.appendleft(task)
        else:
            queue.append(task)
        self._where.put(task.execution_arn, task.task_id, activity_arn)

    def waiting(self, activity_arn: str) -> Waiter | None:
        """The oldest worker still waiting for a task of ``activity_arn``, taken out of the
        line: give it a task with ``waiter.fut.set_result`` or put it back with
        :meth:`wait_again`."""
        waiters = self._waiters.get(activity_arn)
        while waiters:
            waiter = waiters.popleft()
            if not waiter.fut.done():
                return waiter
        return None

    def wait_again(self, activity_arn: str, waiter: Waiter) -> None:
        """Put a worker :meth:`waiting` gave back at the head of the line."""
        self._waiters.setdefault(activity_arn, deque()).appendleft(waiter)

    async def take(
        self, activity_arn: str, timeout: float, worker_name: str | None = None
    ) -> QueuedTask | None:
        """The next task of ``activity_arn``, waiting up to ``timeout`` seconds for one."""
        queue = self._tasks.get(activity_arn)
        if queue:
            task = queue.popleft()
            self._where.pop(task.execution_arn, task.task_id)
            return task
        if timeout <= 0:
            return None
        fut: asyncio.Future[QueuedTask] = asyncio.get_running_loop().create_future()
        waiter = Waiter(fut, worker_name)
        self._waiters.setdefault(activity_arn, deque()).append(waiter)
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(fut)
        except TimeoutError:
            return self._abandon(activity_arn, waiter)
        except asyncio.CancelledError:
            self._abandon(activity_arn, waiter, requeue=True)
            raise

    def _abandon(
        self, activity_arn: str, waiter: Waiter, requeue: bool = False
    ) -> QueuedTask | None:
        # A task may have been handed over in the instant the wait ended: use it (timeout)
        # or give it back (cancelled) unless it was started for this worker; otherwise
        # withdraw from the waiting line.
        fut = waiter.fut
        if fut.done() and not fut.cancelled():
            task = fut.result()
            if requeue:
                if task.started is None:
                    self.put(activity_arn, task, front=True)
                return None
            return task
        fut.cancel()
        with contextlib.suppress(ValueError):
            self._waiters.get(activity_arn, deque()).remove(waiter)
        return None

    def cancel(self, execution_arn: str, task_id: str) -> None:
        """Drop a queued task that is no longer wanted (no-op if it was taken already)."""
        activity_arn = self._where.pop(execution_arn, task_id)
        if activity_arn is None:
            return
        queue = self._tasks.get(activity_arn, deque())
        for task in queue:
            if task.execution_arn == execution_arn and task.task_id == task_id:
                queue.remove(task)
                break

    def cancel_execution(self, execution_arn: str) -> None:
        """Drop every queued task of a closed execution."""
        for task_id in self._where.task_ids(execution_arn):
            self.cancel(execution_arn, task_id)

    def queued(self, activity_arn: str) -> int:
        """How many tasks wait for a worker (for tests and metrics)."""
        return len(self._tasks.get(activity_arn, ()))
