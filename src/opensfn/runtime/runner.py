"""The runtime loop: open executions in memory, triggers in, committed transitions out.

Every open execution has one in-memory state. A trigger (start, timer, task answer,
stop) is applied by calling the engine synchronously on the event loop — so triggers
of one execution never interleave — and the resulting events and state are queued to
the store's writer at once. Writes commit in queue order; a transition's commands
(timers, tasks) are carried out only after its write committed, so nothing outside
the process ever sees a step that could be lost. API calls that caused a step answer
after that step committed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from opensfn.config import Settings
from opensfn.engine.protocol import (
    Command,
    ExecutionInfo,
    ScheduleTask,
    StepContext,
    StopRequested,
    TaskStarted,
    TimerFired,
    Transition,
    Trigger,
)
from opensfn.errors import ExecutionAlreadyExists, ExecutionNotRedrivable, InternalFailure
from opensfn.runtime import dispatch as integrations
from opensfn.runtime import engine_link, tokens
from opensfn.runtime.dispatch.activity import task_of as activity_task
from opensfn.runtime.dispatch.host import in_thread
from opensfn.runtime.execution_logs import ExecutionLogs, LogTarget, stream_name, target_of
from opensfn.runtime.queues import ActivityQueues
from opensfn.runtime.status_events import StatusEvents
from opensfn.runtime.timers import Timers
from opensfn.store import versions as versions_store
from opensfn.store import writes
from opensfn.store.database import Store, settle
from opensfn.store.records import Closing, ExecutionRecord, MachineRecord, RevisionRecord

LOG = logging.getLogger("opensfn.runtime")
# Events StartExecution computes before it answers: ExecutionStarted, and the entry of the
# first state when it is a Task or a Wait (entering one only schedules work or a timer,
# written in the start's commit). Any other first state runs after the answer, as with AWS
# (whose answer never waits for a state). Measured with sfnbench on this 2-core machine:
# against computing up to 200 events first, StartExecution p50 through boto3 4.4 -> 3.1-3.5
# ms (a slower day); entering a first Task in the start too: activity-roundtrip 1.46 -> 1.3
# ms of server CPU per task, and the task reaches its worker one commit sooner; entering a
# first Pass would cost StartExecution ~60 us of its 1.15 ms p50.
START_INLINE_EVENTS = 0
START_INLINE_EVENTS_WAITING = 1

_NO_TASKS: frozenset[str] = frozenset()


@dataclass(slots=True)
class OpenExecution:
    """The live state of one open execution (mutable on purpose: it is the in-memory copy
    the runtime advances; the store holds the committed one)."""

    id: int
    info: ExecutionInfo
    machine: Any
    packed: bytes
    """The engine state as JSON, decoded for each step: an idle execution then costs
    ~0.5 KB instead of ~3 KB of dicts (100,000 open executions must fit in 300 MB)."""
    input: str
    closed: bool = False
    stop_date: float | None = None
    tasks: frozenset[str] = _NO_TASKS
    """The ids of the tasks that wait for an answer (read without decoding the state)."""
    broken: bool = False
    """A write of this execution failed: the writes queued after it must not commit."""
    logs: tuple[LogTarget, str] | None = None
    """Where its history events are logged (CloudWatch Logs target and stream), if set."""

    @property
    def state(self) -> dict[str, Any]:
        """The engine state (a fresh copy each time)."""
        state: dict[str, Any] = orjson.loads(self.packed)
        return state

    def keep(self, state: dict[str, Any]) -> bytes:
        """Hold ``state`` as the execution's own; returns it packed."""
        self.packed = _pack(state)
        waiting = state.get("tasks")
        # One shared empty set: CPython makes a new 216-byte frozenset per call, 21 MB for
        # 100,000 executions waiting on timers (measured with bench/scale.py).
        self.tasks = frozenset(waiting) if waiting else _NO_TASKS
        return self.packed


