"""TestState: run one state in isolation on the pure engine, as AWS's TestState API does.

The state is wrapped in a small machine whose transition targets (``Next``, ``Default``,
Choice rules' and catchers' ``Next``) are ``Succeed`` stubs, so the interpreter runs it
exactly as in a workflow and stops where the next state begins: the stub's input is the
tested state's output and the stub's name is ``nextState``. Workflow ``variables`` given
with the request are assigned by a JSONata Pass state that runs first. Nothing waits and
nothing is called: a Wait ends at once, a Task (or a Map/Parallel, which needs a
``mock``) is answered by the mock's ``result`` or ``errorOutput``, and Retry is not run
but reported — an error a retrier matches (and whose ``retrierRetryCount`` is below its
MaxAttempts) answers ``RETRIABLE`` with the retrier index and back-off.

Statuses (``TestExecutionStatus``): SUCCEEDED, FAILED, RETRIABLE, CAUGHT_ERROR.

``inspectionData`` (DEBUG and TRACE) holds the input, the intermediate values the engine
records (``StepContext.inspect``) as AWS reports them per state type, the variables,
the Map settings and, for a handled error, ``errorDetails``. Values are JSON text.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from opensfn.asl import item_reader, jsonata, jsonpath, payload
from opensfn.engine.protocol import (
    CancelTask,
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
from opensfn.errors import WorkflowError
from opensfn.runtime import engine_link
from opensfn.runtime.test_state_checks import (
    DEFAULT_STATE_NAME,
    Request,
    TestStateError,
    check_context,
    check_mock,
    check_request,
    json_param,
    select,
)

MAX_TRIGGERS = 10_000  # a state that loops this long without ending is cut off
MAX_SECONDS = 300.0  # "The TestState API can run for up to five minutes" (AWS's API reference)
TIMED_OUT = "The state did not end within the five minutes TestState can run."
_VARIABLES_STATE = "TestState·Variables"  # a name no definition can hold (it has a '·')

# Fields a Map or Parallel state keeps when a mock stands for its branches/iterations
# (it is then run as a Task answered by the mock). Rules: every common field and every
# field that shapes the result; the fields that describe the iterations are dropped.
_KEPT_WHEN_MOCKED = frozenset(
    {
        "Type", "Comment", "QueryLanguage", "InputPath", "OutputPath", "ResultPath",
        "ResultSelector", "Output", "Assign", "Catch", "Retry", "Next", "End",
    }
)  # fmt: skip

# The intermediate values AWS reports, per (state kind, JSONata?). Rules: JSONPath
# states report their input/output processing steps (a Pass with ``Result`` skips input
# processing; a mocked Parallel reports only what follows its result; a mocked Map adds
# ``afterItemsPath``); JSONata states report only the evaluated ``Arguments``.
_REPORTED: dict[tuple[str, bool], tuple[str, ...]] = {
    ("Pass", False): ("afterInputPath", "afterParameters", "afterResultSelector", "afterResultPath"),
    ("Pass+Result", False): ("result", "afterResultSelector", "afterResultPath"),
    ("Task", False): (
        "afterInputPath", "afterParameters", "result", "afterResultSelector", "afterResultPath",
    ),
    ("Map", False): ("afterInputPath", "afterItemsPath", "afterResultSelector", "afterResultPath"),
    ("Parallel", False): ("afterResultSelector", "afterResultPath"),
    ("Choice", False): ("afterInputPath",),
    ("Wait", False): ("afterInputPath",),
    ("Succeed", False): ("afterInputPath",),
    ("Fail", False): ("afterInputPath",),
    ("Task", True): ("afterArguments",),
}  # fmt: skip

# Whether the engine takes a whole context object (``StepContext.context``).


@dataclass
class _Env:
    """Where JSONata's ``$uuid()`` and ``$random()`` get their values."""

    new_uuid: Callable[[], str]
    random: Callable[[], float]


_ENV: Any = _Env(lambda: str(uuid.uuid4()), random.random)
"""The one such outside world: it holds no state."""


class _FirstWrites(dict[str, Any]):
    """The engine's inspection record, keeping the first value of each key: the tested
    state runs before the stub that follows it, which records again."""

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self:
            super().__setitem__(key, value)


def dumps(value: Any) -> str:
    """JSON text as TestState reports values."""
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------- the machine


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


