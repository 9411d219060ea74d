"""RedriveExecution: AWS's rules for which executions can be redriven.

Only a Standard execution that ended FAILED, TIMED_OUT or ABORTED less than 14 days ago
can be redriven; anything else answers ExecutionNotRedrivable with AWS's reason. A redrive
reopens the execution from its kept engine state: the history goes on with
``ExecutionRedriven`` and the state that did not succeed is entered again.
"""

from __future__ import annotations

import time
from typing import Any

from opensfn.api import arns
from opensfn.api.context import RequestContext
from opensfn.errors import ExecutionDoesNotExist, ExecutionNotRedrivable

REDRIVE_PERIOD_SECONDS = 14 * 24 * 3600

# Final statuses a redrive may restart. Rules: every other status is not redrivable,
# with the reason "Execution is <STATUS> and cannot be redriven".
REDRIVABLE_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


def not_redrivable_reason(status: str, stop_date: float | None, now: float) -> str | None:
    """Why an execution with this status and stop date cannot be redriven (None: it can)."""
    if status not in REDRIVABLE_STATUSES:
        return f"Execution is {status} and cannot be redriven"
    if stop_date is not None and now - stop_date > REDRIVE_PERIOD_SECONDS:
        return "Execution can no longer be redriven as the redrive period of 14 days has expired"
    return None


async def redrive_execution(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """RedriveExecution (validation and AWS's errors; see the module docstring)."""
    arn = p["executionArn"]
    arns.execution(arn)
    rec = ctx.store.get_execution(arn)
    if rec is None:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
    reason = not_redrivable_reason(rec.status, rec.stop_date, time.time())
    if reason is not None:
        raise ExecutionNotRedrivable(reason)
    return {"redriveDate": await ctx.runtime.redrive_execution(rec)}
