"""Nested executions: ``arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken]``.

The child is started in-process through the API's own StartExecution (same checks,
same errors as a client gets). Request-response answers ``{ExecutionArn, StartDate}``
with AWS's metadata; ``.sync`` answers that as TaskSubmitted and, when the child ends,
its DescribeExecution in the Java 1.x shape (``Input``/``Output`` as JSON text);
``.sync:2`` gives them parsed, with the redrive fields. A child that does not succeed
fails the Task with ``States.TaskFailed`` and that description (with ``Error`` and
``Cause``) as cause. A ``.sync`` child is stopped when its parent stops or no longer
wants the task.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from opensfn.engine.protocol import ScheduleTask, TaskFailed, TaskSubmitted, TaskSucceeded
from opensfn.errors import ApiError
from opensfn.runtime.dispatch import host as h
from opensfn.runtime.dispatch.metadata import service_metadata
from opensfn.runtime.dispatch.sdk import split_resource
from opensfn.runtime.status_events import redrive_status

LOG = logging.getLogger("opensfn.dispatch")


@dataclass(frozen=True)
class Closed:
    """A child execution as it ended."""

    arn: str
    machine_arn: str
    name: str
    input: str
    start_date: float
    status: str
    stop_date: float | None
    output: str | None
    error: str | None
    cause: str | None


def java_double(x: float) -> str:
    """``x`` as Java's ``Double.toString`` writes epoch seconds ("1.713421057123E9")."""
    digits, _, frac = repr(float(x)).partition(".")
    mantissa = (digits[1:] + frac).rstrip("0") or "0"
    return f"{digits[0]}.{mantissa}E{len(digits) - 1}"


