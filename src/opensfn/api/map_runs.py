"""Map Run operations: DescribeMapRun, ListMapRuns, UpdateMapRun, and ListExecutions of a run.

A Map Run ARN is ``…:mapRun:<machine>/<map label>:<uuid>``; its "state machine" (what
ListMapRuns reports) is ``…:stateMachine:<machine>/<map label>``. opensfn runs a
Distributed Map's iterations inside the parent execution; a STANDARD child workflow's
history is recorded as an execution of its own (``…:execution:<machine>/<map label>:
<uuid>``), which ListExecutions with ``mapRunArn`` lists. The run's counts are derived
from its item count and status.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from opensfn.api import arns, pagination
from opensfn.api.context import RequestContext
from opensfn.errors import ExecutionDoesNotExist, InvalidArn, ResourceNotFound, ValidationException
from opensfn.store import map_runs as store_runs

# Map run status -> the count (of items and of child executions) its items are in.
# Rules: a RUNNING run's items are all "running"; an ended run's are all in the one
# bucket of its status.
_BUCKET = {"RUNNING": "running", "SUCCEEDED": "succeeded", "FAILED": "failed", "ABORTED": "aborted"}
_COUNT_KEYS = ("pending", "running", "succeeded", "failed", "timedOut", "aborted")


def _check_arn(arn: str) -> None:
    parsed = arns.parse(arn)
    if parsed.kind != "mapRun":
        raise InvalidArn(f"Invalid Arn: 'Resource type not valid in this context: {parsed.kind}'")
    if len(parsed.parts) != 2 or "/" not in parsed.parts[0]:
        raise InvalidArn(f"Invalid Arn: 'Invalid ARN resource: {arn}'")


def _get(ctx: RequestContext, arn: str) -> store_runs.MapRunRecord:
    _check_arn(arn)
    run = store_runs.get(ctx.store, arn)
    if run is None:
        raise ResourceNotFound(f"Resource not found: '{arn}'")
    return run


def _execution_arn(ctx: RequestContext, execution_id: int) -> str:
    rows = ctx.store.rows("SELECT arn FROM executions WHERE id = ?", (execution_id,))
    return str(rows[0][0]) if rows else ""


def _counts(run: store_runs.MapRunRecord) -> dict[str, int]:
    counts = dict.fromkeys(_COUNT_KEYS, 0)
    counts[_BUCKET.get(run.status, "running")] = run.total
    counts["total"] = run.total
    counts["resultsWritten"] = 0
    counts["failuresNotRedrivable"] = 0
    counts["pendingRedrive"] = 0
    return counts


# Child execution status -> its count key.
_STATUS_KEYS = {
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "TIMED_OUT": "timedOut",
    "ABORTED": "aborted",
}


def _child_counts(ctx: RequestContext, run: store_runs.MapRunRecord) -> dict[str, Any]:
    """``itemCounts`` and ``executionCounts``: from the run's child executions when they
    are recorded (STANDARD child workflows), else derived from the run's status."""
    rows = ctx.store.rows(
        "SELECT status, COUNT(*), COALESCE(SUM(item_count), 0) FROM executions "
        "WHERE map_run_arn = ? GROUP BY status",
        (run.arn,),
    )
    if not rows:
        return {"itemCounts": _counts(run), "executionCounts": _counts(run)}
    items, executions = _counts(run), _counts(run)
    for key in _COUNT_KEYS:
        items[key] = executions[key] = 0
    for status, n, in_items in rows:
        key = _STATUS_KEYS.get(str(status), "running")
        executions[key] += int(n)
        items[key] += int(in_items)
    started_items = sum(items[k] for k in _COUNT_KEYS)
    items["pending"] = max(0, run.total - started_items)
    executions["total"] = sum(executions[k] for k in _COUNT_KEYS)
    return {"itemCounts": items, "executionCounts": executions}


def machine_of_run(map_run_arn: str) -> str:
    """The ``…:stateMachine:<machine>/<label>`` ARN of a map run."""
    prefix, _, rest = map_run_arn.partition(":mapRun:")
    return f"{prefix}:stateMachine:{rest.rsplit(':', 1)[0]}"


