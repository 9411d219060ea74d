"""One call of the interpreter: the working set, event emission, and error handling.

Execution state is a JSON-serialisable dict (see ``interpreter``); a *frame* is one thread
of control in it: the execution itself, a Parallel branch or a Map iteration. A frame
runs the states of one scope and keeps ``last``, the id of its latest event, because
AWS chains ``previousEventId`` along each thread rather than across the whole history.
"""

from __future__ import annotations

import random as _random
from datetime import UTC, datetime
from typing import Any

import orjson

from opensfn.asl.definition import Catcher, Machine, Retrier, State
from opensfn.engine.protocol import (
    CancelTask,
    CancelTimer,
    ChildExecution,
    Command,
    Event,
    ExecutionInfo,
    ScheduleTimer,
    StepContext,
)

Frame = dict[str, Any]
MAX_PAYLOAD = 262_144  # bytes: AWS's limit on any state input/output
# State types that can retry: only their context object carries ``State.RetryCount``.
_RETRYABLE = frozenset({"Task", "Parallel", "Map"})

# Errors that the ``States.ALL`` wildcard does not match. (A task result over the payload
# limit reaches Catch as ``States.DataLimitExceeded`` and AWS's recordings show
# ``States.ALL`` catching it; a state's own output over the limit never reaches Catch.)
_NOT_MATCHED_BY_ALL = frozenset({"States.Runtime"})


def dumps(value: Any) -> str:
    """JSON text as AWS writes payloads in history: compact, UTF-8 kept."""
    return orjson.dumps(value).decode()


def iso(ts: float) -> str:
    """An ISO-8601 timestamp with milliseconds, as in the context object."""
    dt = datetime.fromtimestamp(ts, tz=UTC)  # (an f-string: a third cheaper than strftime)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:"
        f"{dt.second:02d}.{dt.microsecond // 1000:03d}Z"
    )


# Past this many events in one call, a thread yields (a timer due now) so that one
# long loop neither monopolises the server nor builds one huge transaction.
YIELD_EVENTS = 10_000