def _millis(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _input_text(value: Any) -> str:
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _context(state: h.Integrations, parent_arn: str) -> Any:
    from opensfn.api.context import RequestContext, Services

    runtime = state.runtime
    parts = parent_arn.split(":")
    services = Services(state.settings, runtime.store, runtime)
    return RequestContext(parts[4], parts[3], services)


def describe(c: Closed, v2: bool) -> dict[str, Any]:
    """DescribeExecution of an ended child as a ``.sync`` / ``.sync:2`` Task reports it."""
    out: dict[str, Any] = {}
    if c.cause is not None:
        out["Cause"] = c.cause
    if c.error is not None:
        out["Error"] = c.error
    out["ExecutionArn"] = c.arn
    out["Input"] = orjson.loads(c.input) if v2 else c.input
    out["InputDetails"] = {"Included": True}
    out["Name"] = c.name
    if c.status == "SUCCEEDED" and c.output is not None:
        out["Output"] = orjson.loads(c.output) if v2 else c.output
        out["OutputDetails"] = {"Included": True}
    if v2:
        status, reason = redrive_status(c.status)
        out["RedriveCount"] = 0
        out["RedriveStatus"] = status
        if reason:
            out["RedriveStatusReason"] = reason
    out["StartDate"] = _millis(c.start_date)
    out["StateMachineArn"] = c.machine_arn
    out["Status"] = c.status
    if c.stop_date is not None:
        out["StopDate"] = _millis(c.stop_date)
    return out


def start_execution(host: h.DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    """Dispatch a ``states:startExecution`` Task."""
    _region, _service, _action, pattern = split_resource(cmd.resource)
    state = h.integrations_of(host)
    params = cmd.parameters if isinstance(cmd.parameters, dict) else {}
    child: list[str] = []

    async def work() -> h.Outcome:
        request = {
            "stateMachineArn": params.get("StateMachineArn"),
            "name": params.get("Name") or str(uuid.uuid4()),
            "input": _input_text(params.get("Input")),
        }
        from opensfn.api import executions

        try:
            resp = await executions.start_execution(_context(state, execution_arn), request)
        except ApiError as exc:
            return h.Outcome(
                error=f"StepFunctions.{exc.code.removesuffix('Exception')}Exception",
                cause=(
                    f"{exc.message} (Service: AWSStepFunctions; Status Code: {exc.status}; "
                    f"Error Code: {exc.code}; Request ID: {uuid.uuid4()}; Proxy: null)"
                ),
            )
        child.append(resp["executionArn"])
        body = f'{{"executionArn":"{resp["executionArn"]}","startDate":{java_double(resp["startDate"])}}}'
        out = {"ExecutionArn": resp["executionArn"], "StartDate": _millis(resp["startDate"])}
        out.update(service_metadata("json", {}, raw=body.encode()))
        return h.Outcome(output=orjson.dumps(out).decode())

    def finish(host_: h.DispatchHost, arn: str, cmd_: ScheduleTask, outcome: h.Outcome) -> None:
        if outcome.output is None or not pattern.startswith("sync"):
            h.answer(host_, arn, cmd_, outcome)
            return
        host_.deliver(arn, TaskSubmitted(cmd_.task_id, outcome.output))
        child_arn = child[0]
        state.parents[child_arn] = (host_, arn, cmd_.task_id, pattern)
        state.children.put(arn, cmd_.task_id, child_arn)
        ex = state.runtime.open.get(child_arn)
        if ex is None or ex.closed:  # ended while it was being started
            rec = state.runtime.store.get_execution(child_arn)
            if rec is not None and rec.status != "RUNNING":
                child_closed(state, Closed(
                    rec.arn, rec.machine_arn, rec.name, rec.input, rec.start_date, rec.status,
                    rec.stop_date, rec.output, rec.error, rec.cause,
                ))  # fmt: skip

    h.start(host, execution_arn, cmd, work, finish=finish)


def reattach(host: h.DispatchHost, parent_arn: str, tasks: dict[str, Any]) -> None:
    """After a restart: each ``.sync`` Task still waiting finds its child again, from the
    child ARN its TaskSubmitted answer carried; a child that ended while the server was
    down answers it at once."""
    state = h.integrations_of(host)
    for task_id, t in tasks.items():
        action = str(t.get("action", ""))
        submitted = t.get("submitted")
        if t.get("service") != "states" or not action.startswith("startExecution.sync"):
            continue
        if not isinstance(submitted, str):
            continue
        child_arn = orjson.loads(submitted).get("ExecutionArn")
        if not isinstance(child_arn, str):
            continue
        pattern = "sync:2" if action.endswith(":2") else "sync"
        state.parents[child_arn] = (host, parent_arn, task_id, pattern)
        state.children.put(parent_arn, task_id, child_arn)
        rec = state.runtime.store.get_execution(child_arn) if state.runtime else None
        if rec is not None and rec.status != "RUNNING":
            child_closed(state, Closed(
                rec.arn, rec.machine_arn, rec.name, rec.input, rec.start_date, rec.status,
                rec.stop_date, rec.output, rec.error, rec.cause,
            ))  # fmt: skip


def child_closed(state: h.Integrations, c: Closed) -> None:
    """A ``.sync`` child ended: complete its parent's Task."""
    parent = state.parents.pop(c.arn, None)
    if parent is None:
        return
    host, parent_arn, task_id, pattern = parent
    state.children.pop(parent_arn, task_id)
    out = describe(c, pattern == "sync:2")
    text = orjson.dumps(out).decode()
    if c.status == "SUCCEEDED":
        host.deliver(parent_arn, TaskSucceeded(task_id, text))
    else:
        host.deliver(parent_arn, TaskFailed(task_id, "States.TaskFailed", text))


def stop_child(state: h.Integrations, parent_arn: str, task_id: str) -> None:
    """The parent no longer waits for this ``.sync`` child: stop it."""
    child_arn = state.children.pop(parent_arn, task_id)
    if child_arn is None:
        return
    state.parents.pop(child_arn, None)
    ex = state.runtime.open.get(child_arn) if state.runtime is not None else None
    if ex is None or ex.closed:
        return

    async def stop() -> None:
        try:
            await state.runtime.stop_execution(ex, None, None)
        except Exception:
            LOG.exception("could not stop child execution %s", child_arn)

    h.spawn(stop())


def parent_closed(state: h.Integrations, parent_arn: str) -> None:
    """Stop every ``.sync`` child of an execution that ended."""
    for task_id in state.children.task_ids(parent_arn):
        stop_child(state, parent_arn, task_id)
