"""Parallel and Map: child frames, their history events, and how their results combine.

Children run in order, each until it waits or ends, so a history without waits is the
sequence AWS records at ``MaxConcurrency`` 1. The ``previousEventId`` rules follow the
recorded histories: a child's first event points at ``ParallelStateStarted`` /
``MapIterationStarted``; an iteration's ``MapIterationSucceeded`` points at its last
event, and the next iteration starts from that same event; ``*StateSucceeded`` and
``*StateExited`` both point at the last child event.

A Distributed Map with an ItemReader waits in phase ``reader`` (after MapRunStarted)
for its internal read task, and one with a ResultWriter in phase ``writer`` (before
MapRunSucceeded) for its internal write task; see ``map_io``.
"""

from __future__ import annotations

from typing import Any

import orjson

from opensfn.asl import item_reader, payload
from opensfn.asl.definition import State
from opensfn.engine import data, map_io
from opensfn.engine.flow import fail_state, goto_exit, state_of
from opensfn.engine.run import Frame, Run, dumps
from opensfn.errors import WorkflowError

RUNNABLE = frozenset({"enter", "exec", "children"})


def begin(run: Run, frame: Frame, path: list[str], state: State) -> None:
    """Execute a Parallel or Map state: start its children."""
    if state.type == "Parallel":
        _begin_parallel(run, frame, state)
        frame["phase"] = "children"
    else:
        _begin_map(run, frame, path, state)


def progress(run: Run, frame: Frame, path: list[str]) -> bool:
    """Advance the children; True when the frame left the ``children`` phase."""
    state = state_of(run, frame)
    if state.type == "Parallel":
        _progress_parallel(run, frame, path, state)
    else:
        _progress_map(run, frame, path, state)
    return bool(frame["phase"] != "children")


def _child(scope_id: str, run: Run, value: Any, last: int, parent: Frame, **extra: Any) -> Frame:
    """A new thread; it sees the parent's variables read-only and assigns its own."""
    scope = run.machine.scope(scope_id)
    child: Frame = {
        "scope": scope_id,
        "st": scope.start_at,
        "in": value,
        "last": last,
        "phase": "enter",
    }
    outer = run.variables(parent)
    if outer:
        child["vars_outer"] = outer
    child.update(extra)
    if parent.get("silent"):  # inside a Distributed Map's iteration: not the parent's history
        child["silent"] = True
        if "cx" not in extra and parent.get("cx") is not None:  # but its child execution's
            child["cx"] = parent["cx"]
    return child


def _run_child(run: Run, child: Frame, path: list[str]) -> None:
    if child["phase"] in RUNNABLE:
        from opensfn.engine.interpreter import advance

        advance(run, child, path)


def abort_children(run: Run, frame: Frame, path: list[str]) -> None:
    """Cancel every timer and task below ``frame`` (its children were given up)."""
    depth = len(path)
    for tid, t in list(run.state["timers"].items()):
        # A yield timer shared with frames elsewhere stays: it skips the ones given up.
        if all(len(p) > depth and p[:depth] == path for p in t.get("paths") or [t["path"]]):
            run.cancel_timer(tid)
    for task_id, t in list(run.state["tasks"].items()):
        if len(t["path"]) > depth and t["path"][:depth] == path:
            run.cancel_task(task_id)
    if run.state.get("cx"):  # child executions of Distributed Maps given up: ABORTED
        for child in frame.get("children", {}).values():
            abort_child_executions(run, child)
    frame["children"] = {}


def abort_child_executions(run: Run, frame: Frame) -> None:
    """End every child execution still open in ``frame``'s subtree with ExecutionAborted."""
    cx = frame.get("cx")
    if cx is not None and cx in run.state.get("cx", {}):
        run.close_child(cx, "ABORTED", {})
    for child in frame.get("children", {}).values():
        abort_child_executions(run, child)


# ---------------------------------------------------------------------- Parallel