def _wrap(
    name: str,
    state: dict[str, Any],
    language: str | None,
    mocked: bool,
    variables: dict[str, Any] | None,
) -> dict[str, Any]:
    tested = copy.deepcopy(state)
    tested.pop("Retry", None)  # retries are reported, not run
    if mocked and tested.get("Type") in ("Map", "Parallel"):
        tested = {k: v for k, v in tested.items() if k in _KEPT_WHEN_MOCKED}
        tested["Type"] = "Task"
        tested["Resource"] = "arn:aws:states:::lambda:invoke"
    if language is not None and "QueryLanguage" not in tested:
        tested["QueryLanguage"] = language  # the machine itself stays JSONPath (see below)
    states: dict[str, Any] = {name: tested}
    for target in _targets(tested):
        if target != name:
            states[target] = {"Type": "Succeed"}
    start = name
    if variables:
        # A JSONata Pass takes its Assign values literally unless they are {% %} strings;
        # it records nothing in the inspection and passes its input on unchanged.
        states[_VARIABLES_STATE] = {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Assign": variables,
            "Next": name,
        }
        start = _VARIABLES_STATE
    return {"StartAt": start, "States": states}


def _evaluate_setting(
    value: Any, field: str, state_input: Any, context: dict[str, Any], variables: dict[str, Any]
) -> Any:
    """A Map setting's value: a JSONata ``{% %}`` string is evaluated."""
    if not jsonata.is_template(value):
        return value
    expression = jsonata.compile_expression(value[2:-2], "")
    return expression.evaluate({"input": state_input, "context": context}, variables, _ENV, field)


def _map_settings(
    state: dict[str, Any], state_input: Any, context: dict[str, Any], variables: dict[str, Any]
) -> dict[str, Any]:
    """The Map settings TestState reports (``maxConcurrency``, tolerated failures)."""
    out: dict[str, Any] = {}
    if state.get("Type") != "Map":
        return out
    fields = (
        ("MaxConcurrency", "maxConcurrency"),
        ("ToleratedFailureCount", "toleratedFailureCount"),
        ("ToleratedFailurePercentage", "toleratedFailurePercentage"),
    )
    for key, name in fields:
        value = state.get(key)
        path = state.get(key + "Path")
        if isinstance(path, str):
            try:
                value = payload.apply_input_path(
                    jsonpath.compile_path(path), state_input, context, variables
                )
            except WorkflowError:
                value = None
        value = _evaluate_setting(value, key, state_input, context, variables)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = value
    out.setdefault("maxConcurrency", 0)
    return out


def _exceeds_tolerance(settings: dict[str, Any], failures: int | None, items: int) -> bool:
    """Whether ``failures`` of ``items`` Map iterations break the state's tolerance; a
    Map without tolerated-failure settings is not checked."""
    if not failures or failures <= 0:
        return False
    count = settings.get("toleratedFailureCount")
    percentage = settings.get("toleratedFailurePercentage")
    if count is not None and failures > count:
        return True
    return percentage is not None and items > 0 and failures * 100 / items > percentage


# --------------------------------------------------------------------------- the run


@dataclass
class _Run:
    """What one TestState run needs besides the request."""

    name: str
    state: dict[str, Any]
    result: Any
    settings: dict[str, Any]


def _answer(req: Request, run: _Run, cmd: ScheduleTask) -> Trigger:
    mock = req.mock or {}
    if run.state.get("Type") == "Map" and "result" in mock:
        size = len(run.result) if isinstance(run.result, list) else 0
        if _exceeds_tolerance(run.settings, req.map_iteration_failure_count, size):
            return TaskFailed(
                cmd.task_id,
                "States.ExceedToleratedFailureThreshold",
                "The specified tolerated failure threshold was exceeded",
            )
    if "errorOutput" in mock:
        err = mock["errorOutput"] or {}
        return TaskFailed(cmd.task_id, err.get("error"), err.get("cause"))
    if "result" in mock:
        return TaskSucceeded(cmd.task_id, orjson.dumps(run.result).decode())
    return TaskFailed(  # run on the engine alone (no server): nothing can do the work
        cmd.task_id, "States.Runtime", f"No mock and no server to call {cmd.resource}"
    )


