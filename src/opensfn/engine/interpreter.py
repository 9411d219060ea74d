"""The interpreter: ``start`` and ``step``, pure functions from triggers to transitions.

Execution state (plain JSON)::

    {"next": <next event id>, "seq": <id counter>, "input": <execution input>,
     "timers": {timer_id: {"path", "due", "kind"}}, "tasks": {task_id: {"path", ...}},
     "root": <frame>}

A frame is one thread: ``scope`` (scope id), ``st`` (current state), ``in`` (its raw
input), ``last`` (latest event id in this thread), ``phase`` and, for Parallel and Map,
``children`` keyed by branch / iteration index. Phases:

    enter → exec → (wait | task | retry | children | yield) → … → done | failed

``path`` is the list of child keys from the root frame to a frame. Timers and tasks
remember the path of the frame that waits on them, so a trigger resumes exactly that
thread; its ancestors then re-check their children.
"""

from __future__ import annotations

from typing import Any

import orjson

from opensfn.asl.definition import Machine
from opensfn.engine import states as st_handlers
from opensfn.engine.protocol import (
    Command,
    ExecutionInfo,
    ScheduleTask,
    ScheduleTimer,
    StepContext,
    StopRequested,
    TaskFailed,
    TaskHeartbeat,
    TaskStarted,
    TaskSubmitted,
    TaskSucceeded,
    TimerFired,
    Transition,
    Trigger,
)
from opensfn.engine.run import YIELD_EVENTS, Frame, Run, dumps

# A frame in one of these phases can make progress without a trigger.
RUNNABLE = frozenset({"enter", "exec", "children"})
# AWS's quota on one execution's history: reaching it fails the execution.
HISTORY_LIMIT = 25_000
HISTORY_FULL_CAUSE = (
    f"The execution reached the maximum number of history events ({HISTORY_LIMIT})."
)


def start(
    machine: Machine,
    info: ExecutionInfo,
    input_text: str,
    ctx: StepContext,
    *,
    inline_events: int | None = None,
) -> Transition:
    """Begin an execution: ``ExecutionStarted`` and as far as it runs without waiting.

    ``inline_events``: past this many events the execution yields (a timer due now), so
    a server can answer StartExecution once the start is durable without waiting for a
    long run of states (a Choice loop) to be computed and written first."""
    value = orjson.loads(input_text)
    scope = machine.scope(machine.root)
    root: Frame = {
        "scope": machine.root,
        "st": scope.start_at,
        "in": value,
        "last": 0,
        "phase": "enter",
    }
    if dumps(value) != input_text:  # the text as sent, kept only when it is not the compact one
        root["text"] = input_text
    state: dict[str, Any] = {
        "next": 1,
        "seq": 0,
        "input": value,
        "timers": {},
        "tasks": {},
        "root": root,
    }
    run = Run(machine, info, state, ctx)
    details = {"input": input_text, "inputDetails": {"truncated": False}, "roleArn": info.role_arn}
    # ExecutionStarted does not move the chain: the first state's entry points at 0.
    if inline_events is not None:
        run.yield_after = inline_events
    return _run_open(run, root, "ExecutionStarted", details, update=False)


def _run_open(
    run: Run, root: Frame, typ: str, details: dict[str, Any], *, update: bool
) -> Transition:
    """Record the execution's (re)opening event, arm its timeout, run as far as it goes."""
    key = typ[0].lower() + typ[1:] + "EventDetails"
    run.emit(root, typ, key, details, update=update)
    if run.machine.timeout_seconds:
        run.schedule_timer("exec-timeout", [], run.now + run.machine.timeout_seconds, "timeout")
    advance(run, root, [])
    return _finish(run)


def step(
    machine: Machine,
    info: ExecutionInfo,
    state: dict[str, Any],
    trigger: Trigger,
    ctx: StepContext,
) -> Transition:
    """Apply one trigger to an open execution."""
    run = Run(machine, info, state, ctx)
    if isinstance(trigger, StopRequested):
        return _close(run, "ABORTED", error=trigger.error, cause=trigger.cause)
    if isinstance(trigger, TimerFired):
        timer = state["timers"].get(trigger.timer_id)
        if timer is not None and timer["kind"] == "yield":
            del state["timers"][trigger.timer_id]
            _resume_yielded(run, timer.get("paths") or [timer["path"]])
            return _finish(run)
    path = _route(run, trigger)
    if path is None:
        return Transition(state=state)
    if path == ["exec-timeout"]:
        return _close(run, "TIMED_OUT", error="States.Timeout", cause=None)
    frame = at(state, path)
    if frame is None:
        return Transition(state=state)
    advance(run, frame, path)
    _advance_ancestors(run, [path])
    return _finish(run)