def _begin_parallel(run: Run, frame: Frame, state: State) -> None:
    eff = data.state_input(run, frame, state)
    started = run.emit(frame, "ParallelStateStarted")
    extra = {"text": frame["text"]} if eff is frame["in"] and "text" in frame else {}
    frame["children"] = {
        str(i): _child(bid, run, eff, started, frame, **extra)
        for i, bid in enumerate(state.branches)
    }
    frame["results"] = [None] * len(state.branches)
    frame["texts"] = [None] * len(state.branches)


def _progress_parallel(run: Run, frame: Frame, path: list[str], state: State) -> None:
    children: dict[str, Frame] = frame["children"]
    for key in list(children):
        child = children[key]
        _run_child(run, child, [*path, key])
        if child["phase"] == "done":
            frame["results"][int(key)] = child["out"]
            frame["texts"][int(key)] = child.get("text")
            frame["last"] = child["last"]
            del children[key]
        elif child["phase"] == "failed":
            frame["last"] = child["last"]
            _abort_events(run, frame, child, [c for k, c in children.items() if k != key])
            abort_children(run, frame, path)
            fail_state(
                run, frame, path, state, child.get("err"), child.get("cause"), "ParallelStateFailed"
            )
            return
    if children:
        return
    run.emit(frame, "ParallelStateSucceeded", update=False)
    results = frame.pop("results")
    texts = frame.pop("texts")
    raw = None
    if any(t is not None for t in texts):
        # AWS joins the branches' output texts as they are.
        raw = (
            "["
            + ",".join(
                t if t is not None else dumps(r) for t, r in zip(texts, results, strict=True)
            )
            + "]"
        )
    _finish(run, frame, path, state, results, raw)


def _finish(
    run: Run,
    frame: Frame,
    path: list[str],
    state: State,
    results: list[Any],
    raw: str | None = None,
) -> None:
    try:
        out, assigned = data.finish(run, frame, state, results)
    except WorkflowError as exc:
        from opensfn.engine.flow import with_prefix

        fail_state(run, frame, path, state, exc.error, with_prefix(frame, state, exc))
        return
    goto_exit(run, frame, state, out, raw=raw if out is results else None, assigned=assigned)


# ---------------------------------------------------------------------- Map


_int_setting = map_io.int_setting
_as_number = map_io.as_number
_plain = map_io.plain


def _tolerance(run: Run, frame: Frame, state: State, eff: Any) -> tuple[int | None, float | None]:
    count: int | None = None
    pct: float | None = None
    if state.tolerated_failure_count_path is not None or state.tolerated_failure_count is not None:
        count = _int_setting(
            run,
            frame,
            state,
            eff,
            state.tolerated_failure_count,
            state.tolerated_failure_count_path,
            "ToleratedFailureCount",
        )
        if count < 0:
            raise WorkflowError("States.Runtime", "ToleratedFailureCount cannot be negative.")
    p = state.tolerated_failure_percentage_path
    if p is not None:
        found = payload.apply_input_path(p, eff, run.context(frame, state), run.variables(frame))
        number = _as_number(found, float)
        if number is None:
            raise WorkflowError(
                "States.Runtime",
                f'The ToleratedFailurePercentagePath field refers to value "{_plain(found)}" '
                f"which is not a valid float: {p.text}",
            )
        pct = float(number)
    elif state.tolerated_failure_percentage is not None:
        value = state.tolerated_failure_percentage
        if data.is_jsonata(state):
            value = data.evaluate(run, frame, value, data.binding(run, frame, state))
        if isinstance(value, int | float) and not isinstance(value, bool):
            pct = float(value)
    if pct is not None and not 0 <= pct <= 100:
        raise WorkflowError(
            "States.Runtime", "ToleratedFailurePercentage must be between 0 and 100."
        )
    return count, pct


