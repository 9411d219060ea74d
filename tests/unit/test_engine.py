"""Golden cases for the interpreter: behaviours the recorded corpus does not replay
without a server (tasks, timers, timeouts, stops), run on the pure engine."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import orjson
import pytest

from opensfn.engine import interpreter
from opensfn.engine.protocol import CancelTask, ScheduleTimer, TaskFailed
from opensfn.engine.run import YIELD_EVENTS
from opensfn.testing import Harness

ACTIVITY = "arn:aws:states:us-east-1:123456789012:activity:work"


def machine(states: dict[str, Any], start: str = "A", **top: Any) -> str:
    return json.dumps({"StartAt": start, "States": states, **top})


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": ACTIVITY, "End": True, **fields}


def test_activity_task_success_records_aws_events() -> None:
    h = Harness(machine({"A": task(TimeoutSeconds=30, HeartbeatSeconds=10)}))
    h.start('{"x": 1}')
    [t] = h.pending_tasks()
    assert t.resource == ACTIVITY and t.parameters == {"x": 1}
    h.started(t.task_id, "w1")
    h.succeed(t.task_id, '{"y": 2}')
    assert h.types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled = h.events[2]["activityScheduledEventDetails"]
    assert scheduled == {
        "resource": ACTIVITY,
        "input": '{"x":1}',
        "inputDetails": {"truncated": False},
        "timeoutInSeconds": 30,
        "heartbeatInSeconds": 10,
    }
    assert h.events[3]["activityStartedEventDetails"] == {"workerName": "w1"}
    assert [e["previousEventId"] for e in h.events] == [0, 0, 2, 3, 4, 5, 6]
    assert h.status == "SUCCEEDED"
    assert h.closing()["executionSucceededEventDetails"]["output"] == '{"y":2}'
    assert not interpreter.open_task(h.state, t.task_id)


def test_activity_failure_is_caught_with_result_path() -> None:
    states = {
        "A": task(
            End=None,
            Next="B",
            Catch=[{"ErrorEquals": ["Oops"], "ResultPath": "$.err", "Next": "B"}],
        ),
        "B": {"Type": "Pass", "End": True},
    }
    states["A"].pop("End")
    h = Harness(machine(states))
    h.start('{"keep": true}')
    [t] = h.pending_tasks()
    h.fail(t.task_id, "Oops", "it broke")
    assert h.status == "SUCCEEDED"
    out = orjson.loads(h.closing()["executionSucceededEventDetails"]["output"])
    assert out == {"keep": True, "err": {"Error": "Oops", "Cause": "it broke"}}
    assert "ActivityFailed" in h.types


def test_retry_waits_with_backoff_then_fails() -> None:
    retry = [
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 2}
    ]
    h = Harness(machine({"A": task(Retry=retry)}))
    h.start()
    delays = []
    for _ in range(2):
        [t] = h.pending_tasks()
        h.fail(t.task_id, "E", "c")
        timers = [c for c in h.last.commands if isinstance(c, ScheduleTimer)] if h.last else []
        delays.append((timers[0].due - h.clock.now).total_seconds())
        h.fire_next_timer()
    assert delays == [2.0, 6.0]
    [t] = h.pending_tasks()
    h.fail(t.task_id, "E", "c")
    assert h.status == "FAILED"
    assert h.closing()["executionFailedEventDetails"] == {"error": "E", "cause": "c"}
    assert h.types.count("ActivityScheduled") == 3


def test_max_delay_and_full_jitter_bound_the_backoff() -> None:
    retry = [
        {
            "ErrorEquals": ["E"],
            "IntervalSeconds": 10,
            "BackoffRate": 10,
            "MaxAttempts": 3,
            "MaxDelaySeconds": 15,
            "JitterStrategy": "FULL",
        }
    ]
    h = Harness(machine({"A": task(Retry=retry)}))
    h.start()
    for _ in range(3):
        [t] = h.pending_tasks()
        h.fail(t.task_id, "E")
        [timer] = [c for c in h.last.commands if isinstance(c, ScheduleTimer)] if h.last else []
        assert 0 <= (timer.due - h.clock.now).total_seconds() <= 15
        h.fire_next_timer()


def test_task_timeout_is_states_timeout_and_cancels_the_task() -> None:
    h = Harness(machine({"A": task(TimeoutSeconds=5)}))
    h.start()
    [t] = h.pending_tasks()
    h.started(t.task_id)
    h.fire_next_timer()
    assert h.status == "FAILED"
    assert h.types[-2:] == ["ActivityTimedOut", "ExecutionFailed"]
    assert h.closing()["executionFailedEventDetails"] == {"error": "States.Timeout"}
    assert any(isinstance(c, CancelTask) for c in h.last.commands) if h.last else False
    assert h.clock.now.timestamp() - h.events[0]["timestamp"] == 5


def test_heartbeats_keep_a_task_alive() -> None:
    h = Harness(machine({"A": task(HeartbeatSeconds=10)}))
    h.start()
    [t] = h.pending_tasks()
    h.started(t.task_id)
    for _ in range(5):
        h.clock.advance(8)
        h.heartbeat(t.task_id)
    assert h.status == "RUNNING"
    h.succeed(t.task_id, '"done"')
    assert h.status == "SUCCEEDED"


def test_missed_heartbeat_times_out() -> None:
    h = Harness(machine({"A": task(HeartbeatSeconds=10)}))
    h.start()
    [t] = h.pending_tasks()
    h.started(t.task_id)
    h.clock.advance(8)
    h.heartbeat(t.task_id)
    h.fire_next_timer()
    assert h.status == "FAILED"
    assert h.clock.now.timestamp() - h.events[0]["timestamp"] == 18


def test_wait_seconds_fires_at_its_time() -> None:
    h = Harness(machine({"A": {"Type": "Wait", "Seconds": 30, "End": True}}))
    h.start()
    assert h.status == "RUNNING"
    [timer] = h.state["timers"].values()
    assert timer["due"] - h.events[0]["timestamp"] == 30
    h.run_timers()
    assert h.status == "SUCCEEDED" and h.types[-2] == "WaitStateExited"


def test_stop_aborts_and_cancels_everything() -> None:
    h = Harness(machine({"A": task(TimeoutSeconds=100)}))
    h.start()
    [t] = h.pending_tasks()
    h.stop("MyError", "user asked")
    assert not interpreter.open_task(h.state, t.task_id)
    assert h.status == "ABORTED"
    assert h.closing()["type"] == "ExecutionAborted"
    assert h.closing()["executionAbortedEventDetails"] == {
        "error": "MyError",
        "cause": "user asked",
    }
    assert h.state["timers"] == {} and h.state["tasks"] == {}


def test_execution_timeout() -> None:
    h = Harness(machine({"A": {"Type": "Wait", "Seconds": 100, "End": True}}, TimeoutSeconds=10))
    h.start()
    h.fire_next_timer()
    assert h.status == "TIMED_OUT"
    assert h.closing()["type"] == "ExecutionTimedOut"


def test_resume_commands_rearm_timers_and_requeue_unstarted_tasks() -> None:
    states = {
        "P": {
            "Type": "Parallel",
            "End": True,
            "Branches": [
                {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}},
                {"StartAt": "T", "States": {"T": task()}},
            ],
        }
    }
    h = Harness(machine(states, start="P"))
    h.start()
    # the state survives a JSON round trip, as it does through the store
    restored = orjson.loads(orjson.dumps(h.state))
    kinds = sorted(type(c).__name__ for c in interpreter.resume_commands(restored))
    assert kinds == ["ScheduleTask", "ScheduleTimer"]
    [t] = h.pending_tasks()
    h.started(t.task_id)
    restored = orjson.loads(orjson.dumps(h.state))
    assert [type(c).__name__ for c in interpreter.resume_commands(restored)] == ["ScheduleTimer"]


def test_parallel_waits_for_every_branch_and_keeps_branch_order() -> None:
    states = {
        "P": {
            "Type": "Parallel",
            "End": True,
            "Branches": [
                {"StartAt": "T", "States": {"T": task()}},
                {
                    "StartAt": "Q",
                    "States": {"Q": {"Type": "Pass", "Result": "second", "End": True}},
                },
            ],
        }
    }
    h = Harness(machine(states, start="P"))
    h.start()
    assert h.status == "RUNNING"
    [t] = h.pending_tasks()
    h.succeed(t.task_id, '"first"')
    assert h.status == "SUCCEEDED"
    assert h.closing()["executionSucceededEventDetails"]["output"] == '["first","second"]'


def test_parallel_branch_failure_cancels_the_other_branches() -> None:
    states = {
        "P": {
            "Type": "Parallel",
            "End": True,
            "Branches": [
                {"StartAt": "T", "States": {"T": task()}},
                {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 500, "End": True}}},
            ],
        }
    }
    h = Harness(machine(states, start="P"))
    h.start()
    [t] = h.pending_tasks()
    h.fail(t.task_id, "Boom", "bad")
    assert h.status == "FAILED"
    assert h.state["timers"] == {}
    assert "ParallelStateFailed" in h.types


def test_map_max_concurrency_limits_running_iterations() -> None:
    states = {
        "M": {
            "Type": "Map",
            "MaxConcurrency": 2,
            "End": True,
            "ItemProcessor": {"StartAt": "T", "States": {"T": task()}},
        }
    }
    h = Harness(machine(states, start="M"))
    h.start("[1, 2, 3, 4, 5]")
    seen = []
    while h.status == "RUNNING":
        pending = h.pending_tasks()
        assert 1 <= len(pending) <= 2
        t = pending[0]
        seen.append(t.parameters)
        h.succeed(t.task_id, json.dumps(t.parameters * 10))
    assert sorted(seen) == [1, 2, 3, 4, 5]
    assert h.closing()["executionSucceededEventDetails"]["output"] == "[10,20,30,40,50]"


def test_map_tolerated_failures() -> None:
    states = {
        "M": {
            "Type": "Map",
            "ToleratedFailureCount": 1,
            "End": True,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "C",
                "States": {
                    "C": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "F"}],
                        "Default": "OK",
                    },
                    "F": {"Type": "Fail", "Error": "Two"},
                    "OK": {"Type": "Pass", "End": True},
                },
            },
        }
    }
    h = Harness(machine(states, start="M"))
    h.start("[1, 2, 3]")
    assert h.status == "SUCCEEDED"
    h2 = Harness(machine(states, start="M"))
    h2.start("[2, 2, 3]")
    assert h2.status == "FAILED"
    assert (
        h2.closing()["executionFailedEventDetails"]["error"]
        == "States.ExceedToleratedFailureThreshold"
    )


def test_long_loops_yield_and_resume() -> None:
    states = {
        "Init": {"Type": "Pass", "Result": {"n": 0}, "Next": "Check"},
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 4000, "Next": "Done"}],
            "Default": "Inc",
        },
        "Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Check"},
        "Done": {"Type": "Succeed"},
    }
    h = Harness(machine(states, start="Init"))
    first = h.start()
    assert h.status == "RUNNING"
    assert len(first.events) <= YIELD_EVENTS + 10
    h.run_timers()
    assert h.status == "SUCCEEDED"
    assert h.closing()["executionSucceededEventDetails"]["output"] == '{"n":4000}'
    ids = [e["id"] for e in h.events]
    assert ids == list(range(1, len(ids) + 1))


def test_data_limit_exceeded_is_not_caught_by_states_all() -> None:
    states = {
        "A": {
            "Type": "Pass",
            "Parameters": {"big.$": "States.ArrayRange(1, 1000, 1)"},
            "Next": "B",
        },
        "B": {
            "Type": "Map",
            "ItemsPath": "$.big",
            "ItemSelector": {"s.$": "States.Format('{}{}{}', $.big, $.big, $.big)"},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
            "End": True,
        },
        "C": {"Type": "Succeed"},
    }
    h = Harness(machine(states))
    h.start()
    assert h.status == "FAILED"
    assert h.closing()["executionFailedEventDetails"]["error"] == "States.DataLimitExceeded"


@pytest.mark.parametrize(
    ("seconds", "status"),
    [(0, "SUCCEEDED"), (5, "RUNNING")],
)
def test_zero_wait_does_not_schedule_a_timer(seconds: int, status: str) -> None:
    h = Harness(machine({"A": {"Type": "Wait", "Seconds": seconds, "End": True}}))
    h.start()
    assert h.status == status


def test_history_limit_fails_the_execution() -> None:
    states = {
        "Loop": {"Type": "Pass", "Next": "Loop2"},
        "Loop2": {"Type": "Pass", "Next": "Loop"},
    }
    h = Harness(machine(states, start="Loop"))
    h.start()
    h.run_timers()
    assert h.status == "FAILED"
    assert h.closing()["executionFailedEventDetails"]["error"] == "States.Runtime"
    assert len(h.events) <= interpreter.HISTORY_LIMIT


def test_catch_on_an_end_state_goes_to_the_catchers_next() -> None:
    states = {
        "A": task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Handled"}]),
        "Handled": {"Type": "Pass", "Result": "handled", "End": True},
    }
    h = Harness(machine(states))
    h.start()
    [t] = h.pending_tasks()
    h.fail(t.task_id, "Boom")
    assert h.status == "SUCCEEDED"
    assert h.closing()["executionSucceededEventDetails"]["output"] == '"handled"'


def test_redrive_reenters_the_failed_state_and_continues_the_history() -> None:
    states = {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.p", "Next": "A"}, "A": task()}
    h = Harness(machine(states, start="P"))
    h.start('{"x": 1}')
    [t] = h.pending_tasks()
    h.fail(t.task_id, "Flaky", "first time")
    assert h.status == "FAILED"
    failed_at = len(h.events)
    h.info = dataclasses.replace(h.info, redrive_count=1)
    h._take(interpreter.redrive(h.machine, h.info, h.state, h.context()))
    assert h.status == "RUNNING"
    assert h.types[failed_at:] == ["ExecutionRedriven", "TaskStateEntered", "ActivityScheduled"]
    assert h.events[failed_at]["executionRedrivenEventDetails"] == {"redriveCount": 1}
    [t] = h.pending_tasks()
    assert t.parameters == {"x": 1, "p": 1}
    h.succeed(t.task_id, '"ok"')
    assert h.status == "SUCCEEDED"
    ids = [e["id"] for e in h.events]
    assert ids == list(range(1, len(ids) + 1))


def test_a_succeeded_execution_cannot_be_redriven() -> None:
    h = Harness(machine({"A": {"Type": "Pass", "End": True}}))
    h.start()
    with pytest.raises(ValueError, match="SUCCEEDED"):
        interpreter.redrive(h.machine, h.info, h.state, h.context())


def test_task_credentials_are_recorded_on_the_scheduled_event() -> None:
    h = Harness(machine({"A": task(Credentials={"RoleArn.$": "$.role"})}))
    h.start('{"role": "arn:aws:iam::111122223333:role/trusted"}')
    scheduled = h.events[2]["activityScheduledEventDetails"]
    assert scheduled["taskCredentials"] == {"roleArn": "arn:aws:iam::111122223333:role/trusted"}


def test_wait_seconds_path_reads_a_variable() -> None:
    states = {
        "Set": {"Type": "Pass", "Assign": {"delay": 45}, "Next": "W"},
        "W": {"Type": "Wait", "SecondsPath": "$delay", "End": True},
    }
    h = Harness(machine(states, start="Set"))
    h.start()
    [timer] = h.state["timers"].values()
    assert timer["due"] - h.events[0]["timestamp"] == 45


def test_distributed_map_exit_chains_to_map_run_started() -> None:
    """AWS (recordings since November 2024): MapStateSucceeded follows MapRunSucceeded,
    MapStateExited chains to MapRunStarted; an inline Map's exit chains to the event
    before its MapStateSucceeded (the last MapIterationSucceeded)."""
    inner = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    dist = {**inner, "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}}
    h = Harness(machine({"M": {"Type": "Map", "ItemProcessor": dist, "End": True}}, start="M"))
    h.start("[1, 2]")
    by_type = {e["type"]: e for e in h.events}
    assert by_type["MapStateSucceeded"]["previousEventId"] == by_type["MapRunSucceeded"]["id"]
    assert by_type["MapStateExited"]["previousEventId"] == by_type["MapRunStarted"]["id"]
    h2 = Harness(machine({"M": {"Type": "Map", "ItemProcessor": inner, "End": True}}, start="M"))
    h2.start("[1, 2]")
    by_type = {e["type"]: e for e in h2.events}
    assert by_type["MapStateExited"]["previousEventId"] == by_type["MapIterationSucceeded"]["id"]


def test_nothing_inside_a_distributed_iteration_reaches_the_parents_history() -> None:
    """A Parallel or an inline Map inside a Distributed Map's item processor runs in the
    child workflow: the parent records the Map Run only (their Pass states leaked)."""
    inner_map = {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}],
                "Next": "Inner",
            },
            "Inner": {"Type": "Map", "ItemProcessor": inner_map, "End": True},
        },
    }
    h = Harness(machine({"M": {"Type": "Map", "ItemProcessor": processor, "End": True}}, "M"))
    h.start("[[1], [2]]")
    assert h.status == "SUCCEEDED"
    assert h.types == [
        "ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted",
        "MapRunSucceeded", "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded",
    ]  # fmt: skip
    assert h.closing()["executionSucceededEventDetails"]["output"] == "[[[1]],[[2]]]"


def test_start_yields_past_its_inline_budget_and_the_history_goes_on() -> None:
    """What a server answers StartExecution with: at most the budget of events; the rest
    follows when the yield timer fires, with an unbroken history."""
    states = {
        f"P{k}": {"Type": "Pass", "Next": f"P{k + 1}"} if k < 9 else {"Type": "Pass", "End": True}
        for k in range(10)
    }
    h = Harness(machine(states, start="P0"))
    first = h._take(interpreter.start(h.machine, h.info, "{}", h.context(), inline_events=5))
    assert h.status == "RUNNING"
    assert 5 <= len(first.events) <= 7
    assert [c for c in first.commands if isinstance(c, ScheduleTimer)]
    h.run_timers()
    assert h.status == "SUCCEEDED"
    assert [e["id"] for e in h.events] == list(range(1, 23))
    whole = Harness(machine(states, start="P0"))
    whole.start()
    strip = ("timestamp",)
    assert [{k: v for k, v in e.items() if k not in strip} for e in h.events] == [
        {k: v for k, v in e.items() if k not in strip} for e in whole.events
    ]


def test_the_start_budget_does_not_split_map_iterations() -> None:
    """The inline budget holds the top-level thread: a Map's 300 iterations still run in
    the start (each yielding on its own would make 300 steps of the whole state)."""
    states = {
        "M": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
            "End": True,
        }
    }
    h = Harness(machine(states, start="M"))
    h._take(
        interpreter.start(
            h.machine, h.info, json.dumps(list(range(300))), h.context(), inline_events=200
        )
    )
    assert h.status == "SUCCEEDED"
    assert len(h.events) > 1200


@pytest.mark.parametrize(
    ("states", "field"),
    [
        (
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Condition": "{% true %}",
                            "Output": {"v": "{% $states.input.no %}"},
                            "Next": "E",
                        }
                    ],
                    "Default": "E",
                },
                "E": {"Type": "Succeed"},
            },
            "Choices[0]/Output/v",
        ),
        (
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {"Condition": "{% false %}", "Next": "E"},
                        {"Condition": "{% $states.input.no %}", "Next": "E"},
                    ],
                    "Default": "E",
                },
                "E": {"Type": "Succeed"},
            },
            "Choices[1]/Condition",
        ),
        (
            {"C": {"Type": "Pass", "Output": {"list": [1, "{% $states.input.no %}"]}, "End": True}},
            "Output/list[1]",
        ),
    ],
)
def test_jsonata_causes_name_rules_and_array_items_as_aws(
    states: dict[str, Any], field: str
) -> None:
    """As AWS names them (floci-io/floci#2689, measured against AWS): a Choice rule's fields
    under ``Choices[n]``, an array item as ``[i]``."""
    h = Harness(machine(states, start="C", QueryLanguage="JSONata"))
    h.start("{}")
    cause = h.closing()["executionFailedEventDetails"]["cause"]
    assert f"specified for the field '{field}' returned nothing (undefined)." in cause


def test_jsonata_catcher_fields_are_named_under_their_index() -> None:
    states = {
        "F": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "f"},
            "Catch": [
                {"ErrorEquals": ["Nope"], "Next": "E"},
                {"ErrorEquals": ["States.ALL"], "Output": "{% $states.input.no %}", "Next": "E"},
            ],
            "End": True,
        },
        "E": {"Type": "Succeed"},
    }
    h = Harness(machine(states, start="F", QueryLanguage="JSONata"))
    h.start("{}")
    [task] = h.pending_tasks()
    h.started(task.task_id)
    h.step(TaskFailed(task.task_id, "Boom", "c"))
    cause = h.closing()["executionFailedEventDetails"]["cause"]
    assert "specified for the field 'Catch[1]/Output' returned nothing (undefined)." in cause


def test_map_iterations_past_the_event_budget_share_one_yield_timer() -> None:
    """Iterations that yield in one call go on together when one timer fires: one more
    step, not one step per iteration each reading and writing the whole state."""
    items = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    fan = {
        "Type": "Map", "ItemsPath": "$.items", "ItemProcessor": items, "ResultPath": "$.out",
        "End": True,
    }  # fmt: skip
    n = 3000  # 4 events per iteration: past YIELD_EVENTS inside the one Map
    h = Harness(machine({"M": fan}, start="M"))
    h.start(json.dumps({"items": list(range(n))}))
    assert h.status == "RUNNING"
    assert h.last is not None
    yields = [c for c in h.last.commands if isinstance(c, ScheduleTimer) and c.kind == "yield"]
    assert len(yields) == 1 and YIELD_EVENTS < len(h.events) < YIELD_EVENTS + 200
    assert h.fire_next_timer()
    assert h.status == "SUCCEEDED"
    assert [e["id"] for e in h.events] == list(range(1, len(h.events) + 1))
    assert h.types.count("MapIterationSucceeded") == n
    output = h.closing()["executionSucceededEventDetails"]["output"]
    assert json.loads(output)["out"] == list(range(n))


def test_an_inline_map_runs_at_most_40_iterations_at_once() -> None:
    """AWS: an inline Map supports up to 40 concurrent iterations, MaxConcurrency 0 (no
    limit) or above 40 included; the next iteration starts as one ends."""
    work = {"StartAt": "T", "States": {"T": task()}}
    for given, running in ((0, 40), (100, 40), (10, 10)):
        fan = {"Type": "Map", "MaxConcurrency": given, "ItemProcessor": work, "End": True}
        h = Harness(machine({"M": fan}, start="M"))
        h.start(json.dumps(list(range(100))))
        assert len(h.pending_tasks()) == running
        first = h.pending_tasks()[0]
        h.succeed(first.task_id, '"done"')
        pending = h.pending_tasks()
        assert len(pending) == running and first.task_id not in [t.task_id for t in pending]
        assert h.types.count("MapIterationStarted") == running + 1
