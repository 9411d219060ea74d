"""Task states: scheduling work, and the events of its life as AWS records them.

Three families of resource, each with its own history event names (one table):
activities (``Activity*``), bare Lambda function ARNs (``LambdaFunction*``), and service
integrations ``arn:aws:states:::<service>:<action>[.sync|.sync:2|.waitForTaskToken]``
(``Task*`` with ``resourceType`` / ``resource``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from opensfn.asl import jsonpath, payload
from opensfn.asl.definition import State
from opensfn.engine import data
from opensfn.engine.flow import fail_state, goto_exit, state_of
from opensfn.engine.protocol import ScheduleTask
from opensfn.engine.run import Frame, Run, dumps
from opensfn.errors import WorkflowError


@dataclass(frozen=True)
class Resource:
    """A Task resource, classified."""

    kind: str  # "activity" | "lambda" | "service"
    arn: str
    service: str = ""  # resourceType, e.g. "lambda", "sqs", "aws-sdk:s3"
    action: str = ""  # resource, e.g. "invoke", "sendMessage.waitForTaskToken"
    region: str = ""

    @property
    def wait_for_token(self) -> bool:
        return self.action.endswith(".waitForTaskToken")


def classify(arn: str, default_region: str) -> Resource:
    """What kind of resource ``arn`` names."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[2] == "states" and parts[5] == "activity":
        return Resource("activity", arn, region=parts[3])
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        return Resource("lambda", arn, region=parts[3])
    if arn.startswith("arn:") and len(parts) >= 6 and parts[2] == "states" and parts[5]:
        rest = ":".join(parts[5:])
        suffix = ""
        if rest.endswith(".sync:2"):
            rest, suffix = rest[: -len(":2")], ":2"
        service, _, action = rest.rpartition(":")
        return Resource("service", arn, service, action + suffix, parts[3] or default_region)
    return Resource("service", arn, "unknown", arn, default_region)


# Tasks the engine schedules for itself (a Distributed Map's ItemReader / ResultWriter
# I/O): durable and re-queued on restart like any task, but AWS records no event for
# them, and their answer goes back to the Map state that asked (``engine.branches``).
INTERNAL = "internal"

# kind → (event prefix, details-key prefix); service tasks say Task*, with their type.
_EVENTS = {
    "activity": ("Activity", "activity"),
    "lambda": ("LambdaFunction", "lambdaFunction"),
    "service": ("Task", "task"),
}


def _emit(
    run: Run, frame: Frame, task: dict[str, Any], what: str, details: dict[str, Any] | None
) -> int:
    if task["kind"] == INTERNAL:
        return int(frame["last"])
    prefix, key = _EVENTS[task["kind"]]
    if task["kind"] == "service":
        details = {"resourceType": task["service"], "resource": task["action"], **(details or {})}
    if details is None:
        return run.emit(frame, prefix + what)
    return run.emit(frame, prefix + what, f"{key}{what}EventDetails", details)


def _seconds(
    run: Run, frame: Frame, state: State, value: Any, path: jsonpath.JsonPath | None
) -> int | None:
    if data.is_jsonata(state) and value is not None:
        value = data.evaluate(run, frame, value, data.binding(run, frame, state))
    if path is not None:
        found = payload.apply_input_path(
            path, frame["in"], run.context(frame, state), run.variables(frame)
        )
        if isinstance(found, bool) or not isinstance(found, int | float) or found <= 0:
            raise WorkflowError("States.Runtime", f"Invalid {path.text} value: {dumps(found)}")
        return int(found)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return None


def _credentials(run: Run, frame: Frame, state: State) -> dict[str, Any] | None:
    """The Task's ``Credentials`` as the scheduled event records them (``roleArn``)."""
    if state.credentials is None:
        return None
    if data.is_jsonata(state):
        value = data.evaluate(run, frame, state.credentials, data.binding(run, frame, state))
    else:
        value = state.credentials.evaluate(
            frame["in"], run.context(frame, state), run.variables(frame), run.ctx
        )
    if isinstance(value, dict) and "RoleArn" in value:
        return {"roleArn": value["RoleArn"]}
    return None


