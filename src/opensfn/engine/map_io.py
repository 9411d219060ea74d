"""A Distributed Map's settings and its S3 I/O, as the engine sees them.

ItemReader and ResultWriter run as *internal tasks* (``tasks.INTERNAL``): durable like
any task (a restart re-queues them), answered by the runtime's ``itemio`` dispatcher,
and recorded by no history event, as on AWS, whose histories show only the Map Run's
events around the read and the write. This module evaluates what those tasks need,
turns the reader's answer into items (``asl.item_reader``) and groups them for
ItemBatcher; ``branches`` drives the phases.
"""

from __future__ import annotations

from typing import Any

from opensfn.asl import item_reader, jsonpath, payload
from opensfn.asl.definition import ItemIO, State
from opensfn.engine import data
from opensfn.engine.protocol import ScheduleTask
from opensfn.engine.run import Frame, Run, dumps, iso
from opensfn.errors import WorkflowError


def as_number(value: Any, kind: type[int] | type[float]) -> int | float | None:
    """A number, or a string holding one (AWS parses numeric strings in ``*Path`` fields)."""
    if isinstance(value, bool):
        return None
    if kind is int and isinstance(value, int):
        return value
    if kind is float and isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            return None
    return None


def plain(value: Any) -> str:
    """A value as AWS quotes it in messages: strings bare, the rest as JSON."""
    return value if isinstance(value, str) else dumps(value)


def int_setting(
    run: Run,
    frame: Frame,
    state: State,
    eff: Any,
    value: Any,
    path: jsonpath.JsonPath | None,
    name: str,
) -> int:
    """An integer Map setting: its literal (a JSONata template in JSONata), or the value
    its ``<name>Path`` selects (0 when absent)."""
    if data.is_jsonata(state) and value is not None and not isinstance(value, int | float):
        value = data.evaluate(run, frame, value, data.binding(run, frame, state))
    if path is None:
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
    found = payload.apply_input_path(path, eff, run.context(frame, state), run.variables(frame))
    number = as_number(found, int)
    if number is None:
        raise WorkflowError(
            "States.Runtime",
            f'The {name}Path field refers to value "{plain(found)}" which is not a valid integer: {path.text}',
        )
    return int(number)


def _template(run: Run, frame: Frame, state: State, template: Any, eff: Any) -> Any:
    """A reader/writer/batcher template's value (Parameters against the effective input
    in JSONPath, a JSONata template against ``$states``)."""
    if template is None:
        return None
    if data.is_jsonata(state):
        return data.evaluate(run, frame, template, data.binding(run, frame, state))
    return template.evaluate(eff, run.context(frame, state), run.variables(frame), run.ctx)


def arguments(run: Run, frame: Frame, state: State, io: ItemIO, eff: Any) -> Any:
    """The evaluated ``Parameters`` / ``Arguments`` of an ItemReader or ResultWriter."""
    value = _template(run, frame, state, io.arguments, eff)
    return value if value is not None else {}


def config(run: Run, frame: Frame, state: State, io: ItemIO, eff: Any) -> dict[str, Any]:
    """The evaluated ``ReaderConfig`` / ``WriterConfig``, ``MaxItemsPath`` resolved into
    ``MaxItems``. Raises ItemReaderError for a MaxItems AWS refuses."""
    if io.config is None:
        value: Any = {}
    elif data.is_jsonata(state):
        value = data.evaluate(run, frame, io.config, data.binding(run, frame, state))
    else:
        value = dict(io.config)
    if not isinstance(value, dict):
        raise item_reader.ItemReaderError("The ReaderConfig field must be an object.")
    if io.max_items_path is not None:
        found = payload.apply_input_path(
            io.max_items_path, eff, run.context(frame, state), run.variables(frame)
        )
        number = as_number(found, int)
        value.pop("MaxItemsPath", None)
        value["MaxItems"] = number if number is not None else found
    if "MaxItems" in value:
        item_reader.max_items(value["MaxItems"])
    return value


