"""Entering and leaving states, and what happens when a state fails (Retry, Catch).

Shared by every state type's handler.
"""

from __future__ import annotations

from typing import Any

from opensfn.asl import payload
from opensfn.asl.definition import State
from opensfn.engine.run import (
    MAX_PAYLOAD,
    Frame,
    Run,
    dumps,
    error_output,
    find_catcher,
    find_retrier,
    jitter_random,
    retry_delay,
)
from opensfn.errors import WorkflowError


def state_of(run: Run, frame: Frame) -> State:
    """The state ``frame`` is in."""
    return run.machine.scope(frame["scope"]).states[frame["st"]]


def enter(run: Run, frame: Frame) -> None:
    """Emit ``<Type>StateEntered`` and get ready to execute."""
    run.tick()
    state = state_of(run, frame)
    text = frame.get("text")
    if text is None:
        text = dumps(frame["in"])
    frame["eprev"] = frame["last"]
    frame["entered"] = run.emit(
        frame,
        state.type + "StateEntered",
        "stateEnteredEventDetails",
        {"name": state.name, "input": text, "inputDetails": {"truncated": False}},
    )
    frame["etime"] = run.now  # formatted only if the context object is read
    frame["retries"] = [0] * len(state.retry)
    frame["phase"] = "exec"


def with_prefix(frame: Frame, state: State, exc: WorkflowError) -> str | None:
    """AWS's cause for a runtime error: which state, entered at which event."""
    if not exc.state_prefix:
        return exc.cause
    return (
        f"An error occurred while executing the state '{state.name}' "
        f"(entered at the event id #{frame.get('entered', 0)}). {exc.cause}"
    )


# ---------------------------------------------------------------------- leaving a state


def goto_exit(
    run: Run,
    frame: Frame,
    state: State,
    output: Any,
    *,
    terminal: bool = False,
    raw: str | None = None,
    assigned: dict[str, Any] | None = None,
) -> None:
    """Emit ``<Type>StateExited`` and move to the next state, or end the frame.

    AWS passes JSON text through untouched while no state changes it (spacing and
    all), so ``frame["text"]`` keeps the original text of an unchanged value; ``raw``
    is a text built by the caller (a Parallel's branch outputs, joined).
    """
    if raw is None and output is frame["in"]:
        raw = frame.get("text")
    text = raw if raw is not None else dumps(output)
    if len(text.encode()) > MAX_PAYLOAD:
        frame.update(
            phase="failed",
            err="States.DataLimitExceeded",
            cause=f"The state/task '{state.name}' returned a result with a size exceeding "
            "the maximum number of bytes service limit.",
        )
        return
    details: dict[str, Any] = {
        "name": state.name,
        "output": text,
        "outputDetails": {"truncated": False},
    }
    if assigned:
        details["assignedVariables"] = {k: dumps(v) for k, v in assigned.items()}
        details["assignedVariablesDetails"] = {"truncated": False}
        own = frame.get("vars")
        frame["vars"] = {**own, **assigned} if own else dict(assigned)
    if run.ctx.inspect is not None:
        run.ctx.inspect.setdefault("variables", run.variables(frame))
    run.emit(frame, state.type + "StateExited", "stateExitedEventDetails", details)
    # A Catch or a Choice names the next state itself, even on a state with End.
    nxt = frame.pop("next_override", None)
    if raw is None:
        frame.pop("text", None)
    else:
        frame["text"] = raw
    if nxt is None and not terminal and not state.end:
        nxt = state.next
    if nxt is None:
        frame["phase"] = "done"
        frame["out"] = output
        return
    frame["st"] = nxt
    frame["in"] = output
    frame["phase"] = "enter"


def fail_state(
    run: Run,
    frame: Frame,
    path: list[str],
    state: State,
    error: str | None,
    cause: str | None,
    failed_event: str | None = None,
) -> None:
    """A state failed: retry it, catch the error, or fail the frame.

    ``failed_event`` (``MapStateFailed``, ``ParallelStateFailed``) is recorded only when
    no retrier takes the error, as AWS does.
    """
    err = error or ""
    if state.retry and err not in ("States.DataLimitExceeded", "States.Runtime"):
        idx = find_retrier(state, frame, err)
        if idx is not None:
            retries = frame["retries"]
            delay = retry_delay(state.retry[idx], retries[idx], jitter_random(run.ctx))
            retries[idx] += 1
            if delay <= 0:
                frame["phase"] = "exec"
            else:
                frame["phase"] = "retry"
                run.schedule_timer(run.new_id("r"), path, run.now + delay, "retry")
            return
    if failed_event is not None:
        run.emit(frame, failed_event)
    catcher = find_catcher(state, err) if err not in ("States.Runtime",) else None
    if catcher is not None:
        from opensfn.engine import data

        result = error_output(error, cause)
        try:
            if data.is_jsonata(state):
                b = data.binding(run, frame, state, errorOutput=result)
                assigned = data.evaluate(run, frame, catcher.assign, b) or None
                out = data.evaluate(run, frame, catcher.output, b) if catcher.output else result
            else:
                assigned = (
                    data.assign(run, frame, state, result, catcher.assign)
                    if catcher.assign
                    else None
                )
                out = payload.apply_result_path(catcher.result_path, frame["in"], result)
        except WorkflowError as exc:
            frame.update(phase="failed", err=exc.error, cause=with_prefix(frame, state, exc))
            return
        frame["next_override"] = catcher.next
        goto_exit(run, frame, state, out, assigned=assigned)
        return
    frame.update(phase="failed", err=error, cause=cause)
