"""What each state type does, as a table of handlers.

Handlers raise :class:`WorkflowError` for runtime failures; :func:`execute` turns them
into failure values handled by Retry/Catch (:func:`fail_state`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from opensfn.asl import jsonpath, payload, timestamps
from opensfn.asl.definition import State
from opensfn.engine import data, tasks
from opensfn.engine.flow import enter, fail_state, goto_exit, state_of, with_prefix
from opensfn.engine.run import Frame, Run, dumps
from opensfn.errors import WorkflowError

__all__ = ["HANDLERS", "enter", "execute", "on_timer"]

# AWS refuses a Wait longer than a signed 32-bit number of seconds (about 68 years).
MAX_WAIT_SECONDS = 2**31 - 1


def execute(run: Run, frame: Frame, path: list[str]) -> None:
    """Run the current state's body (after Entered, or again after a retry)."""
    state = state_of(run, frame)
    try:
        HANDLERS[state.type](run, frame, path, state)
    except WorkflowError as exc:
        cause = with_prefix(frame, state, exc)
        failed_event = None
        if exc.error == "States.QueryEvaluationError":
            _evaluation_failed(run, frame, state, exc.error, cause, exc.location)
            failed_event = _STATE_FAILED.get(state.type)
        fail_state(run, frame, path, state, exc.error, cause, failed_event)


# The state-level failure event AWS records after an evaluation error, by state type.
_STATE_FAILED = {"Map": "MapStateFailed", "Parallel": "ParallelStateFailed"}
_FIELD_RX = re.compile(r"specified for the field '([^']*)'")


def _evaluation_failed(
    run: Run, frame: Frame, state: State, error: str, cause: str | None, location: str | None
) -> None:
    """AWS records a failed JSONata evaluation as ``EvaluationFailed``, chained to the
    event before the state was entered."""
    details: dict[str, Any] = {"error": error, "cause": cause, "state": state.name}
    m = _FIELD_RX.search(cause or "")
    if location or m:
        details["location"] = location or (m.group(1) if m else None)
    # Recorded: chained to the event before the state's entry, except a Wait's value
    # check, which follows the Wait's own entry.
    prev = frame.get("entered", 0) if state.type == "Wait" else frame.get("eprev", 0)
    run.emit(frame, "EvaluationFailed", "evaluationFailedEventDetails", details, prev=prev)


# ---------------------------------------------------------------------- state types


def _pass(run: Run, frame: Frame, path: list[str], state: State) -> None:
    if data.is_jsonata(state):
        out, assigned = data.finish(run, frame, state)
    else:
        eff = data.effective_input(run, frame, state, frame["in"])
        result = state.result if state.has_result else eff
        out, assigned = data.result_output(run, frame, state, frame["in"], result)
    goto_exit(run, frame, state, out, assigned=assigned)


def _succeed(run: Run, frame: Frame, path: list[str], state: State) -> None:
    eff = frame["in"] if data.is_jsonata(state) else data.input_path(run, frame, state, frame["in"])
    out, assigned = data.finish(run, frame, state, eff=eff)
    goto_exit(run, frame, state, out, terminal=True, assigned=assigned)


def _fail(run: Run, frame: Frame, path: list[str], state: State) -> None:
    error, cause = state.error, state.cause
    if data.is_jsonata(state):
        b = data.binding(run, frame, state)
        error = data.evaluate(run, frame, state.error, b)
        cause = data.evaluate(run, frame, state.cause, b)
    elif state.error_path is not None or state.cause_path is not None:
        ctx = run.context(frame, state)
        variables = run.variables(frame)
        if state.error_path is not None:
            error = payload.evaluate_expression(
                state.error_path, "ErrorPath", frame["in"], ctx, variables, run.ctx
            )
        if state.cause_path is not None:
            cause = payload.evaluate_expression(
                state.cause_path, "CausePath", frame["in"], ctx, variables, run.ctx
            )
    frame.update(phase="failed", err=error, cause=cause)


