"""Python client helpers: the loops people otherwise write by hand around boto3.

Every helper takes an optional ``client`` (a boto3 ``stepfunctions`` client); without
one it makes a client from the standard AWS settings (see :func:`make_client`), so the
same code drives opensfn or AWS itself. Inputs are JSON-serialisable Python values and
outputs are parsed JSON; a run that does not succeed raises :class:`ExecutionFailed`
carrying the execution's ``error`` and ``cause``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from opensfn.client.connect import make_client
from opensfn.errors import OpensfnError

__all__ = [
    "DEFAULT_ROLE_ARN",
    "END_EVENTS",
    "ExecutionFailed",
    "deploy",
    "execution_result",
    "find_state_machine",
    "iter_history",
    "run_definition",
    "start_and_wait",
    "wait_for_execution",
    "watch_history",
]

# Any role ARN is accepted by opensfn; AWS needs one the caller may pass as states' role.
DEFAULT_ROLE_ARN = "arn:aws:iam::123456789012:role/opensfn"
END_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
)
_OPEN = frozenset({"RUNNING", "PENDING_REDRIVE"})


class ExecutionFailed(OpensfnError):
    """An execution ended FAILED, TIMED_OUT or ABORTED.

    ``status`` is the execution's status, ``error`` and ``cause`` what DescribeExecution
    reports (``States.Timeout`` for a timed-out run, ``None`` when AWS gives none), and
    ``description`` the whole DescribeExecution response.
    """

    def __init__(self, description: dict[str, Any]) -> None:
        self.description = description
        self.execution_arn: str = description["executionArn"]
        self.status: str = description["status"]
        self.error: str | None = description.get("error")
        self.cause: str | None = description.get("cause")
        detail = ": ".join(x for x in (self.error, self.cause) if x)
        super().__init__(f"{self.execution_arn} {self.status}" + (f": {detail}" if detail else ""))


def _client(client: Any) -> Any:
    return make_client() if client is None else client


def wait_for_execution(
    execution_arn: str,
    *,
    timeout: float | None = None,
    client: Any = None,
    min_delay: float = 0.05,
    max_delay: float = 2.0,
) -> dict[str, Any]:
    """Poll DescribeExecution until the execution is no longer running; return it.

    The delay between polls starts at ``min_delay`` and grows by half each time up to
    ``max_delay``, so short runs answer fast and long ones cost few calls. Raises
    ``TimeoutError`` when ``timeout`` seconds pass first.
    """
    sfn = _client(client)
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = min_delay
    while True:
        description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] not in _OPEN:
            return description
        if deadline is not None and time.monotonic() + delay > deadline:
            raise TimeoutError(f"{execution_arn} still {description['status']} after {timeout}s")
        time.sleep(delay)
        delay = min(delay * 1.5, max_delay)


def execution_result(description: dict[str, Any]) -> Any:
    """The parsed output of a finished execution, or raise :class:`ExecutionFailed`."""
    if description["status"] != "SUCCEEDED":
        raise ExecutionFailed(description)
    output = description.get("output")
    return None if output is None else json.loads(output)


def start_and_wait(
    state_machine_arn: str,
    input: Any = None,
    *,
    name: str | None = None,
    timeout: float | None = None,
    client: Any = None,
) -> Any:
    """Start an execution, wait for it, and return its parsed output.

    ``input`` is any JSON-serialisable value (``None``: AWS's default ``{}``). Raises
    :class:`ExecutionFailed` when the execution does not succeed and ``TimeoutError``
    after ``timeout`` seconds.
    """
    sfn = _client(client)
    request: dict[str, Any] = {"stateMachineArn": state_machine_arn}
    if input is not None:
        request["input"] = json.dumps(input)
    if name is not None:
        request["name"] = name
    arn = sfn.start_execution(**request)["executionArn"]
    return execution_result(wait_for_execution(arn, timeout=timeout, client=sfn))


def iter_history(
    execution_arn: str,
    *,
    reverse: bool = False,
    include_data: bool = True,
    page_size: int = 1000,
    client: Any = None,
) -> Iterator[dict[str, Any]]:
    """Every history event of an execution, following ``nextToken`` page by page."""
    sfn = _client(client)
    request: dict[str, Any] = {
        "executionArn": execution_arn,
        "reverseOrder": reverse,
        "includeExecutionData": include_data,
        "maxResults": page_size,
    }
    while True:
        page = sfn.get_execution_history(**request)
        yield from page["events"]
        if not page.get("nextToken"):
            return
        request["nextToken"] = page["nextToken"]


def watch_history(
    execution_arn: str,
    *,
    client: Any = None,
    min_delay: float = 0.05,
    max_delay: float = 1.0,
    include_data: bool = True,
) -> Iterator[dict[str, Any]]:
    """Yield an execution's history events as they happen, until its final event.

    New events are found by asking again for the last page with the token that fetched
    it (tokens name a position), so a long history is not read again on every poll.
    """
    sfn = _client(client)
    request: dict[str, Any] = {
        "executionArn": execution_arn,
        "includeExecutionData": include_data,
        "maxResults": 1000,
    }
    seen = 0  # events of the current page already yielded
    delay = min_delay
    while True:
        page = sfn.get_execution_history(**request)
        events = page["events"]
        for event in events[seen:]:
            yield event
            if event["type"] in END_EVENTS:
                return
        delay = min_delay if len(events) > seen else min(delay * 1.5, max_delay)
        if page.get("nextToken"):
            request["nextToken"], seen = page["nextToken"], 0
            continue
        seen = len(events)
        time.sleep(delay)


def find_state_machine(name: str, *, client: Any = None) -> str | None:
    """The ARN of the state machine called ``name``, or ``None``."""
    sfn = _client(client)
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                return str(machine["stateMachineArn"])
    return None


def deploy(
    name: str,
    definition: str | dict[str, Any],
    *,
    role_arn: str | None = None,
    machine_type: str = "STANDARD",
    client: Any = None,
) -> str:
    """Create the state machine ``name``, or update its definition if it exists; its ARN."""
    from botocore.exceptions import ClientError

    sfn = _client(client)
    text = definition if isinstance(definition, str) else json.dumps(definition)
    role = role_arn or DEFAULT_ROLE_ARN
    try:
        out = sfn.create_state_machine(name=name, definition=text, roleArn=role, type=machine_type)
        return str(out["stateMachineArn"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "StateMachineAlreadyExists":
            raise
    arn = find_state_machine(name, client=sfn)
    if arn is None:  # deleted between the two calls: the create was the right call after all
        out = sfn.create_state_machine(name=name, definition=text, roleArn=role, type=machine_type)
        return str(out["stateMachineArn"])
    update: dict[str, Any] = {"stateMachineArn": arn, "definition": text}
    if role_arn:
        update["roleArn"] = role_arn
    sfn.update_state_machine(**update)
    return arn


def run_definition(
    definition: str | dict[str, Any],
    input: Any = None,
    *,
    role_arn: str | None = None,
    timeout: float | None = None,
    client: Any = None,
) -> Any:
    """Run a definition once, ad hoc, and return its parsed output.

    A state machine with a unique name is created for the run and deleted afterwards,
    whatever the outcome. Raises :class:`ExecutionFailed` like :func:`start_and_wait`.
    """
    sfn = _client(client)
    arn = deploy(
        f"opensfn-adhoc-{uuid.uuid4().hex[:12]}", definition, role_arn=role_arn, client=sfn
    )
    try:
        return start_and_wait(arn, input, timeout=timeout, client=sfn)
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)
