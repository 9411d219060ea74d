"""Express executions: run in memory by the pure engine, with no durable history.

AWS keeps no execution history for Express workflows (DescribeExecution and
GetExecutionHistory do not apply to them), so neither does opensfn: an Express
execution is an engine state in a dict, advanced on the event loop, its timers armed on
the loop's heap and its tasks handed to the same dispatchers as Standard executions.
It disappears once it ends. StartSyncExecution awaits its :class:`Outcome`;
StartExecution of an EXPRESS machine starts one and answers at once.

Triggers of one execution are applied in arrival order, one at a time: ``deliver``
queues them with ``call_soon``, so a dispatcher that answers synchronously never
re-enters the engine while a transition's commands are still being applied.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opensfn.engine.protocol import (
    ExecutionInfo,
    StepContext,
    StopRequested,
    TimerFired,
    Transition,
    Trigger,
)
from opensfn.runtime import engine_link, tokens
from opensfn.runtime.dispatch import carry_out
from opensfn.runtime.dispatch import closed as dispatch_closed
from opensfn.runtime.execution_logs import ExecutionLogs, LogTarget
from opensfn.runtime.queues import ActivityQueues
from opensfn.runtime.timers import Timers

LOG = logging.getLogger("opensfn.express")

# Express executions cannot be redriven, and AWS's $$.Execution has no RedriveCount for
# them. The engine omits the key when ``ExecutionInfo.redrive_count`` is None (typed Any
# here until the protocol's field is declared ``int | None``).
NO_REDRIVE_COUNT = None  # Express executions have no $$.Execution.RedriveCount


@dataclass(frozen=True)
class Outcome:
    """How an Express execution ended (what StartSyncExecution reports)."""

    status: str
    stop_date: float
    output: str | None = None
    error: str | None = None
    cause: str | None = None


@dataclass
class ExpressExecution:
    """One running Express execution (mutable: the only copy of its state)."""

    info: ExecutionInfo
    machine: Any
    state: dict[str, Any]
    input: str
    start_date: float
    done: asyncio.Future[Outcome]
    logs: tuple[LogTarget, str] | None = None  # where its history events are logged


class ExpressRunner:
    """The Express executions of one server. It is also their dispatch host."""

    def __init__(
        self,
        queues: ActivityQueues,
        wait_scale: float,
        secret: bytes,
        integrations: Any = None,
        execution_logs: ExecutionLogs | None = None,
    ) -> None:
        self.queues = queues
        self.execution_logs = execution_logs  # CloudWatch Logs of the machines that log
        # the runtime's integration state (Lambda handlers, endpoints, .sync parents)
        self.integrations = integrations
        self.timers = Timers(wait_scale, self._timer_fired)
        self.live: dict[str, ExpressExecution] = {}
        self._secret = secret

    def _context(self, execution_arn: str) -> StepContext:
        account = execution_arn.split(":")[4]

        def task_token(task_id: str) -> str:
            return tokens.make_token(self._secret, account, execution_arn, task_id)

        return StepContext(
            now=datetime.now(UTC),
            new_uuid=lambda: str(uuid.uuid4()),
            random=random.random,
            task_token=task_token,
        )

    def start(
        self,
        machine: Any,
        info: ExecutionInfo,
        input_text: str,
        logs: tuple[LogTarget, str] | None = None,
    ) -> ExpressExecution:
        """Begin an execution; its ``done`` future resolves when it ends. ``logs``: where
        its history events are logged (CloudWatch Logs target and stream), if anywhere."""
        ctx = self._context(info.execution_arn)
        info = ExecutionInfo(
            info.execution_arn,
            info.execution_name,
            info.state_machine_arn,
            info.state_machine_name,
            info.role_arn,
            ctx.now,
            redrive_count=NO_REDRIVE_COUNT,
        )
        t = engine_link.start(machine, info, input_text, ctx)
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        ex = ExpressExecution(info, machine, t.state, input_text, ctx.now.timestamp(), done, logs)
        self.live[info.execution_arn] = ex
        self._after(ex, t, ctx)
        return ex

    def deliver(self, execution_arn: str, trigger: Trigger) -> None:
        """Queue ``trigger`` for the execution (applied on the next loop turn, in order)."""
        asyncio.get_running_loop().call_soon(self._step, execution_arn, trigger)

    def stop(self, execution_arn: str, error: str | None, cause: str | None) -> bool:
        """Abort a running execution now; False when it is not running here."""
        if execution_arn not in self.live:
            return False
        self._step(execution_arn, StopRequested(error, cause))
        return True

    def _timer_fired(self, execution_arn: str, timer_id: str) -> None:
        self._step(execution_arn, TimerFired(timer_id))

    def _step(self, execution_arn: str, trigger: Trigger) -> None:
        ex = self.live.get(execution_arn)
        if ex is None:
            return  # ended already: late answers change nothing
        ctx = self._context(execution_arn)
        try:
            t = engine_link.step(ex.machine, ex.info, ex.state, trigger, ctx)
        except Exception:
            LOG.exception("engine failed on %r for %s", trigger, execution_arn)
            t = Transition(
                ex.state,
                status="FAILED",
                error="States.Runtime",
                cause="An internal error occurred.",
            )
        ex.state = t.state
        self._after(ex, t, ctx)

    def _after(self, ex: ExpressExecution, t: Transition, ctx: StepContext) -> None:
        arn = ex.info.execution_arn
        if ex.logs is not None and self.execution_logs is not None:
            self.execution_logs.emit(ex.logs[0], ex.logs[1], arn, 0, t.events)
        if t.status is not None:
            self.live.pop(arn, None)
            self.timers.cancel_execution(arn)
            self.queues.cancel_execution(arn)
            if not ex.done.done():
                ex.done.set_result(
                    Outcome(t.status, ctx.now.timestamp(), t.output, t.error, t.cause)
                )
            # drop its calls in flight; a .sync parent waiting on it gets its answer
            dispatch_closed(self, ex, t.status, ctx.now.timestamp(), t.output, t.error, t.cause)
            return
        carry_out(self, self.timers, arn, t.commands)

    def shutdown(self) -> None:
        """Disarm every timer (the executions are lost with the process, as AWS allows)."""
        self.timers.cancel_all()


# One runner per runtime, created on first use: the runtime owns the activity queues and
# the token secret the Express executions share.
_RUNNERS: weakref.WeakKeyDictionary[Any, ExpressRunner] = weakref.WeakKeyDictionary()


def runner_for(runtime: Any, wait_scale: float) -> ExpressRunner:
    """The Express runner that lives alongside ``runtime``."""
    found = _RUNNERS.get(runtime)
    if found is None:
        found = _RUNNERS[runtime] = ExpressRunner(
            runtime.queues,
            wait_scale,
            runtime.secret,
            getattr(runtime, "integrations", None),
            getattr(runtime, "execution_logs", None),
        )
    return found


def billed_milliseconds(start_date: float, stop_date: float) -> int:
    """AWS bills Express time rounded up to the next 100 ms, at least 100 ms."""
    elapsed = max(0.0, stop_date - start_date) * 1000
    return max(100, -(-int(elapsed) // 100) * 100)


def new_execution_arn(machine_arn: str, name: str) -> str:
    """``arn:aws:states:<region>:<account>:express:<machine>:<name>:<uuid>``."""
    prefix, _, machine_name = machine_arn.rpartition(":stateMachine:")
    return f"{prefix}:express:{machine_name.split(':', 1)[0]}:{name}:{uuid.uuid4()}"