def _choice_jsonata(run: Run, frame: Frame, state: State) -> None:
    from opensfn.asl import jsonata

    b = data.binding(run, frame, state)
    for i, cond in enumerate(state.conditions):
        value = data.evaluate(run, frame, cond, b)
        if not isinstance(value, bool):
            expr = cond.root.expression
            if expr is None:
                raise WorkflowError(
                    "States.QueryEvaluationError", "The Condition field must be a boolean."
                )
            jsonata.check_type(expr, value, "boolean", "Condition")
        if value:
            frame["next_override"] = state.choices[i].next
            out, assigned = data.finish(
                run,
                frame,
                state,
                eff=frame["in"],
                output_t=state.rule_output[i],
                assign_t=state.rule_assign[i],
            )
            if state.rule_output[i] is None:
                out = frame["in"]
            goto_exit(run, frame, state, out, assigned=assigned)
            return
    if state.default is None:
        raise WorkflowError("States.NoChoiceMatched", "No Matches!", state_prefix=False)
    frame["next_override"] = state.default
    out, assigned = data.finish(run, frame, state, eff=frame["in"])
    goto_exit(run, frame, state, out, assigned=assigned)


def _choice(run: Run, frame: Frame, path: list[str], state: State) -> None:
    if data.is_jsonata(state):
        _choice_jsonata(run, frame, state)
        return
    eff = data.input_path(run, frame, state, frame["in"])
    ctx = run.context(frame, state)
    variables = run.variables(frame)
    nxt = None
    for rule in state.choices:
        if rule.matches(eff, ctx, variables):
            nxt = rule.next
            break
    if nxt is None:
        nxt = state.default
    if nxt is None:
        raise WorkflowError("States.NoChoiceMatched", "No Matches!", state_prefix=False)
    frame["next_override"] = nxt
    assigned = data.assign(run, frame, state, eff)
    goto_exit(run, frame, state, data.output_path(run, frame, state, eff), assigned=assigned)


def _wait(run: Run, frame: Frame, path: list[str], state: State) -> None:
    jsonata_mode = data.is_jsonata(state)
    eff = frame["in"] if jsonata_mode else data.input_path(run, frame, state, frame["in"])
    due = run.now
    if jsonata_mode:
        due = _jsonata_due(run, frame, state)
    elif state.seconds is not None:
        due += float(state.seconds)
    elif state.timestamp is not None:
        due = _timestamp(state.timestamp)
    elif state.seconds_path is not None:
        due += _seconds_from_path(
            state.seconds_path, eff, run.context(frame, state), run.variables(frame)
        )
    elif state.timestamp_path is not None:
        due = _timestamp_from_path(
            state.timestamp_path, eff, run.context(frame, state), run.variables(frame)
        )
    if due - run.now > MAX_WAIT_SECONDS:
        raise WorkflowError("States.Runtime", "Wait state delay is too long.")
    if due <= run.now:
        _wait_done(run, frame, state, eff)
        return
    if eff is not frame["in"]:  # kept only when InputPath changed it (else read from "in")
        frame["eff"] = eff
    frame["phase"] = "wait"
    run.schedule_timer(run.new_id("w"), path, due, "wait")


def _wait_done(run: Run, frame: Frame, state: State, eff: Any) -> None:
    out, assigned = data.finish(run, frame, state, eff=eff)
    goto_exit(run, frame, state, out, assigned=assigned)


def _jsonata_due(run: Run, frame: Frame, state: State) -> float:
    b = data.binding(run, frame, state)
    if state.seconds is not None:
        seconds = data.evaluate(run, frame, state.seconds, b)
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise WorkflowError(
                "States.QueryEvaluationError",
                f"The Seconds field must be a non-negative integer: {dumps(seconds)}",
                location="Seconds",
            )
        return run.now + seconds
    value = data.evaluate(run, frame, state.timestamp, b)
    dt = timestamps.parse_timestamp(value) if isinstance(value, str) else None
    if dt is None:
        shown = value if isinstance(value, str) else dumps(value)
        raise WorkflowError(
            "States.QueryEvaluationError",
            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
            f"format string: {shown}",
            location="Timestamp",
        )
    return dt.timestamp()