class _Calls:
    """Where a TestState run's real Task calls go: the server's own dispatchers (its Lambda
    handlers, endpoints and HTTP connections, as an execution's Task would use them),
    their answers coming back through ``deliver``."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.integrations = runtime.integrations
        self.queues = runtime.queues
        self.inbox: asyncio.Queue[Trigger] = asyncio.Queue()

    def deliver(self, execution_arn: str, trigger: Trigger) -> None:
        self.inbox.put_nowait(trigger)


async def _execute(
    machine: Any,
    info: ExecutionInfo,
    req: Request,
    run: _Run,
    ctx: StepContext,
    calls: _Calls | None,
) -> tuple[Transition, list[Any]]:
    """Run to the end; returns the last transition and every event.

    Without a mock a Task's work is really done, by the dispatcher an execution would use,
    and the run waits for its answer (and for the Task's TimeoutSeconds and
    HeartbeatSeconds, in real time) up to TestState's five minutes."""
    from opensfn.runtime import dispatch

    loop = asyncio.get_running_loop()
    deadline = loop.time() + MAX_SECONDS
    arn = info.execution_arn
    armed: list[asyncio.TimerHandle] = []
    in_flight: set[str] = set()
    t = engine_link.start(machine, info, req.input, ctx)
    events = list(t.events)
    pending: list[Trigger] = []
    try:
        for _ in range(MAX_TRIGGERS):
            if t.status is not None:
                break
            for cmd in t.commands:
                if isinstance(cmd, ScheduleTask):
                    if req.mock is not None or calls is None:
                        pending.append(_answer(req, run, cmd))
                    else:
                        in_flight.add(cmd.task_id)
                        dispatch.dispatch(calls, arn, cmd)
                elif isinstance(cmd, ScheduleTimer) and cmd.kind in ("wait", "yield", "retry"):
                    pending.append(TimerFired(cmd.timer_id))
                elif isinstance(cmd, ScheduleTimer) and calls is not None and in_flight:
                    delay = max(0.0, (cmd.due - datetime.now(UTC)).total_seconds())
                    fire = TimerFired(cmd.timer_id)
                    armed.append(loop.call_later(delay, calls.inbox.put_nowait, fire))
                elif isinstance(cmd, CancelTask) and calls is not None:
                    in_flight.discard(cmd.task_id)
                    dispatch.cancel(calls, arn, cmd.task_id)
            if not pending and calls is not None and in_flight:
                try:
                    pending.append(
                        await asyncio.wait_for(calls.inbox.get(), deadline - loop.time())
                    )
                except TimeoutError:
                    for task_id in in_flight:
                        dispatch.cancel(calls, arn, task_id)
                    t = engine_link.terminate(
                        machine, info, t.state, ctx, "States.Timeout", TIMED_OUT
                    )
                    events.extend(t.events)
                    break
            if not pending:
                break
            trigger = pending.pop(0)
            if isinstance(trigger, (TaskSucceeded, TaskFailed)):
                in_flight.discard(trigger.task_id)
            t = engine_link.step(machine, info, t.state, trigger, ctx)
            events.extend(t.events)
    finally:
        for handle in armed:
            handle.cancel()
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
    """errorDetails of the retrier that takes ``error`` (its back-off while it has
    attempts left); None when no retrier takes it."""
    for index, retrier in enumerate(state.get("Retry") or ()):
        if error_matches(tuple(retrier.get("ErrorEquals") or ()), error):
            if count >= int(retrier.get("MaxAttempts", 3)):
                return {"retryIndex": index}
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


def _default_context(req: Request, info: ExecutionInfo, value: Any, name: str) -> dict[str, Any]:
    """The context object as the engine builds it (for Map settings and ItemsPath)."""
    return {
        "Execution": {
            "Id": info.execution_arn,
            "Input": value,
            "Name": info.execution_name,
            "RoleArn": info.role_arn,
            "StartTime": info.start_time.isoformat(),
        },
        "StateMachine": {"Id": info.state_machine_arn, "Name": info.state_machine_name},
        "State": {"Name": name, "EnteredTime": info.start_time.isoformat(), "RetryCount": 0},
    }


def _items(state: dict[str, Any], after_input: Any, context: Any, variables: Any) -> Any:
    """A JSONPath Map's ``ItemsPath`` selection; AWS's States.Runtime when not an array."""
    path = state.get("ItemsPath", "$")
    items = after_input
    if isinstance(path, str) and path != "$":
        items = payload.apply_input_path(
            jsonpath.compile_path(path), after_input, context, variables
        )
    if not isinstance(items, list):
        shown = path[1:] if isinstance(path, str) and path.startswith("$$") else path
        raise WorkflowError("States.Runtime", f'Reference path "{shown}" must point to array.')
    return items