class Run:
    """The mutable working set of one ``start``/``step`` call."""

    def __init__(
        self, machine: Machine, info: ExecutionInfo, state: dict[str, Any], ctx: StepContext
    ) -> None:
        self.machine = machine
        self.info = info
        self.state = state
        self.ctx = ctx
        self.now = ctx.now.timestamp()
        self.events: list[Event] = []
        self.commands: list[Command] = []
        self.child_events: dict[str, list[Event]] = {}  # Distributed Map child executions
        self._child_runs: dict[str, str] = {}  # their map runs
        self._child_items: dict[str, int] = {}  # items of the ones started in this call
        # Past this many events the top-level thread yields (``start``'s inline budget).
        self.yield_after = YIELD_EVENTS
        self._static: dict[str, Any] | None = None  # $$.Execution / $$.StateMachine
        self._iso: dict[float, str] = {}
        self._yield_timer: str | None = None  # this call's one yield timer, once armed

    # ------------------------------------------------------------------ events

    def tick(self) -> None:
        """Move ``now`` to the live clock, if the step has one (never backwards)."""
        clock = self.ctx.clock
        if clock is not None:
            now = clock()
            if now > self.now:
                self.now = now

    def emit(
        self,
        frame: Frame,
        typ: str,
        key: str | None = None,
        details: dict[str, Any] | None = None,
        *,
        prev: int | None = None,
        update: bool = True,
    ) -> int:
        """Append one history event in ``frame``'s thread; returns its id. Inside a
        Distributed Map's iteration the event belongs to its child execution's history
        (``cx``), or to none (an EXPRESS child workflow)."""
        if frame.get("silent"):
            cx = frame.get("cx")
            if cx is None:
                return int(frame["last"])
            return self.emit_child(cx, frame["last"] if prev is None else prev, typ, key,
                                   details, frame if update else None)  # fmt: skip
        st = self.state
        eid = int(st["next"])
        st["next"] = eid + 1
        ev: Event = {
            "timestamp": self.now,
            "type": typ,
            "id": eid,
            "previousEventId": frame["last"] if prev is None else prev,
        }
        if key is not None:
            ev[key] = details if details is not None else {}
        self.events.append(ev)
        if update:
            frame["last"] = eid
        return eid

    # ------------------------------------------------------------------ child executions

    def open_child(
        self, arn: str, map_run: str, frame: Frame, input_text: str, item_count: int
    ) -> None:
        """A Distributed Map iteration starts its child execution: ``ExecutionStarted``
        (event 1 of its own history) and the frame's events go there from now on."""
        self.state.setdefault("cx", {})[arn] = {"run": map_run, "next": 1, "last": 0}
        self._child_items[arn] = item_count
        frame["cx"] = arn
        frame["last"] = 0
        details = {
            "input": input_text,
            "inputDetails": {"truncated": False},
            "roleArn": self.info.role_arn,
        }
        self.emit_child(arn, 0, "ExecutionStarted", "executionStartedEventDetails", details, frame)

    def close_child(self, arn: str, status: str, details: dict[str, Any]) -> None:
        """The child execution ``arn`` ended (SUCCEEDED, FAILED or ABORTED)."""
        rec = self.state.get("cx", {}).get(arn)
        if rec is None:
            return
        typ = {"SUCCEEDED": "Succeeded", "FAILED": "Failed", "ABORTED": "Aborted"}[status]
        self.emit_child(arn, rec["last"], f"Execution{typ}", f"execution{typ}EventDetails",
                        details, None)  # fmt: skip
        del self.state["cx"][arn]

    def emit_child(
        self,
        arn: str,
        prev: int,
        typ: str,
        key: str | None,
        details: dict[str, Any] | None,
        frame: Frame | None,
    ) -> int:
        rec = self.state["cx"][arn]
        eid = int(rec["next"])
        rec["next"] = eid + 1
        rec["last"] = eid
        ev: Event = {"timestamp": self.now, "type": typ, "id": eid, "previousEventId": prev}
        if key is not None:
            ev[key] = details if details is not None else {}
        self.child_events.setdefault(arn, []).append(ev)
        self._child_runs[arn] = rec["run"]
        if frame is not None:
            frame["last"] = eid
        return eid

    def children(self) -> list[ChildExecution]:
        """This call's events of child executions, per child."""
        return [
            ChildExecution(arn, self._child_runs[arn], events, self._child_items.get(arn, 1))
            for arn, events in self.child_events.items()
        ]

    # ------------------------------------------------------------------ timers

    def schedule_timer(self, timer_id: str, path: list[str], due: float, kind: str) -> None:
        self.state["timers"][timer_id] = {"path": path, "due": due, "kind": kind}
        self.commands.append(ScheduleTimer(timer_id, datetime.fromtimestamp(due, tz=UTC), kind))

    def yield_frame(self, path: list[str]) -> None:
        """The frame at ``path`` stops here and goes on when this call's one yield timer
        (due now) fires. One timer for every frame that yields in the call: 500 Map
        iterations past the budget are one more step, not 500 steps each reading and
        writing the whole state (measured: a 3,000-item Map peaked at 2.6 GB and ~1 s)."""
        timers = self.state["timers"]
        if self._yield_timer is None or self._yield_timer not in timers:
            self._yield_timer = self.new_id("y")
            self.schedule_timer(self._yield_timer, path, self.now, "yield")
            timers[self._yield_timer]["paths"] = [path]
        else:
            timers[self._yield_timer]["paths"].append(path)

    def cancel_timer(self, timer_id: str) -> None:
        if self.state["timers"].pop(timer_id, None) is not None:
            self.commands.append(CancelTimer(timer_id))

    def cancel_task(self, task_id: str) -> None:
        if self.state["tasks"].pop(task_id, None) is not None:
            self.commands.append(CancelTask(task_id))
        self.cancel_timer("to" + task_id)
        self.cancel_timer("hb" + task_id)

    def new_id(self, prefix: str) -> str:
        n = int(self.state.get("seq", 0)) + 1
        self.state["seq"] = n
        return f"{prefix}{n}"

    # ------------------------------------------------------------------ context object

    def context(
        self, frame: Frame, state: State, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The context object ``$$`` for ``state`` running in ``frame``."""
        given = self.ctx.context
        if given is not None:
            return {**extra, **given} if extra else given
        static = self._static
        if static is None:
            # The same for every state of the execution: built once per call. Values are
            # shared, never mutated (evaluators treat JSON values as immutable).
            info = self.info
            static = self._static = {
                "Execution": {
                    "Id": info.execution_arn,
                    "Input": self.state["input"],
                    "StartTime": iso(info.start_time.timestamp()),
                    "Name": info.execution_name,
                    "RoleArn": info.role_arn,
                },
                "StateMachine": {"Id": info.state_machine_arn, "Name": info.state_machine_name},
            }
            if info.redrive_count is not None:
                static["Execution"]["RedriveCount"] = info.redrive_count
        entered = frame.get("etime", self.now)
        text = self._iso.get(entered)
        if text is None:
            text = self._iso[entered] = iso(entered)
        ctx: dict[str, Any] = {
            "Execution": static["Execution"],
            "StateMachine": static["StateMachine"],
            "State": {"Name": state.name, "EnteredTime": text},
        }
        if state.type in _RETRYABLE:
            ctx["State"]["RetryCount"] = sum(frame.get("retries") or ())
        if extra:
            ctx.update(extra)
        return ctx

    def variables(self, frame: Frame) -> dict[str, Any]:
        """Workflow variables visible in ``frame`` (inner scopes shadow outer ones)."""
        out: dict[str, Any] = frame.get("vars_outer") or {}
        own = frame.get("vars")
        if own:
            out = {**out, **own}
        return out


# ---------------------------------------------------------------------- Retry / Catch


def error_matches(names: tuple[str, ...], error: str) -> bool:
    """AWS's ErrorEquals rule: exact names; ``States.ALL`` for all but the terminal errors;
    ``States.TaskFailed`` likewise, except ``States.Timeout``."""
    for name in names:
        if name == error:
            return True
        if name == "States.ALL" and error not in _NOT_MATCHED_BY_ALL:
            return True
        if (
            name == "States.TaskFailed"
            and error != "States.Timeout"
            and error not in _NOT_MATCHED_BY_ALL
        ):
            return True
    return False


def retry_delay(retrier: Retrier, attempt: int, rnd: float) -> float:
    """Seconds before retry number ``attempt`` (0-based) under ``retrier``."""
    delay = retrier.interval_seconds * (retrier.backoff_rate**attempt)
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter == "FULL":
        delay = delay * rnd
    return delay


def find_retrier(state: State, frame: Frame, error: str) -> int | None:
    """Index of the retrier that takes ``error`` and still has attempts left."""
    retries = frame.setdefault("retries", [0] * len(state.retry))
    for i, r in enumerate(state.retry):
        if error_matches(r.error_equals, error):
            if retries[i] < r.max_attempts:
                return i
            return None  # the first matching retrier decides, even when exhausted
    return None


def find_catcher(state: State, error: str) -> Catcher | None:
    """The first catcher whose ErrorEquals takes ``error``."""
    for c in state.catch:
        if error_matches(c.error_equals, error):
            return c
    return None


def error_output(error: str | None, cause: str | None) -> dict[str, Any]:
    """The ``{"Error", "Cause"}`` object a Catch passes on."""
    out: dict[str, Any] = {}
    if error is not None:
        out["Error"] = error
    if cause is not None:
        out["Cause"] = cause
    elif error == "States.Timeout":
        out["Cause"] = ""  # recorded: a timed-out task reaches Catch with an empty cause
    return out


def jitter_random(ctx: StepContext) -> float:
    """A random number in [0, 1) from the context (deterministic under test)."""
    try:
        return float(ctx.random())
    except Exception:  # pragma: no cover - a context without randomness
        return _random.random()
