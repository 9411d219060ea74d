"""Helpers for tests of state machines, usable in users' own test suites.

``FakeClock`` and ``Harness`` run the pure interpreter without a server: timers jump
the clock forward instead of sleeping, and tasks are answered by the test::

    h = Harness(definition)
    h.start('{"x": 1}')
    task = h.pending_tasks()[0]
    h.succeed(task.task_id, '{"ok": true}')
    assert h.status == "SUCCEEDED"
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opensfn.asl.definition import Machine, load_machine
from opensfn.engine import interpreter
from opensfn.engine.protocol import (
    Event,
    ExecutionInfo,
    ScheduleTask,
    StepContext,
    StopRequested,
    TaskFailed,
    TaskHeartbeat,
    TaskStarted,
    TaskSucceeded,
    TimerFired,
    Transition,
    Trigger,
)


@dataclass
class FakeClock:
    """A clock that only moves when told to."""

    now: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC))

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)


class Harness:
    """One execution of ``definition`` on the pure interpreter, driven by the test."""

    def __init__(
        self,
        definition: str,
        *,
        name: str = "test-execution",
        machine_name: str = "test-machine",
        region: str = "us-east-1",
        account: str = "123456789012",
        seed: int = 0,
    ) -> None:
        self.machine: Machine = load_machine(definition)
        self.clock = FakeClock()
        self._rng = random.Random(seed)
        sm_arn = f"arn:aws:states:{region}:{account}:stateMachine:{machine_name}"
        self.info = ExecutionInfo(
            execution_arn=f"arn:aws:states:{region}:{account}:execution:{machine_name}:{name}",
            execution_name=name,
            state_machine_arn=sm_arn,
            state_machine_name=machine_name,
            role_arn=f"arn:aws:iam::{account}:role/test",
            start_time=self.clock.now,
        )
        self.state: dict[str, Any] = {}
        self.events: list[Event] = []
        self.tasks: dict[str, ScheduleTask] = {}
        self.last: Transition | None = None

    # ------------------------------------------------------------------ driving

    def context(self) -> StepContext:
        """The StepContext of the next call: the fake clock and seeded randomness."""
        return StepContext(
            now=self.clock.now,
            new_uuid=lambda: str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            random=self._rng.random,
            task_token=lambda task_id: f"token-{task_id}",
        )

    def _take(self, t: Transition) -> Transition:
        self.state = t.state
        self.events.extend(t.events)
        self.last = t
        for cmd in t.commands:
            if isinstance(cmd, ScheduleTask):
                self.tasks[cmd.task_id] = cmd
        for task_id in list(self.tasks):
            if not interpreter.open_task(self.state, task_id):
                del self.tasks[task_id]
        return t

    def start(self, input_text: str = "{}") -> Transition:
        """StartExecution."""
        return self._take(interpreter.start(self.machine, self.info, input_text, self.context()))

    def step(self, trigger: Trigger) -> Transition:
        """Deliver one trigger."""
        t = interpreter.step(self.machine, self.info, self.state, trigger, self.context())
        return self._take(t)

    def fire_next_timer(self) -> bool:
        """Jump the clock to the earliest timer and fire it; False when none is set."""
        timers = self.state.get("timers") or {}
        if not timers:
            return False
        timer_id = min(timers, key=lambda k: timers[k]["due"])
        due = datetime.fromtimestamp(timers[timer_id]["due"], tz=UTC)
        if due > self.clock.now:
            self.clock.now = due
        self.step(TimerFired(timer_id))
        return True

    def run_timers(self, limit: int = 10_000) -> None:
        """Fire timers until the execution ends or waits on a task only."""
        for _ in range(limit):
            if self.status != "RUNNING" or not self.fire_next_timer():
                return

    def pending_tasks(self) -> list[ScheduleTask]:
        """Tasks scheduled and not yet answered, oldest first."""
        return list(self.tasks.values())

    def started(self, task_id: str, worker: str | None = "worker") -> Transition:
        """A worker took the task."""
        return self.step(TaskStarted(task_id, worker))

    def succeed(self, task_id: str, output: str = "{}") -> Transition:
        """SendTaskSuccess."""
        return self.step(TaskSucceeded(task_id, output))

    def fail(self, task_id: str, error: str | None = None, cause: str | None = None) -> Transition:
        """SendTaskFailure."""
        return self.step(TaskFailed(task_id, error, cause))

    def heartbeat(self, task_id: str) -> Transition:
        """SendTaskHeartbeat."""
        return self.step(TaskHeartbeat(task_id))

    def stop(self, error: str | None = None, cause: str | None = None) -> Transition:
        """StopExecution."""
        return self.step(StopRequested(error, cause))

    # ------------------------------------------------------------------ reading

    @property
    def status(self) -> str:
        """RUNNING until the execution closed, then its final status."""
        return str(self.state.get("closed") or "RUNNING")

    @property
    def types(self) -> list[str]:
        """The history's event types, in order."""
        return [e["type"] for e in self.events]

    def closing(self) -> Event:
        """The last event (the closing one once the execution ended)."""
        return self.events[-1]