def _jsonata_items(run: Run, frame: Frame, state: State) -> Any:
    from opensfn.asl import jsonata

    if state.items is None:
        items = frame["in"]
        if not isinstance(items, list):
            raise WorkflowError(
                "States.QueryEvaluationError",
                f"Map state input must be an array but was: {dumps(items)}",
            )
        return items
    items = data.evaluate(run, frame, state.items, data.binding(run, frame, state))
    expr = state.items.root.expression
    if not isinstance(items, list) and expr is not None:
        jsonata.check_type(expr, items, "array", "Items")
    return items


def _begin_map(run: Run, frame: Frame, path: list[str], state: State) -> None:
    reader = state.item_reader
    items: Any = None
    if data.is_jsonata(state):
        eff = frame["in"]
        if reader is None:
            items = _jsonata_items(run, frame, state)
    else:
        eff = data.input_path(run, frame, state, frame["in"])
        # Recorded: with an ItemReader, ItemsPath is not applied (even one that selects
        # nothing); the items are the reader's.
        if reader is None:
            items = eff
            if state.items_path is not None:
                items = payload.apply_input_path(
                    state.items_path, eff, run.context(frame, state), run.variables(frame)
                )
    if reader is None and not isinstance(items, list):
        raise WorkflowError(
            "States.Runtime",
            f"Item selection path '{state.items_path.text if state.items_path else '$'}' "
            f"does not resolve to an array: {dumps(items)}",
        )
    reader_args = map_io.arguments(run, frame, state, reader, eff) if reader else None
    conc = _int_setting(
        run, frame, state, eff, state.max_concurrency, state.max_concurrency_path, "MaxConcurrency"
    )
    dist = state.processor_mode == "DISTRIBUTED"
    # Recorded: a Map reading its items reports length 0 (they are not known yet).
    length = len(items) if isinstance(items, list) else 0
    run.emit(frame, "MapStateStarted", "mapStateStartedEventDetails", {"length": length})
    # AWS reads the tolerated-failure settings after recording MapStateStarted.
    count, pct = _tolerance(run, frame, state, eff)
    map_run = None
    run_started = None
    if dist:
        info = run.info
        arn_parts = info.state_machine_arn.split(":")
        map_run = (
            f"arn:aws:states:{arn_parts[3]}:{arn_parts[4]}:mapRun:{info.state_machine_name}/"
            f"{state.label or run.ctx.new_uuid()}:{run.ctx.new_uuid()}"
        )
        run_started = run.emit(
            frame, "MapRunStarted", "mapRunStartedEventDetails", {"mapRunArn": map_run}
        )
    frame["children"] = {}
    m: dict[str, Any] = {
        "items": [],
        "eff": eff,
        "next": 0,
        "res": [],
        "running": 0,
        "fails": 0,
        "conc": conc,
        "count": count,
        "pct": pct,
        "dist": dist,
        "run": map_run,
        "run_started": run_started,
    }
    frame["map"] = m
    if reader is None:
        _start_items(run, frame, path, state, items)
        return
    # The read happens inside the Map Run: a reader failure is the Map Run's.
    try:
        cfg = map_io.config(run, frame, state, reader, eff)
    except item_reader.ItemReaderError as exc:
        _map_run_failed(run, frame, path, state, item_reader.READER_FAILED, exc.cause)
        return
    m["reader"] = {"resource": reader.resource or "", "config": cfg}
    params = {"Resource": reader.resource, "Parameters": reader_args, "ReaderConfig": cfg}
    map_io.schedule(run, frame, path, item_reader.READER_RESOURCE, params)
    frame["phase"] = "reader"


def _start_items(run: Run, frame: Frame, path: list[str], state: State, items: list[Any]) -> None:
    """The items are known: select and batch them if batched, then run the iterations."""
    m = frame["map"]
    if state.item_batcher is not None:
        try:
            selected = [
                _item_input(run, frame, state, m["eff"], i, item) for i, item in enumerate(items)
            ]
            items = map_io.batches(run, frame, state, m["eff"], selected)
        except WorkflowError as exc:
            from opensfn.engine.flow import with_prefix

            frame.pop("map", None)
            fail_state(run, frame, path, state, exc.error, with_prefix(frame, state, exc))
            return
        m["selected"] = True
    m["items"] = items
    m["res"] = [None] * len(items)
    if m["dist"] and state.result_writer is not None:
        m["inputs"] = [None] * len(items)
        m["starts"] = [0.0] * len(items)
        m["recs"] = [None] * len(items)
    frame["phase"] = "children"