def schedule(run: Run, frame: Frame, path: list[str], resource: str, params: Any) -> str:
    """Schedule an internal task for the Map in ``frame``; returns its id."""
    from opensfn.engine.tasks import INTERNAL

    task_id = run.new_id("t")
    run.state["tasks"][task_id] = {
        "path": path,
        "kind": INTERNAL,
        "service": "",
        "action": "",
        "resource": resource,
        "params": params,
        "timeout": None,
        "heartbeat": None,
        "token": False,
        "name": "",
        "started": False,
    }
    frame["task"] = task_id
    run.commands.append(ScheduleTask(task_id, resource, params))
    return task_id


# ---------------------------------------------------------------------- ItemBatcher


def batches(run: Run, frame: Frame, state: State, eff: Any, items: list[Any]) -> list[Any]:
    """The child inputs of a Map with an ItemBatcher (``items`` already selected)."""
    b = state.item_batcher
    if b is None:
        return items
    per_batch = int_setting(
        run, frame, state, eff, b.max_items, b.max_items_path, "MaxItemsPerBatch"
    )
    max_bytes = int_setting(
        run, frame, state, eff, b.max_bytes, b.max_bytes_path, "MaxInputBytesPerBatch"
    )
    batch_input = _template(run, frame, state, b.batch_input, eff)
    return item_reader.batch(
        items,
        per_batch if per_batch > 0 else None,
        max_bytes if max_bytes > 0 else None,
        batch_input,
        has_batch_input=b.batch_input is not None,
    )


# ---------------------------------------------------------------------- ResultWriter


def record(run: Run, m: dict[str, Any], i: int, child: Frame) -> dict[str, Any]:
    """One child's entry in the ResultWriter's files (its execution, as AWS lists it)."""
    map_run: str = m["run"]
    head = map_run.rpartition(":")[0]
    region_account = ":".join(head.split(":")[3:5])
    name_part = head.split(":mapRun:", 1)[1]
    name = run.ctx.new_uuid()
    out: dict[str, Any] = {
        "ExecutionArn": f"arn:aws:states:{region_account}:execution:{name_part}:{name}",
        "Input": dumps(m["inputs"][i]),
        "InputDetails": {"Included": True},
        "Name": name,
    }
    if child["phase"] == "done":
        out["Output"] = dumps(child["out"])
        out["OutputDetails"] = {"Included": True}
        status, reason = "SUCCEEDED", "Execution is SUCCEEDED and cannot be redriven"
    else:
        out["Error"] = child.get("err")
        out["Cause"] = child.get("cause")
        status, reason = "FAILED", "Execution can be redriven by the Map Run"
    out.update(
        RedriveCount=0,
        RedriveStatus="NOT_REDRIVABLE" if status == "SUCCEEDED" else "REDRIVABLE_BY_MAP_RUN",
        RedriveStatusReason=reason,
        StartDate=iso(m["starts"][i]),
        StateMachineArn=f"arn:aws:states:{region_account}:stateMachine:{name_part}",
        Status=status,
        StopDate=iso(run.now),
    )
    return out


def writer_task(
    run: Run, frame: Frame, state: State, m: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    """(the internal write task's parameters, the Map's output once written)."""
    io = state.result_writer
    assert io is not None and io.resource is not None
    args = arguments(run, frame, state, io, m["eff"])
    cfg = config(run, frame, state, io, m["eff"])
    bucket = str(args.get("Bucket", ""))
    prefix = str(args.get("Prefix", "") or "")
    run_id = str(m["run"]).rpartition(":")[2]
    folder = f"{prefix}/{run_id}" if prefix else run_id
    records = [r for r in m["recs"] if r is not None]
    files = item_reader.result_files(bucket, folder, m["run"], records, cfg)
    params = {"Resource": io.resource, "Bucket": bucket, "Files": files}
    output = {
        "MapRunArn": m["run"],
        "ResultWriterDetails": {"Bucket": bucket, "Key": f"{folder}/manifest.json"},
    }
    return params, output


def preview(run: Run, frame: Frame, state: State, m: dict[str, Any]) -> list[Any]:
    """A ResultWriter without a Resource: the results, transformed, as the output."""
    io = state.result_writer
    assert io is not None
    cfg = config(run, frame, state, io, m["eff"])
    records = [r for r in m["recs"] if r is not None]
    return item_reader.transform(records, str(cfg.get("Transformation") or "COMPACT"))
