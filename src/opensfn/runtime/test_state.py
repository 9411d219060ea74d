"""TestState: run one state in isolation on the pure engine, as AWS's TestState API does.

The state is wrapped in a one-state machine whose transition targets (``Next``,
``Default``, Choice rules' and catchers' ``Next``) are ``Succeed`` stubs, so the
interpreter runs it exactly as in a workflow and stops where the next state begins:
the stub's input is the tested state's output and the stub's name is ``nextState``.
Nothing waits and nothing is called: a Wait ends at once, a Task (or a Map/Parallel
given a ``mock``) is answered by the mock's ``result`` or ``errorOutput``, and Retry is
not run but reported — an error a retrier matches (and whose ``retrierRetryCount`` is
below its MaxAttempts) answers ``RETRIABLE`` with the retrier index and back-off.

Statuses (``TestExecutionStatus``): SUCCEEDED, FAILED, RETRIABLE, CAUGHT_ERROR.
"""

from __future__ import annotations

import copy
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from opensfn.engine.protocol import (
    ExecutionInfo,
    ScheduleTask,
    ScheduleTimer,
    StepContext,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
    Transition,
    Trigger,
)
from opensfn.engine.run import error_matches
from opensfn.runtime import engine_link

DEFAULT_STATE_NAME = "StateName"  # what AWS calls a state tested without ``stateName``
MAX_TRIGGERS = 10_000  # a state that loops this long without ending is cut off

# Fields a Map or Parallel state keeps when a mock stands for its branches/iterations
# (it is then run as a Task answered by the mock). Rules: every common field and every
# field that shapes the result; the fields that describe the iterations are dropped.
_KEPT_WHEN_MOCKED = frozenset(
    {
        "Type", "Comment", "QueryLanguage", "InputPath", "OutputPath", "ResultPath",
        "ResultSelector", "Output", "Assign", "Catch", "Retry", "Next", "End",
    }
)  # fmt: skip


class TestStateError(Exception):
    """A request TestState refuses (the API maps it to ValidationException)."""


@dataclass(frozen=True)
class Request:
    """The TestState parameters the runner needs."""

    definition: str
    input: str
    state_name: str | None
    mock: dict[str, Any] | None
    retrier_retry_count: int
    map_iteration_failure_count: int
    region: str
    account: str
    role_arn: str


def _targets(state: dict[str, Any]) -> list[str]:
    names: list[str] = []
    if isinstance(state.get("Next"), str):
        names.append(state["Next"])
    if isinstance(state.get("Default"), str):
        names.append(state["Default"])
    for rule in state.get("Choices") or ():
        if isinstance(rule, dict) and isinstance(rule.get("Next"), str):
            names.append(rule["Next"])
    for catcher in state.get("Catch") or ():
        if isinstance(catcher, dict) and isinstance(catcher.get("Next"), str):
            names.append(catcher["Next"])
    return names


def _select(req: Request) -> tuple[str, dict[str, Any], str | None]:
    """(name, state, machine-level QueryLanguage) of the state under test."""
    try:
        document = orjson.loads(req.definition)
    except orjson.JSONDecodeError as exc:
        raise TestStateError(f"Invalid State Machine Definition: '{exc}'") from None
    if not isinstance(document, dict):
        raise TestStateError("The definition must be a JSON object")
    if req.state_name is None:
        return DEFAULT_STATE_NAME, document, None
    states = document.get("States")
    if not isinstance(states, dict) or req.state_name not in states:
        raise TestStateError(
            f"State '{req.state_name}' does not exist in the state machine definition"
        )
    return req.state_name, states[req.state_name], document.get("QueryLanguage")


def tested_state(req: Request) -> dict[str, Any]:
    """The definition of the state under test."""
    return _select(req)[1]


def _wrap(name: str, state: dict[str, Any], language: str | None, mocked: bool) -> dict[str, Any]:
    tested = copy.deepcopy(state)
    tested.pop("Retry", None)  # retries are reported, not run
    if mocked and tested.get("Type") in ("Map", "Parallel"):
        tested = {k: v for k, v in tested.items() if k in _KEPT_WHEN_MOCKED}
        tested["Type"] = "Task"
        tested["Resource"] = "arn:aws:states:::lambda:invoke"
    states: dict[str, Any] = {name: tested}
    for target in _targets(tested):
        if target != name:
            states[target] = {"Type": "Succeed"}
    machine: dict[str, Any] = {"StartAt": name, "States": states}
    if language is not None:
        machine["QueryLanguage"] = language
    return machine


def _exceeds_tolerance(state: dict[str, Any], failures: int, items: int) -> bool:
    """Whether ``failures`` of ``items`` Map iterations break the state's tolerance."""
    if failures <= 0:
        return False
    count = state.get("ToleratedFailureCount")
    percentage = state.get("ToleratedFailurePercentage")
    if isinstance(count, int) and failures > count:
        return True
    if isinstance(percentage, int | float) and items and failures * 100 / items > percentage:
        return True
    return not isinstance(count, int) and not isinstance(percentage, int | float)


def map_inspection(state: dict[str, Any]) -> dict[str, Any]:
    """The Map settings TestState reports (static values only)."""
    out: dict[str, Any] = {}
    if state.get("Type") != "Map":
        return out
    concurrency = state.get("MaxConcurrency")
    out["maxConcurrency"] = concurrency if isinstance(concurrency, int) else 0
    for key, name in (
        ("ToleratedFailureCount", "toleratedFailureCount"),
        ("ToleratedFailurePercentage", "toleratedFailurePercentage"),
    ):
        if isinstance(state.get(key), int | float):
            out[name] = state[key]
    return out