def _map_run_failed(
    run: Run, frame: Frame, path: list[str], state: State, error: str | None, cause: str | None
) -> None:
    """The Map Run failed (its reader, its writer): MapRunFailed, then the state fails."""
    m = frame.pop("map", None)
    frame.pop("task", None)
    if m is not None and m["dist"]:
        details: dict[str, Any] = {}
        if error is not None:
            details["error"] = error
        if cause is not None:
            details["cause"] = cause
        run.emit(frame, "MapRunFailed", "mapRunFailedEventDetails", details)
    fail_state(run, frame, path, state, error, cause, "MapStateFailed")


def on_internal_answer(
    run: Run,
    frame: Frame,
    path: list[str],
    task_id: str,
    output: str | None,
    error: str | None,
    cause: str | None,
) -> None:
    """The runtime answered the Map's reader or writer task (``output`` is None when it
    failed)."""
    run.cancel_task(task_id)
    m = frame.get("map")
    phase = frame["phase"]
    if m is None or frame.get("task") != task_id or phase not in ("reader", "writer"):
        return
    frame.pop("task", None)
    state = state_of(run, frame)
    if phase == "reader":
        if output is None:
            _map_run_failed(run, frame, path, state, error or item_reader.READER_FAILED, cause)
            return
        reader = m.pop("reader")
        try:
            items = item_reader.parse_items(
                reader["resource"], reader["config"], orjson.loads(output)
            )
        except item_reader.ItemReaderError as exc:
            _map_run_failed(run, frame, path, state, item_reader.READER_FAILED, exc.cause)
            return
        _start_items(run, frame, path, state, items)
        return
    if output is None:
        _map_run_failed(run, frame, path, state, error or item_reader.WRITER_FAILED, cause)
        return
    _map_succeeded(run, frame, path, state, m.pop("written"))


def _map_succeeded(run: Run, frame: Frame, path: list[str], state: State, result: Any) -> None:
    m = frame.pop("map")
    if m["dist"]:
        run.emit(frame, "MapRunSucceeded")
        run.emit(frame, "MapStateSucceeded")
        # Since November 2024 AWS chains a Distributed Map's MapStateExited to its
        # MapRunStarted event (recordings made before chain it to MapRunSucceeded).
        if m.get("run_started") is not None:
            frame["last"] = m["run_started"]
    else:
        run.emit(frame, "MapStateSucceeded", update=False)
    _finish(run, frame, path, state, result)


def _map_done(run: Run, frame: Frame, path: list[str], state: State) -> None:
    """Every iteration ended well: write the results if asked, then succeed."""
    m = frame["map"]
    writer = state.result_writer
    if not m["dist"] or writer is None:
        _map_succeeded(run, frame, path, state, m["res"])
        return
    try:
        if writer.resource is None:
            _map_succeeded(run, frame, path, state, map_io.preview(run, frame, state, m))
            return
        params, m["written"] = map_io.writer_task(run, frame, state, m)
    except item_reader.ItemReaderError as exc:
        _map_run_failed(run, frame, path, state, item_reader.WRITER_FAILED, exc.cause)
        return
    except WorkflowError as exc:
        _map_run_failed(run, frame, path, state, exc.error, exc.cause)
        return
    map_io.schedule(run, frame, path, item_reader.WRITER_RESOURCE, params)
    frame["phase"] = "writer"