def _info_of(rec: ExecutionRecord, redrive_count: int) -> ExecutionInfo:
    """What the engine knows of a stored execution."""
    return ExecutionInfo(
        execution_arn=rec.arn,
        execution_name=rec.name,
        state_machine_arn=rec.machine_arn,
        state_machine_name=rec.machine_arn.rsplit(":", 1)[-1],
        role_arn=rec.role_arn,
        start_time=datetime.fromtimestamp(rec.start_date, UTC),
        redrive_count=redrive_count,
    )


def _pack(state: dict[str, Any]) -> bytes:
    """The state as JSON, exact-size: orjson's own result keeps ~4 KB of slack (measured
    with tracemalloc), which an execution held in memory would carry while it waits."""
    return bytes(memoryview(orjson.dumps(state)))


@dataclass(frozen=True)
class Started:
    """What StartExecution answers."""

    execution_arn: str
    start_date: float


def _context(secret: bytes = b"", execution_arn: str = "") -> StepContext:
    """The outside world for one engine call; ``$$.Task.Token`` is the task's real token."""
    account = execution_arn.split(":")[4] if execution_arn.count(":") >= 4 else ""

    def task_token(task_id: str) -> str:
        return tokens.make_token(secret, account, execution_arn, task_id)

    return StepContext(
        now=datetime.now(UTC),
        new_uuid=lambda: str(uuid.uuid4()),
        random=random.random,
        task_token=task_token if execution_arn else None,
        clock=time.time,
    )


