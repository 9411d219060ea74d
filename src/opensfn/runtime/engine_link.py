"""The runtime's one door to the interpreter and the definition loader.

They are imported on first use rather than at import time so that the server, the
store and the API can be loaded (and their own tests run) on their own; a missing
engine surfaces as an ``InternalFailure`` on the operations that need it.
"""

from __future__ import annotations

import importlib
from typing import Any

from opensfn.engine.protocol import Command, ExecutionInfo, StepContext, Transition, Trigger

_modules: dict[str, Any] = {}


def _module(name: str) -> Any:
    mod = _modules.get(name)
    if mod is None:
        mod = _modules[name] = importlib.import_module(name)
    return mod


def load_machine(definition: str) -> Any:
    """Compile a definition (raises ``opensfn.errors.DefinitionError``)."""
    return _module("opensfn.asl.definition").load_machine(definition)


def start(machine: Any, info: ExecutionInfo, input_text: str, ctx: StepContext) -> Transition:
    """``engine.interpreter.start``: ExecutionStarted and as far as the execution can go."""
    result: Transition = _module("opensfn.engine.interpreter").start(machine, info, input_text, ctx)
    return result


def step(machine: Any, info: ExecutionInfo, state: dict[str, Any], trigger: Trigger, ctx: StepContext) -> Transition:
    """``engine.interpreter.step``: apply one trigger."""
    result: Transition = _module("opensfn.engine.interpreter").step(machine, info, state, trigger, ctx)
    return result


def resume_commands(state: dict[str, Any]) -> list[Command]:
    """Timers to re-arm and tasks to re-queue after a restart."""
    result: list[Command] = _module("opensfn.engine.interpreter").resume_commands(state)
    return result


def open_task(state: dict[str, Any], task_id: str) -> bool:
    """Is ``task_id`` still waiting for its answer?"""
    return bool(_module("opensfn.engine.interpreter").open_task(state, task_id))