def _item_input(run: Run, frame: Frame, state: State, eff: Any, index: int, item: Any) -> Any:
    if state.item_selector is None:
        return item
    extra = {"Map": {"Item": {"Index": index, "Value": item}}}
    if data.is_jsonata(state):
        return data.evaluate(
            run, frame, state.item_selector, data.binding(run, frame, state, extra)
        )
    return state.item_selector.evaluate(
        eff, run.context(frame, state, extra), run.variables(frame), run.ctx
    )


# AWS: "In Inline mode, the Map state supports up to 40 concurrent iterations." It also
# keeps what every step reads and writes small: a Map of 1,000 Tasks holds 40 running
# iterations in its state, not 1,000.
INLINE_CONCURRENCY = 40


def _progress_map(run: Run, frame: Frame, path: list[str], state: State) -> None:
    m = frame["map"]
    children: dict[str, Frame] = frame["children"]
    for key in list(children):
        _run_child(run, children[key], [*path, key])
        if _settle(run, frame, path, state, key):
            return
    # Iterations start in batches as concurrency allows: AWS records every
    # MapIterationStarted of a batch before the iterations' own events. An inline Map runs
    # at most INLINE_CONCURRENCY iterations at once, as AWS's does.
    conc = m["conc"]
    if not m["dist"] and not 0 < conc <= INLINE_CONCURRENCY:
        conc = INLINE_CONCURRENCY
    while True:
        batch: list[str] = []
        while m["next"] < len(m["items"]) and (conc <= 0 or m["running"] < conc):
            i = m["next"]
            m["next"] = i + 1
            try:
                value = m["items"][i]
                if not m.get("selected"):
                    value = _item_input(run, frame, state, m["eff"], i, value)
            except WorkflowError as exc:
                from opensfn.engine.flow import with_prefix

                abort_children(run, frame, path)
                cause = with_prefix(frame, state, exc)
                fail_state(run, frame, path, state, exc.error, cause, "MapStateFailed")
                return
            if m["dist"]:
                started = frame["last"]
            else:
                started = run.emit(
                    frame,
                    "MapIterationStarted",
                    "mapIterationStartedEventDetails",
                    {"index": i, "name": state.name},
                    update=False,
                )
            key = str(i)
            if m["dist"]:  # a child workflow: its own history (STANDARD) or none (EXPRESS)
                children[key] = _child(
                    state.processor or "", run, value, started, frame, idx=i, silent=True, cx=None
                )
                if state.processor_execution_type == "STANDARD":
                    _open_child_execution(run, m, state, children[key], value)
            else:
                children[key] = _child(state.processor or "", run, value, started, frame, idx=i)
            m["running"] += 1
            if "inputs" in m:
                m["inputs"][i] = value
                m["starts"][i] = run.now
            batch.append(key)
        if not batch:
            break
        for key in batch:
            _run_child(run, children[key], [*path, key])
            if _settle(run, frame, path, state, key):
                return
    if m["running"]:
        return
    _map_done(run, frame, path, state)


def _open_child_execution(
    run: Run, m: dict[str, Any], state: State, child: Frame, value: Any
) -> None:
    """Start the child execution of a Distributed Map iteration: named by a new UUID,
    ``…:execution:<machine>/<map label>:<name>`` (the label part of its Map Run's ARN)."""
    prefix, _, rest = str(m["run"]).partition(":mapRun:")
    arn = f"{prefix}:execution:{rest.rsplit(':', 1)[0]}:{run.ctx.new_uuid()}"
    count = 1
    if state.item_batcher is not None and isinstance(value, dict):
        count = len(value.get("Items") or ())
    run.open_child(arn, m["run"], child, dumps(value), count)


def _close_child_execution(run: Run, child: Frame) -> None:
    cx = child.get("cx")
    if cx is None:
        return
    if child["phase"] == "done":
        text = child.get("text")
        output = text if text is not None else dumps(child["out"])
        run.close_child(cx, "SUCCEEDED", {"output": output, "outputDetails": {"truncated": False}})
    else:
        details = {
            k: child[f]
            for k, f in (("error", "err"), ("cause", "cause"))
            if child.get(f) is not None
        }
        run.close_child(cx, "FAILED", details)


