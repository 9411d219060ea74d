"""Micro-benchmarks of the project's own parts, in process, no server.

- engine: ``start()`` of the 10-Pass chain, and ``step()`` alone (a Wait timer firing
  into a Pass; a task answer), via ``opensfn.testing.Harness``;
- JSONPath and JSONata: compiled path lookups, a ``.$`` payload template, and the same
  Choice/Pass loop in JSONPath and JSONata (transitions per second of ``start()``);
- request validation: ``decode_request`` of StartExecution and CreateStateMachine;
- store: a StartExecution batch (22 events) committed alone (one fsync each) and in
  groups of 10 and 100 (group commit), CPU and wall time per batch.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.workloads import PASS_CHAIN, choice_loop


def _per_call(fn: Callable[[], Any], min_time: float) -> float:
    """Seconds per call of ``fn``, over at least ``min_time`` seconds (best of 3 rounds)."""
    n, best = 1, float("inf")
    while True:  # calibrate
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt > min_time / 10:
            break
        n *= 4
    reps = max(1, int(n * (min_time / 3) / dt))
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def _entered(events: list[dict[str, Any]]) -> int:
    """Transitions of a run: states entered."""
    return sum(1 for e in events if e["type"].endswith("StateEntered"))


def engine(min_time: float) -> dict[str, Any]:
    """start()/step() of the interpreter alone."""
    from opensfn.engine.protocol import ScheduleTimer, TaskSucceeded, TimerFired
    from opensfn.testing import Harness

    res: dict[str, Any] = {}
    h = Harness(json.dumps(PASS_CHAIN))
    res["start_pass_chain_us"] = round(_per_call(lambda: h.start('{"n": 1}'), min_time) * 1e6, 1)
    loop = Harness(json.dumps(choice_loop(1000)))
    t = _per_call(lambda: loop.start("{}"), min_time)
    assert loop.last is not None
    entered = _entered(loop.last.events)
    res["choice_loop_transitions_per_s"] = round(entered / t)
    res["choice_loop_events"] = len(loop.last.events)

    wait = Harness(
        json.dumps(
            {
                "StartAt": "W",
                "States": {
                    "W": {"Type": "Wait", "Seconds": 5, "Next": "P"},
                    "P": {"Type": "Pass", "Parameters": {"x.$": "$.x"}, "End": True},
                },
            }
        )
    )

    def timer_step() -> None:
        tr = wait.start('{"x": 1}')
        timer = next(c for c in tr.commands if isinstance(c, ScheduleTimer))
        wait.step(TimerFired(timer.timer_id))

    res["start_plus_timer_step_us"] = round(_per_call(timer_step, min_time) * 1e6, 1)
    act = Harness(
        json.dumps(
            {
                "StartAt": "T",
                "States": {
                    "T": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:us-east-1:123456789012:activity:a",
                        "End": True,
                    }
                },
            }
        )
    )

    def task_steps() -> None:
        act.start('{"x": 1}')
        task = act.pending_tasks()[0]
        act.started(task.task_id)
        act.step(TaskSucceeded(task.task_id, '{"ok": true}'))

    res["activity_start_started_succeeded_us"] = round(_per_call(task_steps, min_time) * 1e6, 1)
    return res


def expressions(min_time: float) -> dict[str, Any]:
    """JSONPath lookups, a payload template, and JSONPath vs JSONata on the same loop."""
    from opensfn.asl.jsonpath import compile_path
    from opensfn.testing import Harness

    data = {"a": {"b": [{"c": i} for i in range(10)]}, "n": 1}
    res: dict[str, Any] = {}
    simple, deep = compile_path("$.a.b[3].c"), compile_path("$..c")
    res["jsonpath_definite_ns"] = round(_per_call(lambda: simple.find(data), min_time) * 1e9)
    res["jsonpath_deep_scan_us"] = round(_per_call(lambda: deep.find(data), min_time) * 1e6, 2)
    jsonata_loop = {
        "QueryLanguage": "JSONata",
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Output": {"i": 0}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.i < 1000 %}", "Next": "Inc"}],
                "Default": "Done",
            },
            "Inc": {"Type": "Pass", "Output": {"i": "{% $states.input.i + 1 %}"}, "Next": "Check"},
            "Done": {"Type": "Succeed"},
        },
    }
    for name, definition in (("jsonpath", choice_loop(1000)), ("jsonata", jsonata_loop)):
        h = Harness(json.dumps(definition))
        t = _per_call(lambda h=h: h.start("{}"), min_time)  # type: ignore[misc]
        assert h.last is not None and h.status == "SUCCEEDED", name
        res[f"{name}_loop_transitions_per_s"] = round(_entered(h.last.events) / t)
    return res


def validation(min_time: float) -> dict[str, Any]:
    """decode_request (JSON decode + botocore-model validation) per request."""
    from opensfn.api.model import decode_request

    start = json.dumps(
        {
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m",
            "name": "x",
            "input": '{"n": 1}',
        }
    ).encode()
    create = json.dumps(
        {
            "name": "m",
            "definition": json.dumps(PASS_CHAIN),
            "roleArn": "arn:aws:iam::123456789012:role/r",
            "tags": [{"key": "k", "value": "v"}],
        }
    ).encode()
    return {
        "decode_StartExecution_us": round(
            _per_call(lambda: decode_request("StartExecution", start), min_time) * 1e6, 2
        ),
        "decode_CreateStateMachine_us": round(
            _per_call(lambda: decode_request("CreateStateMachine", create), min_time) * 1e6, 2
        ),
    }


def store(batches: int) -> dict[str, Any]:
    """StartExecution batches committed alone and in groups (durable default settings)."""
    from opensfn.store import writes
    from opensfn.store.database import open_store
    from opensfn.store.records import Closing, ExecutionRecord
    from opensfn.testing import Harness

    tr = Harness(json.dumps(PASS_CHAIN)).start('{"n": 1}')
    state = orjson.dumps(tr.state)
    res: dict[str, Any] = {"events_per_batch": len(tr.events)}

    async def scenario(tmp: Path) -> None:
        st = open_store(tmp / "micro.db")
        counter = 0

        def batch() -> Any:
            nonlocal counter
            counter += 1
            rec = ExecutionRecord(
                st.new_execution_id(), f"arn:x:{counter}", "arn:m", "r", f"e{counter}", "role",
                "RUNNING", '{"n": 1}', None, None, None, 1.0, None,
            )  # fmt: skip
            closing = Closing("SUCCEEDED", 2.0, '{"n": 1}', None, None)
            return writes.start_execution(rec, tr.events, state, closing)

        for group in (1, 10, 100):
            rounds = max(1, batches // group)
            c0, t0 = time.process_time(), time.perf_counter()
            for _ in range(rounds):
                await asyncio.gather(*[st.submit(batch()) for _ in range(group)])
            n = rounds * group
            res[f"group{group}_cpu_us_per_batch"] = round((time.process_time() - c0) / n * 1e6, 1)
            res[f"group{group}_wall_us_per_batch"] = round((time.perf_counter() - t0) / n * 1e6, 1)
        await st.close()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(Path(tmp)))
    return res


def run(quick: bool = False) -> dict[str, dict[str, Any]]:
    """Every micro-benchmark; ``quick`` shortens the timing windows."""
    min_time = 0.3 if quick else 1.0
    return {
        "micro-engine": engine(min_time),
        "micro-expressions": expressions(min_time),
        "micro-validation": validation(min_time),
        "micro-store": store(500 if quick else 2000),
    }
