"""The interpreter's contract with the runtime: triggers in, a transition out.

``engine.interpreter.start`` and ``engine.interpreter.step`` are pure: they read no clock,
no uuid source and no randomness except through :class:`StepContext`, never sleep and
never do I/O. The runtime persists ``Transition.state`` and ``Transition.events`` in one
transaction and then carries out ``Transition.commands``.

Execution state is a plain JSON-serialisable ``dict`` owned by the engine; the runtime
stores it verbatim and hands it back on the next trigger.

Ids: ``task_id`` and ``timer_id`` are strings unique within one execution, chosen by the
engine. The runtime keys its activity queue, task tokens and timer heap on
``(execution_arn, id)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON = Any
Event = dict[str, Any]  # one history event, exactly as GetExecutionHistory returns it


@dataclass(frozen=True)
class ExecutionInfo:
    """What the context object's ``$$.Execution`` / ``$$.StateMachine`` need."""

    execution_arn: str
    execution_name: str
    state_machine_arn: str
    state_machine_name: str
    role_arn: str | None  # None: TestState called without a roleArn
    start_time: datetime
    redrive_count: int | None = 0  # None: an Express execution, whose context has none


@dataclass(frozen=True)
class StepContext:
    """The outside world as the engine may see it."""

    now: datetime
    new_uuid: Callable[[], str]
    random: Callable[[], float]
    # task_id → the task token the runtime will accept for it (``$$.Task.Token``);
    # None: the engine uses the bare task id.
    task_token: Callable[[str], str] | None = None
    # TestState's inspection: when a dict, the engine records the intermediate values of
    # input/output processing in it (``afterInputPath``, ``afterParameters``, ``result``,
    # ``afterResultSelector``, ``afterResultPath``, ``afterArguments``, ``variables``).
    inspect: dict[str, Any] | None = None
    # TestState's ``context`` parameter: when a dict, it is the whole context object ``$$``
    # of every state (the engine adds only what a state brings: ``Task``, ``Map``).
    context: dict[str, Any] | None = None
    # The live clock (epoch seconds), read as each state is entered so that a long run of
    # states inside one step is timestamped as it happens (as AWS records it); None: every
    # event of a step is stamped ``now`` (tests on a fake clock).
    clock: Callable[[], float] | None = None


# --------------------------------------------------------------------------- triggers


@dataclass(frozen=True)
class TimerFired:
    """A timer scheduled with :class:`ScheduleTimer` is due."""

    timer_id: str


@dataclass(frozen=True)
class TaskStarted:
    """A worker picked the task up (GetActivityTask handed out its token)."""

    task_id: str
    worker_name: str | None = None


@dataclass(frozen=True)
class TaskSucceeded:
    """SendTaskSuccess (or a dispatcher's result). ``output`` is JSON text."""

    task_id: str
    output: str


@dataclass(frozen=True)
class TaskSubmitted:
    """The integration accepted the work (``.sync`` / ``.waitForTaskToken``): the task
    goes on waiting. ``output`` is the service's answer, as JSON text."""

    task_id: str
    output: str


@dataclass(frozen=True)
class TaskFailed:
    """SendTaskFailure (or a dispatcher's failure)."""

    task_id: str
    error: str | None
    cause: str | None


@dataclass(frozen=True)
class TaskHeartbeat:
    """SendTaskHeartbeat: the heartbeat timer starts again."""

    task_id: str


@dataclass(frozen=True)
class StopRequested:
    """StopExecution: the execution ends ABORTED."""

    error: str | None
    cause: str | None


Trigger = (
    TimerFired
    | TaskStarted
    | TaskSubmitted
    | TaskSucceeded
    | TaskFailed
    | TaskHeartbeat
    | StopRequested
)


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class ScheduleTimer:
    """Call ``step`` with ``TimerFired(timer_id)`` at ``due`` (the runtime may scale waits)."""

    timer_id: str
    due: datetime
    kind: str = "wait"  # "wait" | "retry" | "timeout" | "heartbeat" — for wait scaling


@dataclass(frozen=True)
class CancelTimer:
    timer_id: str


@dataclass(frozen=True)
class ScheduleTask:
    """Hand work to a dispatcher.

    ``resource`` is the Task state's resource ARN (an activity ARN for activities);
    ``parameters`` the effective input (JSON value) the integration receives. The
    dispatcher answers with TaskStarted / TaskSucceeded / TaskFailed triggers.
    ``wait_for_token`` marks ``.waitForTaskToken``: completion then comes from
    SendTask* with the token only.
    """

    task_id: str
    resource: str
    parameters: JSON
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    wait_for_token: bool = False
    state_name: str = ""


@dataclass(frozen=True)
class CancelTask:
    """The task is no longer wanted (timed out, stopped, branch failed): drop it."""

    task_id: str


Command = ScheduleTimer | CancelTimer | ScheduleTask | CancelTask


@dataclass(frozen=True)
class ChildExecution:
    """New history events of one child workflow execution of a Distributed Map (STANDARD
    child workflows only; AWS records no history for EXPRESS ones). The events of its
    first transition begin with ``ExecutionStarted``; the closing event (succeeded, failed
    or aborted) is its last. ``arn``: ``…:execution:<machine>/<map label>:<name>``."""

    arn: str
    map_run_arn: str
    events: list[Event]
    item_count: int = 1
    """The items it processes (a batch's size with an ItemBatcher)."""


@dataclass(frozen=True)
class Transition:
    """What one call of ``start``/``step`` produced.

    ``status`` is set when the execution closed: ``SUCCEEDED`` (with ``output``),
    ``FAILED`` / ``TIMED_OUT`` / ``ABORTED`` (with ``error`` and ``cause``).
    """

    state: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    status: str | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    children: list[ChildExecution] = field(default_factory=list)
    """Child workflow executions of Distributed Maps that this call started, moved or ended."""