def _answer(req: Request, state: dict[str, Any], cmd: ScheduleTask) -> Trigger:
    mock = req.mock or {}
    if state.get("Type") == "Map" and "result" in mock:
        items = orjson.loads(mock["result"])
        size = len(items) if isinstance(items, list) else 0
        if _exceeds_tolerance(state, req.map_iteration_failure_count, size):
            return TaskFailed(
                cmd.task_id,
                "States.ExceedToleratedFailureThreshold",
                "The specified tolerated failure threshold was exceeded",
            )
    if "errorOutput" in mock:
        err = mock["errorOutput"] or {}
        return TaskFailed(cmd.task_id, err.get("error"), err.get("cause"))
    if "result" in mock:
        return TaskSucceeded(cmd.task_id, mock["result"])
    return TaskFailed(
        cmd.task_id,
        "States.Runtime",
        f"opensfn's TestState runs Task states with a mock only: {cmd.resource}",
    )


def _run(
    machine: Any, info: ExecutionInfo, req: Request, state: dict[str, Any]
) -> tuple[Transition, list[Any]]:
    """Run to the end; returns the last transition and every event."""
    ctx = StepContext(datetime.now(UTC), lambda: str(uuid.uuid4()), random.random)
    t = engine_link.start(machine, info, req.input, ctx)
    events = list(t.events)
    pending: list[Trigger] = []
    for _ in range(MAX_TRIGGERS):
        if t.status is not None:
            break
        for cmd in t.commands:
            if isinstance(cmd, ScheduleTask):
                pending.append(_answer(req, state, cmd))
            elif isinstance(cmd, ScheduleTimer) and cmd.kind in ("wait", "yield", "retry"):
                pending.append(TimerFired(cmd.timer_id))
        if not pending:
            break
        t = engine_link.step(machine, info, t.state, pending.pop(0), ctx)
        events.extend(t.events)
    return t, events


def _last_error(events: list[Any]) -> tuple[str | None, str | None] | None:
    for event in reversed(events):
        if event["type"] in ("ExecutionFailed", "ExecutionSucceeded"):
            continue
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict) and "error" in details:
                return details.get("error"), details.get("cause")
    return None


def _retrier(state: dict[str, Any], error: str, count: int) -> dict[str, Any] | None:
    for index, retrier in enumerate(state.get("Retry") or ()):
        if error_matches(tuple(retrier.get("ErrorEquals") or ()), error):
            if count >= int(retrier.get("MaxAttempts", 3)):
                return None
            interval = float(retrier.get("IntervalSeconds", 1))
            backoff = interval * float(retrier.get("BackoffRate", 2.0)) ** count
            cap = retrier.get("MaxDelaySeconds")
            if cap is not None:
                backoff = min(backoff, float(cap))
            seconds = int(backoff) if float(backoff).is_integer() else backoff
            return {"retryIndex": index, "retryBackoffIntervalSeconds": seconds}
    return None


def _catch_index(state: dict[str, Any], error: str) -> int | None:
    for index, catcher in enumerate(state.get("Catch") or ()):
        if error_matches(tuple(catcher.get("ErrorEquals") or ()), error):
            return index
    return None


def run(req: Request) -> dict[str, Any]:
    """The TestState answer; ``_errorDetails`` is for ``inspectionData``."""
    name, state, language = _select(req)
    if req.mock is not None and state.get("Type") not in ("Task", "Map", "Parallel"):
        raise TestStateError("A mock can only be specified for Task, Map, or Parallel states")
    machine = engine_link.load_machine(
        orjson.dumps(_wrap(name, state, language, req.mock is not None)).decode()
    )
    machine_name = f"TestState-{uuid.uuid4().hex[:12]}"
    info = ExecutionInfo(
        execution_arn=f"arn:aws:states:{req.region}:{req.account}:express:{machine_name}:{uuid.uuid4()}",
        execution_name=str(uuid.uuid4()),
        state_machine_arn=f"arn:aws:states:{req.region}:{req.account}:stateMachine:{machine_name}",
        state_machine_name=machine_name,
        role_arn=req.role_arn,
        start_time=datetime.now(UTC),
    )
    t, events = _run(machine, info, req, state)
    failure = _last_error(events)
    out: dict[str, Any] = {}
    error = failure[0] if failure is not None else None
    if error is not None:
        retry = _retrier(state, error, req.retrier_retry_count)
        if retry is not None:
            out.update(error=error, cause=failure[1] if failure else None, status="RETRIABLE")
            out["_errorDetails"] = retry
            return {k: v for k, v in out.items() if v is not None}
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in events
        if "stateEnteredEventDetails" in e and e["stateEnteredEventDetails"]["name"] != name
    ]
    if t.status == "SUCCEEDED":
        out["output"] = t.output
        if entered:
            out["nextState"] = entered[0]
        if error is not None:
            out.update(error=error, cause=failure[1] if failure else None, status="CAUGHT_ERROR")
            index = _catch_index(state, error)
            if index is not None:
                out["_errorDetails"] = {"catchIndex": index}
        else:
            out["status"] = "SUCCEEDED"
    else:
        out.update(error=t.error, cause=t.cause, status="FAILED")
    return {k: v for k, v in out.items() if v is not None}