def schedule(run: Run, frame: Frame, path: list[str], state: State) -> None:
    """Task handler: evaluate the parameters and schedule the work."""
    res = classify(state.resource, run.info.state_machine_arn.split(":")[3])
    task_id = run.new_id("t")
    extra = None
    if res.wait_for_token:
        token = run.ctx.task_token(task_id) if run.ctx.task_token else task_id
        extra = {"Task": {"Token": token}}
    params = data.state_input(run, frame, state, extra)
    timeout = _seconds(run, frame, state, state.timeout_seconds, state.timeout_seconds_path)
    heartbeat = _seconds(run, frame, state, state.heartbeat_seconds, state.heartbeat_seconds_path)
    task = {
        "path": path,
        "kind": res.kind,
        "service": res.service,
        "action": res.action,
        "resource": state.resource,
        "params": params,
        "timeout": timeout,
        "heartbeat": heartbeat,
        "token": res.wait_for_token,
        "name": state.name,
        "started": False,
    }
    details: dict[str, Any]
    if res.kind == "service":
        details = {"region": res.region, "parameters": dumps(params)}
    else:
        details = {
            "resource": state.resource,
            "input": dumps(params),
            "inputDetails": {"truncated": False},
        }
    credentials = _credentials(run, frame, state)
    if credentials is not None:
        details["taskCredentials"] = credentials
    if timeout is not None:
        details["timeoutInSeconds"] = timeout
    if heartbeat is not None and res.kind != "lambda":
        details["heartbeatInSeconds"] = heartbeat
    _emit(run, frame, task, "Scheduled", details)
    run.state["tasks"][task_id] = task
    frame["task"] = task_id
    frame["phase"] = "task"
    run.commands.append(
        ScheduleTask(
            task_id, state.resource, params, timeout, heartbeat, res.wait_for_token, state.name
        )
    )
    if timeout is not None:
        run.schedule_timer("to" + task_id, path, run.now + timeout, "timeout")
    if heartbeat is not None:
        run.schedule_timer("hb" + task_id, path, run.now + heartbeat, "heartbeat")


def on_started(run: Run, frame: Frame, path: list[str], task_id: str, worker: str | None) -> None:
    """The task was handed to a worker / the integration call began."""
    task = run.state["tasks"][task_id]
    if task["started"]:
        return
    task["started"] = True
    if task["kind"] == "activity":
        _emit(run, frame, task, "Started", {"workerName": worker} if worker else {})
    elif task["kind"] == "lambda":
        _emit(run, frame, task, "Started", None)
    else:
        _emit(run, frame, task, "Started", {})
    _restart_heartbeat(run, path, task_id, task)


def on_submitted(run: Run, frame: Frame, path: list[str], task_id: str, output: str) -> None:
    """The integration accepted the work; the task now waits for its completion."""
    task = run.state["tasks"][task_id]
    if task.get("submitted"):
        return
    # Kept (it is the service's answer, e.g. a child ExecutionArn): after a restart the
    # runtime finds what the task waits on from it.
    task["submitted"] = output
    _emit(run, frame, task, "Submitted", {"output": output, "outputDetails": {"truncated": False}})


def on_heartbeat(run: Run, frame: Frame, path: list[str], task_id: str) -> None:
    """SendTaskHeartbeat: the heartbeat clock starts again."""
    _restart_heartbeat(run, path, task_id, run.state["tasks"][task_id])


def _restart_heartbeat(run: Run, path: list[str], task_id: str, task: dict[str, Any]) -> None:
    if task.get("heartbeat"):
        run.cancel_timer("hb" + task_id)
        run.schedule_timer("hb" + task_id, path, run.now + task["heartbeat"], "heartbeat")


def on_succeeded(run: Run, frame: Frame, path: list[str], task_id: str, output: str) -> None:
    """The task's result arrived: output processing, then the next state."""
    task = run.state["tasks"][task_id]
    if task["kind"] == INTERNAL:
        from opensfn.engine import branches

        branches.on_internal_answer(run, frame, path, task_id, output, None, None)
        return
    run.cancel_task(task_id)
    _emit(run, frame, task, "Succeeded", {"output": output, "outputDetails": {"truncated": False}})
    state = state_of(run, frame)
    try:
        result = orjson.loads(output)
        out, assigned = data.finish(run, frame, state, result)
    except WorkflowError as exc:
        from opensfn.engine.flow import with_prefix

        fail_state(run, frame, path, state, exc.error, with_prefix(frame, state, exc))
        return
    goto_exit(run, frame, state, out, assigned=assigned)


def on_failed(
    run: Run, frame: Frame, path: list[str], task_id: str, error: str | None, cause: str | None
) -> None:
    """The task failed: record it, then Retry / Catch."""
    task = run.state["tasks"][task_id]
    if task["kind"] == INTERNAL:
        from opensfn.engine import branches

        branches.on_internal_answer(run, frame, path, task_id, None, error, cause)
        return
    run.cancel_task(task_id)
    details: dict[str, Any] = {}
    if error is not None:
        details["error"] = error
    if cause is not None:
        details["cause"] = cause
    _emit(run, frame, task, "Failed", details)
    fail_state(run, frame, path, state_of(run, frame), error, cause)


def timed_out(run: Run, frame: Frame, path: list[str], kind: str) -> None:
    """TimeoutSeconds or HeartbeatSeconds ran out (AWS names both ``States.Timeout``)."""
    task_id = frame.get("task")
    task = run.state["tasks"].get(task_id or "")
    if task is None or task_id is None:
        return
    run.cancel_task(task_id)
    _emit(run, frame, task, "TimedOut", {"error": "States.Timeout"})
    fail_state(run, frame, path, state_of(run, frame), "States.Timeout", None)
