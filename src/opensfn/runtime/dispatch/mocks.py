"""Mocked Task results: Step Functions Local's mock configuration format.

```
{"StateMachines": {"<machine name>": {"TestCases": {"<case>": {"<state>": "<response>"}}}},
 "MockedResponses": {"<response>": {"0": {"Return": ...}, "1-2": {"Throw": {"Error": ..., "Cause": ...}}}}}
```

An execution started with ``stateMachineArn#TestCase`` takes the Tasks its test case
names from the file instead of running them; other Tasks run for real (mixed runs).
Responses are numbered by invocation of that state in the execution, from 0 (retries,
Map iterations and loops count); ranges ``"1-2"`` cover several; past the last number
the last response repeats. Any Task type can be mocked, activities and callbacks too:
the mocked answer completes the task at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import orjson

from opensfn.config import ConfigError
from opensfn.engine.protocol import ScheduleTask, TaskFailed, TaskStarted, TaskSucceeded
from opensfn.runtime.dispatch import host as h


@dataclass(frozen=True)
class Mocked:
    """One mocked answer: ``output`` (JSON text) or ``error``/``cause``."""

    output: str | None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class MockConfig:
    """A parsed mock configuration."""

    cases: dict[str, dict[str, dict[str, str]]]  # machine -> case -> state -> response
    responses: dict[str, tuple[tuple[int, int, Mocked], ...]]  # ranges in order


def _range(key: str, name: str) -> tuple[int, int]:
    first, _, last = key.partition("-")
    try:
        lo, hi = int(first), int(last or first)
    except ValueError:
        raise ConfigError(
            f"mock config: response {name!r}: invalid invocation number {key!r}"
        ) from None
    if lo < 0 or hi < lo:
        raise ConfigError(f"mock config: response {name!r}: invalid invocation range {key!r}")
    return lo, hi


def _answer(value: Any, name: str) -> Mocked:
    if (
        not isinstance(value, dict)
        or len(value) != 1
        or next(iter(value)) not in ("Return", "Throw")
    ):
        raise ConfigError(
            f'mock config: response {name!r}: each entry is {{"Return": ...}} or {{"Throw": ...}}'
        )
    if "Return" in value:
        return Mocked(orjson.dumps(value["Return"]).decode())
    throw = value["Throw"] if isinstance(value["Throw"], dict) else {}
    return Mocked(None, throw.get("Error"), throw.get("Cause"))


def parse(text: str | bytes) -> MockConfig:
    """Parse a mock configuration (raise ConfigError naming what is wrong)."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"mock config: not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError("mock config: the top level must be an object")
    cases: dict[str, dict[str, dict[str, str]]] = {}
    for machine, body in (doc.get("StateMachines") or {}).items():
        tcs = (body or {}).get("TestCases") or {}
        cases[machine] = {
            case: {str(k): str(v) for k, v in (states or {}).items()}
            for case, states in tcs.items()
        }
    responses: dict[str, tuple[tuple[int, int, Mocked], ...]] = {}
    for name, numbered in (doc.get("MockedResponses") or {}).items():
        if not isinstance(numbered, dict) or not numbered:
            raise ConfigError(
                f"mock config: response {name!r} must map invocation numbers to answers"
            )
        items = sorted((*_range(k, name), _answer(v, name)) for k, v in numbered.items())
        responses[name] = tuple(items)
    for machine, tcs in cases.items():
        for case, states in tcs.items():
            for state, response in states.items():
                if response not in responses:
                    raise ConfigError(
                        f"mock config: {machine}/{case}/{state} names an unknown response {response!r}"
                    )
    return MockConfig(cases, responses)


_LOADED: dict[str, tuple[float, MockConfig]] = {}


def load(path: str) -> MockConfig | None:
    """The configuration in ``path`` (re-read when the file changes); None when unset."""
    if not path:
        return None
    mtime = os.stat(path).st_mtime
    found = _LOADED.get(path)
    if found is None or found[0] != mtime:
        with open(path, "rb") as f:
            found = _LOADED[path] = (mtime, parse(f.read()))
    return found[1]


def pick(config: MockConfig, machine: str, case: str, state: str, n: int) -> Mocked | None:
    """The mocked answer for the ``n``-th (from 0) invocation of ``state``, or None."""
    response = config.cases.get(machine, {}).get(case, {}).get(state)
    if response is None:
        return None
    ranges = config.responses[response]
    for lo, hi, answer in ranges:
        if lo <= n <= hi:
            return answer
    return ranges[-1][2] if n > ranges[-1][1] else None


def invocations(history: list[dict[str, Any]]) -> dict[str, int]:
    """How often each state scheduled a Task in ``history``: every ``TaskScheduled``
    belongs to the state whose ``…StateEntered`` its ``previousEventId`` chain reaches."""
    by_id = {e["id"]: e for e in history}
    owner: dict[int, str] = {}

    def state_of(event_id: int) -> str:
        chain = []
        name = ""
        while event_id in by_id and event_id not in owner:
            event = by_id[event_id]
            if event["type"].endswith("StateEntered"):
                name = event["stateEnteredEventDetails"]["name"]
                break
            chain.append(event_id)
            event_id = event["previousEventId"]
        else:
            name = owner.get(event_id, "")
        for seen in chain:
            owner[seen] = name
        return name

    counts: dict[str, int] = {}
    for event in history:
        if event["type"] == "TaskScheduled":
            name = state_of(event["id"])
            counts[name] = counts.get(name, 0) + 1
    return counts


def lookup(host: h.DispatchHost, execution_arn: str, cmd: ScheduleTask) -> Mocked | None:
    """The mocked answer of this Task of this execution, counting the invocation."""
    state = h.integrations_of(host)
    selected = state.test_cases.get(execution_arn)
    if selected is None:
        return None
    config = load(state.settings.mock_config)
    if config is None:
        return None
    n = state.mock_calls.get(execution_arn, cmd.state_name) or 0
    answer = pick(config, selected[0], selected[1], cmd.state_name, n)
    if answer is not None:
        state.mock_calls.put(execution_arn, cmd.state_name, n + 1)
    return answer


def deliver(host: h.DispatchHost, execution_arn: str, cmd: ScheduleTask, mocked: Mocked) -> None:
    """Complete the Task with its mocked answer (on the next loop turn, in order)."""

    async def go() -> None:
        host.deliver(execution_arn, TaskStarted(cmd.task_id))
        if mocked.output is None:
            host.deliver(execution_arn, TaskFailed(cmd.task_id, mocked.error, mocked.cause))
        else:
            host.deliver(execution_arn, TaskSucceeded(cmd.task_id, mocked.output))

    h.spawn(go())