def _item_views(
    state: dict[str, Any],
    items: Any,
    eff: Any,
    context: dict[str, Any],
    variables: dict[str, Any],
    jsonata_mode: bool,
) -> dict[str, Any]:
    """A Map's ``afterItemSelector`` (each iteration's input, ``ItemSelector`` applied
    with the item in ``$$.Map.Item``) and ``afterItemBatcher`` (the batches the iterations
    would get), for the fields the state has. Raises WorkflowError as the Map would."""
    out: dict[str, Any] = {}
    if not isinstance(items, list):
        return out

    def compiled(template: Any, field: str) -> Callable[[dict[str, Any]], Any]:
        """``template`` compiled once; evaluated against a context object."""
        if jsonata_mode:
            tree = jsonata.compile_template(template, "", field)
            return lambda scope: tree.evaluate({"input": eff, "context": scope}, variables, _ENV)
        path_tree = payload.compile_template(template, field)
        return lambda scope: path_tree.evaluate(eff, scope, variables, _ENV)

    selector = state.get("ItemSelector", state.get("Parameters"))
    selected = items
    if selector is not None:
        select = compiled(selector, "ItemSelector")
        selected = [
            select({**context, "Map": {"Item": {"Index": i, "Value": item}}})
            for i, item in enumerate(items)
        ]
        out["afterItemSelector"] = selected
    batcher = state.get("ItemBatcher")
    if isinstance(batcher, dict):
        limits = []
        for key in ("MaxItemsPerBatch", "MaxInputBytesPerBatch"):
            value = batcher.get(key)
            if isinstance(batcher.get(key + "Path"), str):
                value = payload.apply_input_path(
                    jsonpath.compile_path(batcher[key + "Path"]), eff, context, variables
                )
            value = _evaluate_setting(value, key, eff, context, variables)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
            limits.append(int(value) if ok else None)
        has_input = "BatchInput" in batcher
        batch_input = compiled(batcher["BatchInput"], "BatchInput")(context) if has_input else None
        out["afterItemBatcher"] = item_reader.batch(
            selected, limits[0], limits[1], batch_input, has_batch_input=has_input
        )
    return out


def _jsonata_items(
    state: dict[str, Any], state_input: Any, context: dict[str, Any], variables: dict[str, Any]
) -> Any:
    """A JSONata Map's items: its ``Items`` expression's value, else the state input."""
    if "Items" not in state:
        return state_input
    template = jsonata.compile_template(state["Items"], "", "Items")
    return template.evaluate({"input": state_input, "context": context}, variables, _ENV)


def _info(req: Request) -> ExecutionInfo:
    # The context names the caller's account; TestState's caller is the role's account.
    parts = (req.role_arn or "").split(":")
    account = parts[4] if len(parts) > 5 and parts[4].isdigit() else req.account
    machine_name = f"TestState-{uuid.uuid4().hex[:12]}"
    execution_name = str(uuid.uuid4())
    prefix = f"arn:aws:states:{req.region}:{account}"
    return ExecutionInfo(
        execution_arn=f"{prefix}:express:{machine_name}:{execution_name}",
        execution_name=execution_name,
        state_machine_arn=f"{prefix}:stateMachine:{machine_name}",
        state_machine_name=machine_name,
        # Recorded against AWS: the context names the role only in a mocked run; without a
        # mock its Execution.RoleArn is null, the request's roleArn notwithstanding.
        role_arn=req.role_arn if req.mock is not None else None,
        start_time=datetime.now(UTC),
        redrive_count=None,  # TestState runs as an Express execution
    )


def _variables_after(t: Transition, given: dict[str, Any]) -> dict[str, Any]:
    """The workflow variables once the state ran: the given ones and those it assigned
    (read from the execution state's root frame, where the engine keeps them)."""
    root = t.state.get("root")
    found = root.get("vars") if isinstance(root, dict) else None
    return {**given, **found} if isinstance(found, dict) else given


def _kind(state: dict[str, Any]) -> str:
    kind = str(state.get("Type"))
    return "Pass+Result" if kind == "Pass" and "Result" in state else kind