def _timestamp(value: str) -> float:
    dt = timestamps.parse_timestamp(value)
    if dt is None:
        raise WorkflowError("States.Runtime", f"Invalid timestamp: {value}")
    return dt.timestamp()


def _wait_path_value(
    path: jsonpath.JsonPath, field: str, eff: Any, ctx: dict[str, Any], variables: dict[str, Any]
) -> Any:
    """The value a Wait's SecondsPath / TimestampPath names ($, $$ or a variable)."""
    try:
        return path.resolve(eff, ctx, variables)
    except jsonpath.PathNotFound as exc:
        raise WorkflowError(
            "States.Runtime",
            f"The {field} parameter does not reference an input value: {path.text}",
        ) from exc


def _seconds_from_path(
    path: jsonpath.JsonPath, eff: Any, ctx: dict[str, Any], variables: dict[str, Any]
) -> float:
    value = _wait_path_value(path, "SecondsPath", eff, ctx, variables)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WorkflowError(
            "States.Runtime",
            f"The SecondsPath parameter cannot be parsed as a long value: {path.text} == {dumps(value)}",
        )
    if value < 0:
        raise WorkflowError(
            "States.Runtime",
            f"The SecondsPath parameter references a negative value: {path.text} == {value}",
        )
    return float(value)


def _timestamp_from_path(
    path: jsonpath.JsonPath, eff: Any, ctx: dict[str, Any], variables: dict[str, Any]
) -> float:
    value = _wait_path_value(path, "TimestampPath", eff, ctx, variables)
    dt = timestamps.parse_timestamp(value) if isinstance(value, str) else None
    if dt is None:
        raise WorkflowError(
            "States.Runtime",
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            f"date-time format string: {path.text} == {value if isinstance(value, str) else dumps(value)}",
        )
    return dt.timestamp()


def _parallel_or_map(run: Run, frame: Frame, path: list[str], state: State) -> None:
    from opensfn.engine import branches

    branches.begin(run, frame, path, state)


# State type → handler(run, frame, path, state). A handler leaves the frame in its next
# phase: ``enter`` (moved on), a waiting phase, ``children``, ``done`` or ``failed``.
HANDLERS: dict[str, Callable[[Run, Frame, list[str], State], None]] = {
    "Pass": _pass,
    "Succeed": _succeed,
    "Fail": _fail,
    "Choice": _choice,
    "Wait": _wait,
    "Task": tasks.schedule,
    "Parallel": _parallel_or_map,
    "Map": _parallel_or_map,
}


# ---------------------------------------------------------------------- triggers


def on_timer(run: Run, frame: Frame, path: list[str], kind: str, timer_id: str) -> None:
    """A timer of ``frame`` fired."""
    if kind == "wait" and frame["phase"] == "wait":
        state = state_of(run, frame)
        try:
            eff = frame.pop("eff") if "eff" in frame else frame["in"]
            _wait_done(run, frame, state, eff)
        except WorkflowError as exc:
            fail_state(run, frame, path, state, exc.error, with_prefix(frame, state, exc))
    elif kind == "retry" and frame["phase"] == "retry":
        frame["phase"] = "exec"
    elif kind == "yield" and frame["phase"] == "yield":
        frame["phase"] = "enter"
    elif kind in ("timeout", "heartbeat") and frame["phase"] == "task":
        tasks.timed_out(run, frame, path, kind)


on_task_started = tasks.on_started
on_task_heartbeat = tasks.on_heartbeat
on_task_submitted = tasks.on_submitted
on_task_succeeded = tasks.on_succeeded
on_task_failed = tasks.on_failed