def _settle(run: Run, frame: Frame, path: list[str], state: State, key: str) -> bool:
    """Record a finished iteration; True when the Map itself failed."""
    m = frame["map"]
    child = frame["children"][key]
    phase = child["phase"]
    if phase not in ("done", "failed"):
        return False
    i = child["idx"]
    del frame["children"][key]
    if m["dist"]:
        _close_child_execution(run, child)
    m["running"] -= 1
    last_one = m["next"] >= len(m["items"]) and m["running"] == 0
    if "recs" in m:
        m["recs"][i] = map_io.record(run, m, i, child)
    if phase == "done":
        m["res"][i] = child["out"]
        if m["dist"]:
            return False
        ev = run.emit(
            frame,
            "MapIterationSucceeded",
            "mapIterationSucceededEventDetails",
            {"index": i, "name": state.name},
            prev=child["last"],
            update=False,
        )
        frame["last"] = ev if last_one else child["last"]
        return False
    m["fails"] += 1
    if not m["dist"]:
        run.emit(
            frame,
            "MapIterationFailed",
            "mapIterationFailedEventDetails",
            {"index": i, "name": state.name},
            prev=child["last"],
            update=False,
        )
        frame["last"] = child["last"]
    if _tolerated(m):
        m["res"][i] = {"Error": child.get("err"), "Cause": child.get("cause")}
        return False
    _abort_iterations(run, frame, path, state, child)
    error, cause = child.get("err"), child.get("cause")
    if m["count"] is not None or m["pct"] is not None:
        error = "States.ExceedToleratedFailureThreshold"
        cause = "The specified tolerated failure threshold was exceeded"
    frame.pop("map", None)
    if m["dist"]:
        run.emit(
            frame, "MapRunFailed", "mapRunFailedEventDetails", {"error": error, "cause": cause}
        )
    fail_state(run, frame, path, state, error, cause, "MapStateFailed")
    return True


def _tolerated(m: dict[str, Any]) -> bool:
    if m["count"] is None and m["pct"] is None:
        return False
    if m["count"] is not None and m["fails"] <= m["count"]:
        return True
    total = len(m["items"]) or 1
    return m["pct"] is not None and m["fails"] * 100.0 / total <= m["pct"]


def _abort_iterations(run: Run, frame: Frame, path: list[str], state: State, failed: Frame) -> None:
    if not frame["map"]["dist"]:
        _abort_events(run, frame, failed, list(frame["children"].values()), state)
    abort_children(run, frame, path)


# The event AWS records when a branch or iteration is given up while in a state of this
# type (states that wait on something); other states end without one.
_ABORTED = {
    "Task": "TaskStateAborted",
    "Wait": "WaitStateAborted",
    "Map": "MapStateAborted",
    "Parallel": "ParallelStateAborted",
}


def _abort_events(
    run: Run, frame: Frame, failed: Frame, others: list[Frame], map_state: State | None = None
) -> None:
    """What AWS records when one child failed and the others are given up: the failed
    child's Task is aborted too; each other child gets ``MapIterationAborted`` (Map) and
    its state's ``*StateAborted``. All chain to the failed child's last event."""
    prev = failed["last"]
    if failed.get("st") and state_of(run, failed).type == "Task":
        run.emit(frame, "TaskStateAborted", prev=prev, update=False)
    for child in others:
        if map_state is not None:
            run.emit(
                frame,
                "MapIterationAborted",
                "mapIterationAbortedEventDetails",
                {"index": child["idx"], "name": map_state.name},
                prev=prev,
                update=False,
            )
        if child.get("st") and child["phase"] not in ("done", "failed", "enter"):
            typ = _ABORTED.get(state_of(run, child).type)
            if typ is not None:
                run.emit(frame, typ, prev=prev, update=False)