class Runtime:
    """Owns the open executions, their timers and the activity queues."""

    def __init__(self, store: Store, wait_scale: float, settings: Settings | None = None) -> None:
        self.store = store
        # Integrations hook (issue #5): Task dispatchers' state; None settings: from the env.
        self.integrations = integrations.build_integrations(settings)
        self.integrations.runtime = self
        self.queues = ActivityQueues()
        self.timers = Timers(wait_scale, self._timer_fired)
        engine_link.set_cpu_limit((settings or Settings()).expression_cpu_limit)
        self.open: dict[str, OpenExecution] = {}
        self.deleting: set[str] = set()  # machines DeleteStateMachine marked DELETING
        self._machines: dict[tuple[str, str], Any] = {}
        # id(machine) -> (machine, has a Distributed Map): the machine is kept so its id stays its own.
        self._distributed: dict[int, tuple[Any, bool]] = {}
        self._pending: set[asyncio.Future[Any]] = set()
        # Starts being written, by execution ARN: the same start again waits for the first.
        self._starting: dict[str, asyncio.Future[Any]] = {}
        self.secret = b""
        # EventBridge's execution status change events and CloudWatch Logs records of
        # the machines that log: sent where an endpoint is set for the service.
        clients = self.integrations.clients
        self.status_events: StatusEvents | None = None
        if clients.has_endpoint("events"):
            self.status_events = StatusEvents(
                lambda region: clients.client("events", region),
                lambda call: in_thread(self, call),
            )
        self.execution_logs: ExecutionLogs | None = None
        if clients.has_endpoint("logs"):
            self.execution_logs = ExecutionLogs(
                lambda region: clients.client("logs", region),
                lambda call: in_thread(self, call),
            )
        self._log_targets: dict[tuple[str, str], LogTarget | None] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Load the token secret and resume every RUNNING execution from its stored state."""
        secret = self.store.get_meta("token_secret")
        if secret is None:
            await self.store.submit(
                writes.put_meta("token_secret", uuid.uuid4().hex + uuid.uuid4().hex)
            )
            secret = self.store.get_meta("token_secret")
        assert secret is not None
        self.secret = secret.encode()
        for rec, state_json in self.store.running_executions():
            try:
                state = orjson.loads(state_json)
                if rec.test_case:  # before its Tasks are queued again: they are mocked too
                    events = self.store.get_events(rec.id, 0, 1 << 30, False)
                    history = [orjson.loads(body) for _, body in events]
                    integrations.restore_test_case(self, rec, history, state)
                self._resume(rec, state)
                if state.get("tasks"):  # re-link .sync parents and their children
                    integrations.resumed(self, rec.arn, state)
            except Exception:
                LOG.exception("cannot resume %s", rec.arn)
        self.deleting.update(self.store.deleting_machines())
        for machine_arn in list(self.deleting):
            self.finish_deleting(machine_arn)

    def _resume(self, rec: ExecutionRecord, state: dict[str, Any]) -> None:
        revision = self.store.get_revision(rec.machine_arn, rec.revision_id)
        if revision is None:
            raise LookupError(f"revision {rec.revision_id} of {rec.machine_arn} is missing")
        info = _info_of(rec, rec.redrive_count)
        ex = OpenExecution(rec.id, info, self.machine(revision), b"", rec.input)
        ex.logs = self.logs_of(revision, info)
        ex.keep(state)
        self.open[rec.arn] = ex
        self._apply(ex, engine_link.resume_commands(state))

    async def delete_machine(self, machine_arn: str) -> None:
        """DeleteStateMachine: gone at once when nothing runs; otherwise DELETING until
        its running executions have ended (each fails at its next transition)."""
        if not self.store.running_for_machine(machine_arn):
            await self._remove_machine(machine_arn)
            return
        await self.store.submit(writes.set_machine_status(machine_arn, "DELETING"))
        self.deleting.add(machine_arn)

    def finish_deleting(self, machine_arn: str) -> None:
        """Remove a DELETING machine once none of its executions runs any more."""
        if any(e.info.state_machine_arn == machine_arn for e in self.open.values()):
            return
        self.deleting.discard(machine_arn)
        task = asyncio.ensure_future(self._remove_machine(machine_arn))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _remove_machine(self, machine_arn: str) -> None:
        await self.store.submit(writes.delete_machine(machine_arn))
        await self.store.submit(versions_store.delete_machine_extras(machine_arn))

    async def shutdown(self) -> None:
        """Disarm timers and wait for the writes in flight."""
        self.timers.cancel_all()
        for outbox in (self.status_events, self.execution_logs):  # (sent through the pool)
            if outbox is not None:
                await outbox.close()
        self.integrations.closing = True  # jobs being followed are taken up after the restart
        self.integrations.pool.shutdown(wait=False, cancel_futures=True)  # integrations hook
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    # ------------------------------------------------------------------ machines

    def machine(self, revision: RevisionRecord) -> Any:
        """The compiled machine of a revision (compiled once per revision)."""
        key = (revision.machine_arn, revision.revision_id)
        machine = self._machines.get(key)
        if machine is None:
            machine = self._machines[key] = engine_link.load_machine(revision.definition)
        return machine

    def logs_of(
        self, revision: RevisionRecord, info: ExecutionInfo
    ) -> tuple[LogTarget, str] | None:
        """Where an execution of ``revision`` logs its history events (None: nowhere)."""
        if self.execution_logs is None:
            return None
        key = (revision.machine_arn, revision.revision_id)
        if key not in self._log_targets:
            if len(self._log_targets) >= 4096:
                self._log_targets.clear()
            self._log_targets[key] = target_of(revision.logging)
        target = self._log_targets[key]
        if target is None:
            return None
        return target, stream_name(info.state_machine_name, info.execution_arn, info.start_time)

    def remember_machine(self, machine_arn: str, revision_id: str, machine: Any) -> None:
        """Cache a machine compiled while its definition was checked."""
        self._machines[(machine_arn, revision_id)] = machine

    # ------------------------------------------------------------------ executions

    async def start_execution(
        self,
        m: MachineRecord,
        revision: RevisionRecord,
        arn: str,
        name: str,
        input_text: str,
        test_case: str | None = None,
        *,
        fresh_name: bool = False,
        trace_header: str | None = None,
    ) -> Started:
        """Start an execution (idempotent by name as AWS defines it) and commit it;
        ``test_case`` selects mocked Task results (``stateMachineArn#TestCase``);
        ``fresh_name``: the name is a new UUID, no execution can have it (no lookup);
        ``trace_header``: the X-Ray trace header passed (kept for DescribeExecution)."""
        existing = self.open.get(arn)
        if existing is not None:
            starting = self._starting.get(arn)
            if starting is not None:  # its start is being written: answer once it is
                try:
                    await asyncio.shield(starting)
                except writes.NameTaken:
                    return self._name_was_taken(arn, input_text)
            if existing.closed or existing.input != input_text:
                raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")
            return Started(arn, existing.info.start_time.timestamp())
        # A name used before is found by the store's unique index when the start is written
        # (a read before every start cost ~4% of its time); a test case's start, which
        # selects mocks first, still looks.
        if test_case and not fresh_name:
            known = self._name_taken(arn, input_text)
            if known is not None:
                return known
        if test_case:  # integrations hook: mocked results for this execution
            integrations.select_test_case(self, arn, m.name, test_case)
        ctx = _context(self.secret, arn)
        info = ExecutionInfo(
            execution_arn=arn,
            execution_name=name,
            state_machine_arn=m.arn,
            state_machine_name=m.name,
            role_arn=revision.role_arn,
            start_time=ctx.now,
        )
        try:
            machine = self.machine(revision)
            # The run of states goes on after the answer (see START_INLINE_EVENTS).
            budget = (
                START_INLINE_EVENTS_WAITING
                if engine_link.first_state_waits(machine)
                else START_INLINE_EVENTS
            )
            try:
                transition = engine_link.start(machine, info, input_text, ctx, inline_events=budget)
            except Exception:
                if budget == START_INLINE_EVENTS:
                    raise
                # The first state cannot be entered: start without it, so the start is
                # answered and the run after it fails the execution (see deliver).
                LOG.exception("engine failed to enter the first state of %s", arn)
                transition = engine_link.start(
                    machine, info, input_text, ctx, inline_events=START_INLINE_EVENTS
                )
        except Exception as exc:
            LOG.exception("engine failed to start %s", arn)
            raise InternalFailure("The engine failed to start the execution.") from exc
        ex = OpenExecution(self.store.new_execution_id(), info, machine, b"", input_text)
        ex.logs = self.logs_of(revision, info)
        packed = ex.keep(transition.state)
        self.open[arn] = ex
        start_date = ctx.now.timestamp()
        record = ExecutionRecord(
            ex.id, arn, m.arn, revision.revision_id, name, revision.role_arn, "RUNNING",
            input_text, None, None, None, start_date, None, test_case=test_case or None,
            trace_header=trace_header,
        )  # fmt: skip
        closing = self._closing(ex, transition, ctx)
        children = self._children(transition)
        batch = writes.start_execution(
            record, transition.events, packed, closing, children, fresh_name=fresh_name
        )
        written = self._commit(ex, transition, batch, answer_first=True, started=True)
        self._starting[arn] = written
        written.add_done_callback(functools.partial(self._started_written, arn))
        try:
            await asyncio.shield(written)
        except writes.NameTaken:
            return self._name_was_taken(arn, input_text)
        return Started(arn, start_date)

    def _started_written(self, arn: str, written: asyncio.Future[Any]) -> None:
        if self._starting.get(arn) is written:  # (not a later start of the same name)
            del self._starting[arn]

    def _name_was_taken(self, arn: str, input_text: str) -> Started:
        """The answer to a start the store refused (:class:`writes.NameTaken`)."""
        known = self._name_taken(arn, input_text)
        if known is None:  # taken by a start written in the same commit
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")
        return known

    def _name_taken(self, arn: str, input_text: str) -> Started | None:
        """StartExecution of a stored execution's name: the same call again while it runs
        answers as the first did; otherwise ExecutionAlreadyExists. None: not stored."""
        rec = self.store.get_execution(arn)
        if rec is None:
            return None
        if rec.status == "RUNNING" and rec.input == input_text:
            return Started(arn, rec.start_date)
        raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")

    async def redrive_execution(self, rec: ExecutionRecord) -> float:
        """RedriveExecution of a closed execution whose state was kept; returns redriveDate."""
        kept = self.store.closed_state(rec.arn)
        revision = self.store.get_revision(rec.machine_arn, rec.revision_id)
        if kept is None or revision is None:
            raise ExecutionNotRedrivable("Execution cannot be redriven: its state was not kept")
        ctx = _context(self.secret, rec.arn)
        info = _info_of(rec, rec.redrive_count + 1)
        machine = self.machine(revision)
        try:
            t = engine_link.redrive(machine, info, orjson.loads(kept), ctx)
        except Exception as exc:
            LOG.exception("engine failed to redrive %s", rec.arn)
            raise InternalFailure("The engine failed to redrive the execution.") from exc
        ex = OpenExecution(rec.id, info, machine, b"", rec.input)
        ex.logs = self.logs_of(revision, info)
        packed = ex.keep(t.state)
        self.open[rec.arn] = ex
        closing = self._closing(ex, t, ctx)
        date = ctx.now.timestamp()
        count = rec.redrive_count + 1
        batch = writes.redrive_execution(rec.id, t.events, packed, closing, count, date)
        await asyncio.shield(self._commit(ex, t, batch, started=True))
        return date

    def _closing(self, ex: OpenExecution, t: Transition, ctx: StepContext) -> Closing | None:
        if t.status is None:
            return None
        ex.closed = True
        # The closing event's time (a long step is stamped as it goes: see StepContext.clock).
        ex.stop_date = float(t.events[-1]["timestamp"]) if t.events else ctx.now.timestamp()
        self.timers.cancel_execution(ex.info.execution_arn)
        self.queues.cancel_execution(ex.info.execution_arn)
        # integrations hook: drop its calls, stop .sync children, answer a .sync parent
        integrations.closed(self, ex, t.status, ex.stop_date, t.output, t.error, t.cause)
        return Closing(
            t.status, ex.stop_date, t.output, t.error, t.cause, self._has_map_runs(ex.machine)
        )

    def _has_map_runs(self, machine: Any) -> bool:
        """Can executions of ``machine`` have Distributed Map runs (cached per machine)?"""
        known = self._distributed.get(id(machine))
        if known is None or known[0] is not machine:
            known = self._distributed[id(machine)] = (machine, engine_link.has_map_runs(machine))
        return known[1]

    def _apply_unless_closed(self, ex: OpenExecution, commands: list[Command]) -> None:
        if not ex.closed and self.open.get(ex.info.execution_arn) is ex:
            self._apply(ex, commands)

    def _children(self, t: Transition) -> list[writes.Child]:
        """The child executions in ``t``, with a row id for each that starts in it."""
        return [
            (c, self.store.new_execution_id() if c.events[0]["id"] == 1 else None)
            for c in t.children
        ]

    def _commit(
        self,
        ex: OpenExecution,
        t: Transition,
        batch: Any,
        *,
        answer_first: bool = False,
        started: bool = False,
    ) -> asyncio.Future[Any]:
        """Queue ``batch``; once committed, carry out the transition's commands.

        ``answer_first``: carry them out one loop turn later, after the caller waiting on
        the commit has answered (StartExecution's answer is then written before a yielded
        run of states goes on), whether or not that caller is still there. A write queued
        after a failed one of the same execution fails too (:func:`_guarded`).
        ``started``: the batch starts (or redrives) the execution; with the batch that
        closes it, a status change event is sent once committed (:mod:`status_events`)."""
        fut = self.store.submit(_guarded(ex, batch))
        self._pending.add(fut)
        commands = self._hand_out(ex, t.commands) if t.commands else t.commands
        closes = t.status is not None  # (this transition ends the execution)

        def committed(f: asyncio.Future[Any]) -> None:
            self._pending.discard(f)
            if f.cancelled() or f.exception() is not None:
                ex.broken = True
                exc = None if f.cancelled() else f.exception()
                # Not started (name taken), or left to resume from the store on restart.
                if self.open.get(ex.info.execution_arn) is ex:
                    del self.open[ex.info.execution_arn]
                if not isinstance(exc, writes.NameTaken | WriteSkipped):
                    LOG.error("write of %s failed: %r", ex.info.execution_arn, exc)
                return
            if self.status_events is not None and (started or closes):
                self._status_changed(ex.info.execution_arn, started, closes)
            if ex.logs is not None and self.execution_logs is not None:
                target, stream = ex.logs
                self.execution_logs.emit(
                    target, stream, ex.info.execution_arn, ex.info.redrive_count or 0, t.events
                )
            if ex.closed:
                if self.open.get(ex.info.execution_arn) is ex:
                    del self.open[ex.info.execution_arn]
                if ex.info.state_machine_arn in self.deleting:
                    self.finish_deleting(ex.info.state_machine_arn)
                return
            if answer_first:
                asyncio.get_running_loop().call_soon(self._apply_unless_closed, ex, commands)
            else:
                self._apply(ex, commands)

        fut.add_done_callback(committed)
        return fut

    def _status_changed(self, execution_arn: str, started: bool, closes: bool) -> None:
        """Send the status change events of a commit that started or closed an execution
        (both, RUNNING first, when one commit did both). The row is read once committed;
        a later commit in the same group may have closed it already, so the RUNNING event
        is made from the row as it was when it started."""
        assert self.status_events is not None
        rec = self.store.get_execution(execution_arn)
        if rec is None:
            return
        if started:
            self.status_events.emit(
                rec._replace(status="RUNNING", output=None, error=None, cause=None, stop_date=None)
            )
        if closes and rec.status != "RUNNING":
            self.status_events.emit(rec)

    def _hand_out(self, ex: OpenExecution, commands: list[Command]) -> list[Command]:
        """Start the activity tasks of a transition being committed for workers already
        waiting for them, in the same commit; returns the commands left to carry out once
        it is committed.

        Without this a task goes to its worker after the commit that scheduled it, and
        its start (ActivityStarted) takes a commit of its own: one fsync more per task.
        A worker is answered once the commit holding both is done; if the scheduling
        write fails, the start is not written either (:func:`_guarded`) and the worker
        goes on waiting. Measured with a worker long-polling while executions of one
        activity Task start one after another (boto3, A/B in alternating rounds): server
        CPU per execution 1.27-1.29 -> 1.13-1.25 ms."""
        arn = ex.info.execution_arn
        left = commands
        if ex.info.state_machine_arn in self.deleting:  # it ends at its next step instead
            return left
        for cmd in commands:
            if not integrations.for_activity_worker(self, arn, cmd):
                continue
            assert isinstance(cmd, ScheduleTask)
            waiter = self.queues.waiting(cmd.resource)
            if waiter is None:
                continue
            try:
                started = self.advance(ex, TaskStarted(cmd.task_id, waiter.worker_name))
            except InternalFailure:  # (logged) the worker waits on; the task is queued as ever
                self.queues.wait_again(cmd.resource, waiter)
                continue
            left = [c for c in left if c is not cmd]
            waiter.fut.set_result(activity_task(arn, cmd, started))
        return left

    def advance(self, ex: OpenExecution, trigger: Trigger) -> asyncio.Future[Any]:
        """Apply ``trigger`` to an open execution now; the future resolves once committed.

        An execution whose state machine is being deleted fails instead, as AWS ends
        them at their next transition."""
        ctx = _context(self.secret, ex.info.execution_arn)
        try:
            if ex.info.state_machine_arn in self.deleting:
                cause = f"State machine {ex.info.state_machine_name} has been deleted."
                t = engine_link.terminate(
                    ex.machine, ex.info, ex.state, ctx, "States.Runtime", cause
                )
            else:
                t = engine_link.step(ex.machine, ex.info, ex.state, trigger, ctx)
        except Exception as exc:
            LOG.exception("engine failed on %r for %s", trigger, ex.info.execution_arn)
            raise InternalFailure("The engine failed to process the request.") from exc
        packed = ex.keep(t.state)
        closing = self._closing(ex, t, ctx)
        return self._commit(
            ex, t, writes.advance_execution(ex.id, t.events, packed, closing, self._children(t))
        )

    def deliver(self, execution_arn: str, trigger: Trigger) -> None:
        """Apply a trigger from inside the runtime (timers, dispatchers). When the engine
        cannot compute the step (logged by advance), the execution ends FAILED with
        States.Runtime: nothing else would ever wake it."""
        ex = self.open.get(execution_arn)
        if ex is None or ex.closed:
            return
        try:
            self.advance(ex, trigger)
        except InternalFailure:
            self._fail_stuck(ex)

    def _fail_stuck(self, ex: OpenExecution) -> None:
        ctx = _context(self.secret, ex.info.execution_arn)
        cause = (
            "opensfn could not run the execution's next step (the server's log says why); "
            "it was ended instead of being left waiting for nothing."
        )
        try:
            t = engine_link.terminate(ex.machine, ex.info, ex.state, ctx, "States.Runtime", cause)
        except Exception:
            LOG.exception("cannot end %s either; it stays open", ex.info.execution_arn)
            return
        packed = ex.keep(t.state)
        closing = self._closing(ex, t, ctx)
        self._commit(
            ex, t, writes.advance_execution(ex.id, t.events, packed, closing, self._children(t))
        )

    def _timer_fired(self, execution_arn: str, timer_id: str) -> None:
        self.deliver(execution_arn, TimerFired(timer_id))

    def _apply(self, ex: OpenExecution, commands: list[Command]) -> None:
        integrations.carry_out(self, self.timers, ex.info.execution_arn, commands)

    async def stop_execution(
        self, ex: OpenExecution, error: str | None, cause: str | None
    ) -> float:
        """StopExecution of an open execution: step StopRequested, commit, return the stop date."""
        await asyncio.shield(self.advance(ex, StopRequested(error, cause)))
        return ex.stop_date if ex.stop_date is not None else _context().now.timestamp()

    # ------------------------------------------------------------------ tasks

    def make_token(self, account: str, execution_arn: str, task_id: str) -> str:
        """The task token of one task."""
        return tokens.make_token(self.secret, account, execution_arn, task_id)

    def task_is_open(self, execution_arn: str, task_id: str) -> OpenExecution | None:
        """The execution if ``task_id`` still waits for its answer there."""
        ex = self.open.get(execution_arn)
        if ex is None or ex.closed or task_id not in ex.tasks:
            return None
        return ex

    async def answer_task(self, ex: OpenExecution, trigger: Trigger) -> None:
        """SendTaskSuccess/Failure/Heartbeat: step and commit before the caller answers."""
        await asyncio.shield(self.advance(ex, trigger))

    async def take_activity_task(
        self, activity_arn: str, worker_name: str | None, account: str, timeout: float
    ) -> tuple[str, str] | None:
        """GetActivityTask: (token, input) of the next task, started and committed, or None."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            task = await self.queues.take(activity_arn, deadline - loop.time(), worker_name)
            if task is None:
                return None
            if task.started is not None:  # started for this worker (see _hand_out)
                try:
                    await asyncio.shield(task.started)
                except WriteSkipped:  # the write that scheduled it failed: not a task
                    continue
                return self.make_token(account, task.execution_arn, task.task_id), task.input
            ex = self.task_is_open(task.execution_arn, task.task_id)
            if ex is None:
                continue  # stopped or timed out while queued
            try:
                await asyncio.shield(self.advance(ex, TaskStarted(task.task_id, worker_name)))
            except InternalFailure:
                continue
            return self.make_token(account, task.execution_arn, task.task_id), task.input


class WriteSkipped(Exception):
    """Not written: an earlier write of the same execution failed."""


def _guarded(ex: OpenExecution, batch: Any) -> Any:
    """``batch``, unless an earlier write of ``ex`` failed (in the same group commit or
    before); a failure marks ``ex`` so that the writes queued after it fail too (a
    history never skips the step that failed to be written)."""

    def run(conn: Any) -> Any:
        if ex.broken:
            raise WriteSkipped(ex.info.execution_arn)
        try:
            result = batch(conn)
            settle(conn)  # (PostgreSQL: this batch's errors are raised here, not later)
        except BaseException:
            ex.broken = True
            raise
        return result

    return run