def _resume_yielded(run: Run, paths: list[list[str]]) -> None:
    """Run on every frame that yielded (in the order they did, skipping any given up
    since), then their ancestors: a Map's progress is checked once for all its resumed
    iterations, not once per iteration (5,000 of them: O(n²))."""
    resumed = []
    for path in paths:
        frame = at(run.state, path)
        if frame is None or frame["phase"] != "yield":
            continue
        frame["phase"] = "enter"
        advance(run, frame, path)
        resumed.append(path)
    _advance_ancestors(run, resumed)


def _advance_ancestors(run: Run, paths: list[list[str]]) -> None:
    """Advance each ancestor of ``paths`` once, deepest first (a branch's end moves its
    parent, whose end moves its own)."""
    ancestors: dict[tuple[str, ...], None] = {}
    for path in paths:
        for depth in range(len(path) - 1, -1, -1):
            ancestors.setdefault(tuple(path[:depth]), None)
    for key in sorted(ancestors, key=len, reverse=True):
        parent = at(run.state, list(key))
        if parent is not None:
            advance(run, parent, list(key))


def redrive(
    machine: Machine, info: ExecutionInfo, state: dict[str, Any], ctx: StepContext
) -> Transition:
    """RedriveExecution: reopen a FAILED, TIMED_OUT or ABORTED execution.

    The history goes on with ``ExecutionRedriven`` (``info.redrive_count`` is the new
    count) and the state that did not succeed is entered again with the input it had,
    its retry counters reset. A Parallel or Map state runs again as a whole.
    """
    if state.get("closed") not in ("FAILED", "TIMED_OUT", "ABORTED"):
        raise ValueError(
            f"an execution that is {state.get('closed') or 'RUNNING'} cannot be redriven"
        )
    run = Run(machine, info, state, ctx)
    for key in ("closed", "history_full"):
        state.pop(key, None)
    state["timers"], state["tasks"] = {}, {}
    root: Frame = state["root"]
    for key in ("children", "map", "results", "texts", "task", "eff", "out", "err", "cause"):
        root.pop(key, None)
    root["phase"] = "enter"
    details = {"redriveCount": info.redrive_count or 0}
    return _run_open(run, root, "ExecutionRedriven", details, update=True)


def terminate(
    machine: Machine,
    info: ExecutionInfo,
    state: dict[str, Any],
    ctx: StepContext,
    error: str,
    cause: str,
) -> Transition:
    """End an open execution FAILED from outside the workflow (its state machine was
    deleted): everything it waits on is cancelled, ``ExecutionFailed`` closes it."""
    return _close(Run(machine, info, state, ctx), "FAILED", error=error, cause=cause)


def resume_commands(state: dict[str, Any]) -> list[Command]:
    """After a restart: re-arm every timer and re-queue every task not yet handed out."""
    from datetime import UTC, datetime

    out: list[Command] = []
    for tid, t in state.get("timers", {}).items():
        out.append(ScheduleTimer(tid, datetime.fromtimestamp(t["due"], tz=UTC), t["kind"]))
    for task_id, t in state.get("tasks", {}).items():
        if not t.get("started"):
            out.append(
                ScheduleTask(
                    task_id,
                    t["resource"],
                    t["params"],
                    t.get("timeout"),
                    t.get("heartbeat"),
                    bool(t.get("token")),
                    t.get("name", ""),
                )
            )
    return out


def open_task(state: dict[str, Any], task_id: str) -> bool:
    """Whether ``task_id`` still waits for an answer."""
    return task_id in state.get("tasks", {})


# ---------------------------------------------------------------------- the loop


def at(state: dict[str, Any], path: list[str]) -> Frame | None:
    """The frame at ``path``, or None when it has ended."""
    frame: Frame | None = state["root"]
    for key in path:
        if frame is None:
            return None
        frame = (frame.get("children") or {}).get(key)
    return frame


