"""Input and output processing of JSONPath-mode states, in AWS's order:

InputPath → Parameters → (the state's work) → ResultSelector → ResultPath → OutputPath.
Absent fields cost nothing: each step is skipped unless the state has it.
"""

from __future__ import annotations

from typing import Any

from opensfn.asl import payload
from opensfn.asl.definition import JSONATA, State
from opensfn.engine.run import Frame, Run


def input_path(run: Run, frame: Frame, state: State, value: Any) -> Any:
    """Apply InputPath (absent: the whole input; null: ``{}``)."""
    if state.has_input_path:
        value = payload.apply_input_path(
            state.input_path, value, run.context(frame, state), run.variables(frame)
        )
    if run.ctx.inspect is not None:
        run.ctx.inspect["afterInputPath"] = value
    return value


def effective_input(
    run: Run, frame: Frame, state: State, value: Any, extra: dict[str, Any] | None = None
) -> Any:
    """InputPath then Parameters: what the state works on."""
    value = input_path(run, frame, state, value)
    if state.parameters is not None:
        value = state.parameters.evaluate(
            value, run.context(frame, state, extra), run.variables(frame), run.ctx
        )
    if run.ctx.inspect is not None:
        run.ctx.inspect["afterParameters"] = value
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
    inspect = run.ctx.inspect
    if inspect is not None:
        inspect["result"] = result
    if state.result_selector is not None:
        result = state.result_selector.evaluate(
            result, run.context(frame, state), run.variables(frame), run.ctx
        )
    if inspect is not None:
        inspect["afterResultSelector"] = result
    assigned = assign(run, frame, state, result)
    if state.has_result_path:
        result = payload.apply_result_path(state.result_path, raw_input, result)
    if inspect is not None:
        inspect["afterResultPath"] = result
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


# ---------------------------------------------------------------------- JSONata mode
#
# A JSONata state sees ``$states`` = {input, context[, result][, errorOutput]} and the
# variables; ``Arguments`` replaces InputPath/Parameters, ``Output`` replaces
# ResultSelector/ResultPath/OutputPath (default: the result, else the input), and
# ``Assign`` is evaluated with the same binding and the variables as they were.

NO_RESULT: Any = object()


def is_jsonata(state: State) -> bool:
    """Whether ``state`` evaluates JSONata (its own or the machine's QueryLanguage)."""
    return state.query_language == JSONATA


def binding(
    run: Run, frame: Frame, state: State, extra: dict[str, Any] | None = None, **more: Any
) -> dict[str, Any]:
    """The ``$states`` binding for ``state``."""
    out = {"input": frame["in"], "context": run.context(frame, state, extra)}
    out.update(more)
    return out


def evaluate(run: Run, frame: Frame, template: Any, b: dict[str, Any]) -> Any:
    """A compiled JSONata template's value (None when the field is absent)."""
    if template is None:
        return None
    return template.evaluate(b, run.variables(frame), run.ctx)


def state_input(run: Run, frame: Frame, state: State, extra: dict[str, Any] | None = None) -> Any:
    """What a Task or Parallel works on: JSONPath InputPath+Parameters, JSONata Arguments."""
    if is_jsonata(state):
        value = frame["in"]
        if state.arguments is not None:
            value = evaluate(run, frame, state.arguments, binding(run, frame, state, extra))
        if run.ctx.inspect is not None:
            run.ctx.inspect["afterArguments"] = value
        return value
    return effective_input(run, frame, state, frame["in"], extra)


def finish(
    run: Run,
    frame: Frame,
    state: State,
    result: Any = NO_RESULT,
    eff: Any = NO_RESULT,
    *,
    output_t: Any = None,
    assign_t: Any = None,
) -> tuple[Any, dict[str, Any] | None]:
    """A state's output and assigned variables, in either query language.

    ``result`` is the state's result (Task, Parallel, Map, Pass); ``eff`` the effective
    input of states without one (Choice, Wait, Succeed). ``output_t``/``assign_t``
    override the state's own templates (a JSONata Choice rule's).
    """
    if is_jsonata(state):
        has_result = result is not NO_RESULT
        b = binding(run, frame, state, result=result) if has_result else binding(run, frame, state)
        variables = run.variables(frame)
        at = assign_t if assign_t is not None else state.assign
        assigned = at.evaluate(b, variables, run.ctx) if at is not None else None
        ot = output_t if output_t is not None else state.output
        if ot is not None:
            out = ot.evaluate(b, variables, run.ctx)
        else:
            out = result if has_result else frame["in"]
        return out, (assigned if isinstance(assigned, dict) and assigned else None)
    if result is not NO_RESULT:
        return result_output(run, frame, state, frame["in"], result)
    return output_path(run, frame, state, eff), assign(run, frame, state, eff)
