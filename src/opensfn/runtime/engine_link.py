"""The runtime's one door to the interpreter and the definition loader.

Everything the runtime asks of the engine goes through these functions, so the
contract (``engine.protocol``) is visible in one place and a different engine could
be slotted in here. Each engine call of a machine with JSONata runs under the JSONata
CPU budget (``asl.jsonata.CpuBudget``): a runaway expression fails its state instead of
stalling the server. (A JSONPath-only machine has no expression that could run away:
its calls skip the two timer system calls.)
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from opensfn.asl import definition
from opensfn.asl.jsonata import STEP_BUDGET
from opensfn.engine import interpreter
from opensfn.engine.protocol import Command, ExecutionInfo, StepContext, Transition, Trigger

_NO_BUDGET = nullcontext()


def _budget(machine: Any) -> AbstractContextManager[None]:
    return STEP_BUDGET if machine.uses_jsonata else _NO_BUDGET


def load_machine(text: str) -> Any:
    """Compile a definition (raises ``opensfn.errors.DefinitionError``)."""
    return definition.load_machine(text)


def start(
    machine: Any,
    info: ExecutionInfo,
    input_text: str,
    ctx: StepContext,
    *,
    inline_events: int | None = None,
) -> Transition:
    """``engine.interpreter.start``: ExecutionStarted and as far as the execution can go
    (``inline_events``: yield past that many events; the rest runs when its timer fires)."""
    with _budget(machine):
        return interpreter.start(machine, info, input_text, ctx, inline_events=inline_events)


def step(
    machine: Any, info: ExecutionInfo, state: dict[str, Any], trigger: Trigger, ctx: StepContext
) -> Transition:
    """``engine.interpreter.step``: apply one trigger."""
    with _budget(machine):
        return interpreter.step(machine, info, state, trigger, ctx)


def redrive(
    machine: Any, info: ExecutionInfo, state: dict[str, Any], ctx: StepContext
) -> Transition:
    """``engine.interpreter.redrive``: reopen a FAILED, TIMED_OUT or ABORTED execution."""
    with _budget(machine):
        return interpreter.redrive(machine, info, state, ctx)


def terminate(
    machine: Any,
    info: ExecutionInfo,
    state: dict[str, Any],
    ctx: StepContext,
    error: str,
    cause: str,
) -> Transition:
    """``engine.interpreter.terminate``: fail an open execution from outside."""
    with _budget(machine):
        return interpreter.terminate(machine, info, state, ctx, error, cause)


def set_cpu_limit(seconds: float) -> None:
    """CPU seconds one engine call's JSONata may take (``--expression-cpu-limit``; 0: none)."""
    STEP_BUDGET.seconds = seconds


def resume_commands(state: dict[str, Any]) -> list[Command]:
    """Timers to re-arm and tasks to re-queue after a restart."""
    return interpreter.resume_commands(state)


def has_map_runs(machine: Any) -> bool:
    """Has the machine a Distributed Map state (whose runs the store records)?"""
    return any(
        st.processor_mode == "DISTRIBUTED"
        for sc in machine.scopes.values()
        for st in sc.states.values()
    )


def first_state_waits(machine: Any) -> bool:
    """Is the machine's first state a Task or a Wait (entering it only hands work out or
    arms a timer)?"""
    scope = machine.scope(machine.root)
    return bool(scope.states[scope.start_at].type in ("Task", "Wait"))
