"""TestState: one state run in isolation (``runtime.test_state``), answered as AWS does.

This module maps the request onto ``runtime.test_state.Request`` and the runner's
refusals onto AWS's errors: a bad request is a ValidationException, a definition the
API cannot run (or cannot load) an InvalidDefinition.
"""

from __future__ import annotations

from typing import Any

from opensfn.api.context import RequestContext
from opensfn.api.executions import check_input
from opensfn.errors import DefinitionError, InvalidDefinition, ValidationException
from opensfn.runtime import test_state as runner
from opensfn.runtime import test_state_checks as checks


async def test_state(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """TestState."""
    raw = p.get("input")
    input_text = "{}" if raw is None else check_input(raw)
    config = p.get("stateConfiguration") or {}
    failures = config.get("mapIterationFailureCount")
    req = checks.Request(
        definition=p["definition"],
        input=input_text,
        state_name=p.get("stateName"),
        mock=p.get("mock"),
        retrier_retry_count=int(config.get("retrierRetryCount") or 0),
        map_iteration_failure_count=None if failures is None else int(failures),
        region=ctx.region,
        account=ctx.account,
        role_arn=p.get("roleArn"),  # optional: the context's Execution.RoleArn is then null
        context=p.get("context"),
        variables=p.get("variables"),
        reveal_secrets=bool(p.get("revealSecrets")),
        inspection_level=p.get("inspectionLevel") or "INFO",
    )
    try:
        return await runner.run(req, ctx.services.runtime)
    except checks.TestStateError as exc:
        raise ValidationException(str(exc)) from None
    except checks.TestStateDefinitionError as exc:
        raise InvalidDefinition(str(exc)) from None
    except DefinitionError as exc:
        raise InvalidDefinition(
            f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {exc.message} "
            f"at {exc.pointer}'"
        ) from None
