"""opensfn.client: the connector's Python helpers (the CLI lives in ``opensfn.client.cli``).

::

    from opensfn.client import make_client, start_and_wait, ExecutionFailed

    sfn = make_client("http://127.0.0.1:8083")
    try:
        output = start_and_wait(machine_arn, {"order": 42}, client=sfn)
    except ExecutionFailed as exc:
        print(exc.status, exc.error, exc.cause)
"""

from opensfn.client.connect import make_client
from opensfn.client.helpers import (
    DEFAULT_ROLE_ARN,
    ExecutionFailed,
    deploy,
    execution_result,
    find_state_machine,
    iter_history,
    run_definition,
    start_and_wait,
    wait_for_execution,
    watch_history,
)

__all__ = [
    "DEFAULT_ROLE_ARN",
    "ExecutionFailed",
    "deploy",
    "execution_result",
    "find_state_machine",
    "iter_history",
    "make_client",
    "run_definition",
    "start_and_wait",
    "wait_for_execution",
    "watch_history",
]
