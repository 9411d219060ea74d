"""Input and output processing of JSONPath-mode states, in AWS's order:

InputPath → Parameters → (the state's work) → ResultSelector → ResultPath → OutputPath.
Absent fields cost nothing: each step is skipped unless the state has it.
"""

from __future__ import annotations

from typing import Any

from opensfn.asl import jsonpath, payload
from opensfn.asl.definition import State
from opensfn.engine.run import Frame, Run


def input_path(run: Run, frame: Frame, state: State, value: Any) -> Any:
    """Apply InputPath (absent: the whole input; null: ``{}``)."""
    if not state.has_input_path:
        return value
    return payload.apply_input_path(
        state.input_path, value, run.context(frame, state), run.variables(frame)
    )


def effective_input(
    run: Run, frame: Frame, state: State, value: Any, extra: dict[str, Any] | None = None
) -> Any:
    """InputPath then Parameters: what the state works on."""
    value = input_path(run, frame, state, value)
    if state.parameters is not None:
        value = state.parameters.evaluate(
            value, run.context(frame, state, extra), run.variables(frame), run.ctx
        )
    return value


def output_path(run: Run, frame: Frame, state: State, value: Any) -> Any:
    """Apply OutputPath (absent: the whole value; null: ``{}``)."""
    if not state.has_output_path:
        return value
    return payload.apply_output_path(
        state.output_path, value, run.context(frame, state), run.variables(frame)
    )


def result_output(
    run: Run, frame: Frame, state: State, raw_input: Any, result: Any
) -> tuple[Any, dict[str, Any] | None]:
    """ResultSelector → (Assign) → ResultPath (against the raw input) → OutputPath.

    Returns the output and the variables the state assigns: AWS evaluates ``Assign``
    on the state's result after ResultSelector, with the variables as they were.
    """
    if state.result_selector is not None:
        result = state.result_selector.evaluate(
            result, run.context(frame, state), run.variables(frame), run.ctx
        )
    assigned = assign(run, frame, state, result)
    if state.has_result_path:
        result = payload.apply_result_path(state.result_path, raw_input, result)
    return output_path(run, frame, state, result), assigned


def assign(
    run: Run, frame: Frame, state: State, value: Any, template: Any = None
) -> dict[str, Any] | None:
    """Evaluate ``Assign`` (the state's, or a catcher's ``template``) against ``value``."""
    tmpl = template if template is not None else state.assign
    if tmpl is None:
        return None
    out = tmpl.evaluate(value, run.context(frame, state), run.variables(frame), run.ctx)
    return out if isinstance(out, dict) and out else None