def advance(run: Run, frame: Frame, path: list[str]) -> None:
    """Run ``frame`` until it waits, ends or fails."""
    from opensfn.engine import branches

    while True:
        phase = frame["phase"]
        if run.state["next"] >= HISTORY_LIMIT - 1:
            run.state["history_full"] = True
            return
        if phase == "enter":
            # The start's budget holds the top-level thread only: branches and iterations
            # run on (1,000 Map iterations yielding one by one would each be a step).
            if len(run.events) > (run.yield_after if not path else YIELD_EVENTS):
                frame["phase"] = "yield"
                run.yield_frame(path)
                return
            st_handlers.enter(run, frame)
        elif phase == "exec":
            st_handlers.execute(run, frame, path)
        elif phase == "children":
            if not branches.progress(run, frame, path):
                return
        else:
            return


def _route(run: Run, trigger: Trigger) -> list[str] | None:
    """Apply ``trigger`` to the waiting frame; returns its path (None: nothing waits)."""
    state = run.state
    if isinstance(trigger, TimerFired):
        timer = state["timers"].pop(trigger.timer_id, None)
        if timer is None:
            return None
        if trigger.timer_id == "exec-timeout":
            return ["exec-timeout"]
        path: list[str] = timer["path"]
        frame = at(state, path)
        if frame is None:
            return None
        st_handlers.on_timer(run, frame, path, timer["kind"], trigger.timer_id)
        return path
    if isinstance(trigger, StopRequested):  # handled by ``step`` before routing
        return None
    task = state["tasks"].get(trigger.task_id)
    if task is None:
        return None
    path = task["path"]
    frame = at(state, path)
    if frame is None:
        return None
    if isinstance(trigger, TaskStarted):
        st_handlers.on_task_started(run, frame, path, trigger.task_id, trigger.worker_name)
    elif isinstance(trigger, TaskSubmitted):
        st_handlers.on_task_submitted(run, frame, path, trigger.task_id, trigger.output)
    elif isinstance(trigger, TaskHeartbeat):
        st_handlers.on_task_heartbeat(run, frame, path, trigger.task_id)
    elif isinstance(trigger, TaskSucceeded):
        st_handlers.on_task_succeeded(run, frame, path, trigger.task_id, trigger.output)
    elif isinstance(trigger, TaskFailed):
        st_handlers.on_task_failed(run, frame, path, trigger.task_id, trigger.error, trigger.cause)
    return path


def _finish(run: Run) -> Transition:
    root = run.state["root"]
    if run.state.get("history_full"):
        return _close(run, "FAILED", error="States.Runtime", cause=HISTORY_FULL_CAUSE)
    if root["phase"] == "done":
        text = root.get("text")
        return _close(run, "SUCCEEDED", output=text if text is not None else dumps(root["out"]))
    if root["phase"] == "failed":
        return _close(run, "FAILED", error=root.get("err"), cause=root.get("cause"))
    return Transition(
        state=run.state, events=run.events, commands=run.commands, children=run.children()
    )


# Closing event per final status, with its details key.
_CLOSE_EVENTS = {
    "SUCCEEDED": ("ExecutionSucceeded", "executionSucceededEventDetails"),
    "FAILED": ("ExecutionFailed", "executionFailedEventDetails"),
    "TIMED_OUT": ("ExecutionTimedOut", "executionTimedOutEventDetails"),
    "ABORTED": ("ExecutionAborted", "executionAbortedEventDetails"),
}


def _close(
    run: Run,
    status: str,
    *,
    output: str | None = None,
    error: str | None = None,
    cause: str | None = None,
) -> Transition:
    state = run.state
    for tid in list(state["timers"]):
        run.cancel_timer(tid)
    for task_id in list(state["tasks"]):
        run.cancel_task(task_id)
    for arn in list(state.get("cx", ())):  # child executions still open end with it
        run.close_child(arn, "ABORTED", {})
    typ, key = _CLOSE_EVENTS[status]
    details: dict[str, Any] = {}
    if status == "SUCCEEDED":
        details = {"output": output, "outputDetails": {"truncated": False}}
    else:
        if error is not None:
            details["error"] = error
        if cause is not None:
            details["cause"] = cause
    run.emit(state["root"], typ, key, details)
    state["closed"] = status
    return Transition(
        state=state,
        events=run.events,
        commands=run.commands,
        status=status,
        output=output,
        error=error,
        cause=cause,
        children=run.children(),
    )
