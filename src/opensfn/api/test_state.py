"""TestState: one state run in isolation (``runtime.test_state``), answered as AWS does.

``inspectionData`` (DEBUG and TRACE levels) holds the raw input and, for a handled
error, ``errorDetails``; the intermediate data-flow values (afterInputPath,
afterParameters, result, ...) are not reported yet.
"""

from __future__ import annotations

from typing import Any

import orjson

from opensfn.api.context import RequestContext
from opensfn.api.executions import check_input
from opensfn.errors import DefinitionError, InvalidDefinition, ValidationException
from opensfn.runtime import test_state as runner

_DEFAULT_ROLE = "arn:aws:iam::{account}:role/TestState"


async def test_state(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """TestState."""
    if p.get("context") is not None and p.get("mock") is None:
        raise ValidationException(
            "The context field may only be specified if a mock is specified in the same request"
        )
    raw = p.get("input")
    input_text = "{}" if raw is None else check_input(raw)
    config = p.get("stateConfiguration") or {}
    req = runner.Request(
        definition=p["definition"],
        input=input_text,
        state_name=p.get("stateName"),
        mock=p.get("mock"),
        retrier_retry_count=int(config.get("retrierRetryCount") or 0),
        map_iteration_failure_count=int(config.get("mapIterationFailureCount") or 0),
        region=ctx.region,
        account=ctx.account,
        role_arn=p.get("roleArn") or _DEFAULT_ROLE.format(account=ctx.account),
    )
    try:
        out = runner.run(req)
    except runner.TestStateError as exc:
        raise ValidationException(str(exc)) from None
    except DefinitionError as exc:
        raise InvalidDefinition(
            f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {exc.message} "
            f"at {exc.pointer}'"
        ) from None
    details = out.pop("_errorDetails", None)
    if (p.get("inspectionLevel") or "INFO") != "INFO":
        inspection: dict[str, Any] = {"input": input_text}
        inspection.update(runner.map_inspection(runner.tested_state(req)))
        if details is not None:
            inspection["errorDetails"] = details
        out["inspectionData"] = inspection
    elif details is not None and out.get("status") == "RETRIABLE":
        out["inspectionData"] = {"errorDetails": details}
    if "output" in out and not isinstance(out["output"], str):
        out["output"] = orjson.dumps(out["output"]).decode()
    return out
