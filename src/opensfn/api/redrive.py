"""RedriveExecution: AWS's rules for which executions can be redriven.

Only a Standard execution that ended FAILED, TIMED_OUT or ABORTED less than 14 days ago
can be redriven; anything else answers ExecutionNotRedrivable with AWS's reason. A redrive
reopens the execution from its kept engine state: the history goes on with
``ExecutionRedriven`` and the state that did not succeed is entered again.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any

from opensfn.api import arns
from opensfn.errors import ExecutionDoesNotExist, ExecutionNotRedrivable

if TYPE_CHECKING:
    from opensfn.api.context import RequestContext

REDRIVE_PERIOD_SECONDS = 14 * 24 * 3600
TOKENS_KEPT = 10  # client tokens remembered per execution, as AWS documents
TOKEN_SECONDS = 15 * 60  # how long a client token answers again
EXECUTIONS_KEPT = 10_000  # executions whose tokens are remembered (the oldest go first)


class RedriveTokens:
    """The client tokens of recent successful redrives: the same RedriveExecution again
    (an SDK retrying after a lost answer sends the same ``clientToken``) answers as the
    first did instead of ExecutionNotRedrivable — for the last 10 tokens of an execution,
    15 minutes from their first use. Kept in memory: a restart forgets them."""

    def __init__(self) -> None:
        self._by: OrderedDict[str, deque[tuple[str, float, float]]] = OrderedDict()

    def answered(self, execution_arn: str, token: str | None, now: float) -> float | None:
        """The redriveDate a redrive with ``token`` answered, if it is still remembered."""
        if token is None:
            return None
        for known, date, first in self._by.get(execution_arn, ()):
            if known == token and now - first <= TOKEN_SECONDS:
                return date
        return None

    def remember(self, execution_arn: str, token: str | None, date: float, now: float) -> None:
        """Remember ``token`` as having redriven ``execution_arn`` at ``date``."""
        if token is None:
            return
        tokens = self._by.pop(execution_arn, None) or deque(maxlen=TOKENS_KEPT)
        tokens.append((token, date, now))
        self._by[execution_arn] = tokens
        while len(self._by) > EXECUTIONS_KEPT:
            self._by.popitem(last=False)


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
    token, now = p.get("clientToken"), time.time()
    tokens = ctx.services.redrives
    earlier = tokens.answered(arn, token, now)
    if earlier is not None:
        return {"redriveDate": earlier}
    reason = not_redrivable_reason(rec.status, rec.stop_date, now)
    if reason is not None:
        raise ExecutionNotRedrivable(reason)
    date = await ctx.runtime.redrive_execution(rec)
    tokens.remember(arn, token, date, now)
    return {"redriveDate": date}
