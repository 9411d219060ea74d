"""``opensfn executions`` and ``opensfn history``: looking at what ran."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.text import Text

from opensfn.client.cli import cli
from opensfn.client.connect import EXIT_SERVICE_ERROR, aws_errors, aws_options, client_from, fail
from opensfn.client.helpers import find_state_machine, iter_history
from opensfn.client.render import (
    duration,
    elapsed,
    event_style,
    event_summary,
    print_json,
    print_table,
    status_text,
)

__all__ = ["executions", "history"]

STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]


def _when(value: datetime) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _machines(sfn: Any, machine: str | None) -> list[str]:
    if machine is None:
        paginator = sfn.get_paginator("list_state_machines")
        # Express executions are not listed by the service (AWS keeps no history for them).
        return [
            m["stateMachineArn"]
            for p in paginator.paginate()
            for m in p["stateMachines"]
            if m.get("type", "STANDARD") == "STANDARD"
        ]
    if machine.startswith("arn:"):
        return [machine]
    arn = find_state_machine(machine, client=sfn)
    if arn is None:
        fail(f"no state machine is called {machine!r}", EXIT_SERVICE_ERROR)
    return [arn]


def _list(sfn: Any, machine_arn: str, status: str | None, limit: int) -> list[dict[str, Any]]:
    request: dict[str, Any] = {"stateMachineArn": machine_arn, "maxResults": min(limit, 1000)}
    if status:
        request["statusFilter"] = status
    found: list[dict[str, Any]] = []
    while len(found) < limit:
        page = sfn.list_executions(**request)
        found += page["executions"]
        if not page.get("nextToken"):
            break
        request["nextToken"] = page["nextToken"]
    return found[:limit]


@cli.command()
@click.argument("state_machine", required=False, metavar="[STATE_MACHINE]")
@click.option(
    "--status", type=click.Choice(STATUSES), default=None, help="Only executions in this status."
)
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print ListExecutions' JSON items.")
@aws_options
def executions(
    state_machine: str | None, status: str | None, limit: int, as_json: bool, **options: Any
) -> None:
    """List executions, newest first, with their status and duration.

    STATE_MACHINE is a state machine's name or ARN; without it, the executions of
    every state machine are listed.
    """
    with aws_errors():
        sfn = client_from(options)
        found = [e for arn in _machines(sfn, state_machine) for e in _list(sfn, arn, status, limit)]
    found.sort(key=lambda e: e["startDate"], reverse=True)
    found = found[:limit]
    if as_json:
        print_json({"executions": found})
        return
    rows = [
        [
            e["name"],
            status_text(e["status"]),
            e["stateMachineArn"].rsplit(":", 1)[-1],
            _when(e["startDate"]),
            duration(elapsed(e["startDate"], e.get("stopDate"))),
            e["executionArn"],
        ]
        for e in found
    ]
    print_table(["NAME", "STATUS", "STATE MACHINE", "STARTED", "DURATION", "ARN"], rows)


@cli.command()
@click.argument("execution_arn", metavar="EXECUTION_ARN")
@click.option("--json", "as_json", is_flag=True, help="Print the raw events as JSON.")
@click.option("--reverse", is_flag=True, help="Newest event first.")
@click.option("--no-data", is_flag=True, help="Leave inputs and outputs out.")
@aws_options
def history(
    execution_arn: str, as_json: bool, reverse: bool, no_data: bool, **options: Any
) -> None:
    """Show an execution's history as a timeline (every page of it).

    Each line is an event: its id, the time since the execution started, its type, and
    the state, error, cause, input or output it carries.
    """
    with aws_errors():
        sfn = client_from(options)
        events = list(
            iter_history(execution_arn, reverse=reverse, include_data=not no_data, client=sfn)
        )
    if as_json:
        print_json({"events": events})
        return
    start = min((e["timestamp"] for e in events), default=None)
    rows = [
        [
            e["id"],
            "+" + duration(elapsed(start, e["timestamp"])) if start else "",
            Text(e["type"], style=event_style(e["type"])),
            event_summary(e),
        ]
        for e in events
    ]
    print_table(["ID", "TIME", "TYPE", "DETAILS"], rows)