async def describe_map_run(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """DescribeMapRun."""
    run = _get(ctx, p["mapRunArn"])
    out: dict[str, Any] = {
        "mapRunArn": run.arn,
        "executionArn": _execution_arn(ctx, run.execution_id),
        "status": run.status,
        "startDate": run.start_date,
    }
    if run.stop_date is not None:
        out["stopDate"] = run.stop_date
    out.update(
        {
            "maxConcurrency": run.max_concurrency,
            "toleratedFailurePercentage": run.tolerated_failure_percentage,
            "toleratedFailureCount": run.tolerated_failure_count,
            **_child_counts(ctx, run),
            "redriveCount": 0,
        }
    )
    return out


async def list_map_runs(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """ListMapRuns of one execution, in start order."""
    arn = p["executionArn"]
    arns.execution(arn)
    rec = ctx.store.get_execution(arn)
    if rec is None:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
    after = pagination.decode("ListMapRuns", p.get("nextToken")) or 0
    size = pagination.page_size(p)
    rows = store_runs.list_for(ctx.store, rec.id, int(after), size + 1)
    items = []
    for _, run in rows[:size]:
        item: dict[str, Any] = {
            "executionArn": arn,
            "mapRunArn": run.arn,
            "stateMachineArn": machine_of_run(run.arn),
            "startDate": run.start_date,
        }
        if run.stop_date is not None:
            item["stopDate"] = run.stop_date
        items.append(item)
    out: dict[str, Any] = {"mapRuns": items}
    if len(rows) > size:
        out["nextToken"] = pagination.encode("ListMapRuns", rows[size - 1][0])
    return out


async def update_map_run(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """UpdateMapRun: concurrency and failure tolerance of a run."""
    keys = ("maxConcurrency", "toleratedFailurePercentage", "toleratedFailureCount")
    if all(p.get(k) is None for k in keys):
        raise ValidationException(
            "At least one of the parameters maxConcurrency, toleratedFailurePercentage, "
            "toleratedFailureCount must be specified"
        )
    run = _get(ctx, p["mapRunArn"])
    await ctx.store.submit(
        store_runs.update(
            run.arn,
            p.get("maxConcurrency"),
            p.get("toleratedFailurePercentage"),
            p.get("toleratedFailureCount"),
        )
    )
    return {}


def check_child_listing(ctx: RequestContext, p: dict[str, Any]) -> None:
    """ListExecutions with ``mapRunArn`` (which lists that run's STANDARD child
    executions; AWS lists no EXPRESS ones either): a known run, and no machine beside it."""
    if p.get("stateMachineArn") is not None:
        raise ValidationException("Must provide only one of StateMachine ARN or MapRun ARN")
    _get(ctx, p["mapRunArn"])


def child_machine(ctx: RequestContext, map_run_arn: str) -> tuple[str, dict[str, Any], Any]:
    """(label, item processor definition, parent revision) of a Map Run's child workflows."""
    run = _get(ctx, map_run_arn)
    rows = ctx.store.rows(
        "SELECT machine_arn, revision_id FROM executions WHERE id = ?", (run.execution_id,)
    )
    revision = ctx.store.get_revision(*rows[0]) if rows else None
    if revision is None:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{map_run_arn}'")
    label = map_run_arn.rsplit(":", 1)[0].rsplit("/", 1)[-1]
    return label, processor_of(revision.definition, label) or {}, revision


def processor_of(definition: str, label: str) -> dict[str, Any] | None:
    """The item processor (without its ProcessorConfig) of the definition's Distributed
    Map labelled ``label``; an unlabelled one's when no state has that label (opensfn
    labels a run of an unlabelled Map with a UUID); None if there is no Distributed Map."""
    found = list(_distributed_maps(orjson.loads(definition)))
    chosen = next((raw for raw in found if raw.get("Label") == label), None)
    if chosen is None:
        unlabelled = [raw for raw in found if "Label" not in raw]
        if not unlabelled:
            return None
        chosen = unlabelled[0]
    processor = chosen.get("ItemProcessor") or chosen.get("Iterator") or {}
    return {k: v for k, v in processor.items() if k != "ProcessorConfig"}


def _distributed_maps(doc: Any) -> Iterator[dict[str, Any]]:
    """Every Distributed Map state of a definition (nested ones too), in document order."""
    for raw in (doc.get("States") or {}).values() if isinstance(doc, dict) else ():
        if not isinstance(raw, dict):
            continue
        processor = raw.get("ItemProcessor") or raw.get("Iterator")
        if raw.get("Type") == "Map" and isinstance(processor, dict):
            if (processor.get("ProcessorConfig") or {}).get("Mode") == "DISTRIBUTED":
                yield raw
            yield from _distributed_maps(processor)
        for branch in raw.get("Branches") or ():
            yield from _distributed_maps(branch)