async def run(req: Request, runtime: Any = None) -> dict[str, Any]:
    """The TestState answer (``output`` and ``inspectionData`` values as JSON text).

    ``runtime``: the server's, whose dispatchers do a Task's work when no mock stands in
    for it (without one, such a Task fails as its resource could not be called)."""
    picked, state, language = select(req)
    # AWS runs the picked state on its own, under the name a lone state gets: recorded
    # against AWS, $states.context.State.Name reads "StateName" for ``stateName`` "State0".
    # (The picked name stays when the state itself leads to a state called that.)
    name = picked
    if req.state_name is not None and DEFAULT_STATE_NAME not in _targets(state):
        name = DEFAULT_STATE_NAME
    check_request(req, state)
    result = check_mock(req, state)
    given_context = None
    if req.context is not None:
        given_context = json_param(req.context, "Invalid Context object provided")
        check_context(given_context, state)
    variables: dict[str, Any] = {}
    if req.variables is not None:
        parsed = json_param(req.variables, "The variables must be a JSON object")
        if not isinstance(parsed, dict):
            raise TestStateError("The variables must be a JSON object")
        variables = parsed
    language_of_state = state.get("QueryLanguage") or language
    machine = engine_link.load_machine(
        orjson.dumps(_wrap(name, state, language, req.mock is not None, variables)).decode()
    )
    info = _info(req)
    value = orjson.loads(req.input)
    context = (
        given_context if given_context is not None else _default_context(req, info, value, name)
    )
    settings = _map_settings(state, value, context, variables)
    inspect = _FirstWrites()
    ctx = StepContext(
        datetime.now(UTC),
        lambda: str(uuid.uuid4()),
        random.random,
        inspect=inspect,
        context=given_context,
    )
    calls = _Calls(runtime) if runtime is not None and req.mock is None else None
    t, events = await _execute(machine, info, req, _Run(name, state, result, settings), ctx, calls)
    jsonata_mode = language_of_state == "JSONata"
    reported = dict.fromkeys(_REPORTED.get((_kind(state), jsonata_mode), ()))
    out: dict[str, Any] = {}
    details: dict[str, Any] = {}
    if "afterInputPath" in reported and "afterInputPath" not in inspect:
        inspect["afterInputPath"] = value  # states whose engine handler has no InputPath
    if "afterItemsPath" in reported and "afterInputPath" in inspect:
        try:
            inspect["afterItemsPath"] = _items(state, inspect["afterInputPath"], context, variables)
        except WorkflowError as exc:
            early = {"input": req.input, "afterInputPath": dumps(inspect["afterInputPath"])}
            out.update(status="FAILED", error=exc.error, cause=exc.cause)
            return _finish(req, out, early)
    if state.get("Type") == "Map":
        try:
            if jsonata_mode:
                items, eff = _jsonata_items(state, value, context, variables), value
            else:
                items, eff = inspect.get("afterItemsPath"), inspect["afterInputPath"]
            for key, view in _item_views(
                state, items, eff, context, variables, jsonata_mode
            ).items():
                inspect[key] = view
                reported[key] = None
        except WorkflowError as exc:
            out.update(status="FAILED", error=exc.error, cause=exc.cause)
            early = {"input": req.input}
            for key in ("afterInputPath", "afterItemsPath"):
                if key in inspect:
                    early[key] = dumps(inspect[key])
            return _finish(req, out, early)
    data: dict[str, Any] = {"input": req.input}
    for key in reported:
        if key in inspect:
            data[key] = dumps(inspect[key])
    data.update(settings)
    after = _variables_after(t, variables)
    if after:
        data["variables"] = dumps(after)
    failure = _last_error(events)
    error = failure[0] if failure is not None else None
    if error is not None and failure is not None:
        retry = _retrier(state, error, req.retrier_retry_count)
        if retry is not None:
            details.update(retry)
            if "retryBackoffIntervalSeconds" in retry:
                out.update(error=error, cause=failure[1], status="RETRIABLE")
                return _finish(req, out, data, details)
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in events
        if "stateEnteredEventDetails" in e
        and e["stateEnteredEventDetails"]["name"] not in (name, _VARIABLES_STATE)
    ]
    if t.status == "SUCCEEDED":
        out["output"] = dumps(orjson.loads(t.output or "null"))
        if entered:
            out["nextState"] = entered[0]
        if error is not None and failure is not None:
            out.update(error=error, cause=failure[1], status="CAUGHT_ERROR")
            index = _catch_index(state, error)
            if index is not None:
                details = {"catchIndex": index}
        else:
            out["status"] = "SUCCEEDED"
    else:
        out.update(error=t.error, cause=t.cause, status="FAILED")
    return _finish(req, out, data, details)


def _finish(
    req: Request,
    out: dict[str, Any],
    data: dict[str, Any],
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if req.inspection_level in ("DEBUG", "TRACE"):
        if details:
            data["errorDetails"] = details
        out["inspectionData"] = data
    return {k: v for k, v in out.items() if v is not None}
