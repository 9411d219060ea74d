"""``opensfn worker MODULE:FUNCTION --activity NAME_OR_ARN``: an activity worker from the shell."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from opensfn.client.cli import cli
from opensfn.client.connect import aws_errors, aws_options, client_from

__all__ = ["load_handler", "resolve_activity", "worker"]


def load_handler(ref: str) -> Callable[..., Any]:
    """The callable ``module:function`` names (``function`` may be dotted, ``obj.method``).

    The current directory is importable, as with ``python -m``.
    """
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise click.BadParameter(f"{ref!r} is not MODULE:FUNCTION", param_hint="MODULE:FUNCTION")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(
            f"cannot import {module_name}: {exc}", param_hint="MODULE:FUNCTION"
        ) from None
    for part in attr.split("."):
        if not hasattr(target, part):
            raise click.BadParameter(f"{module_name} has no {attr}", param_hint="MODULE:FUNCTION")
        target = getattr(target, part)
    if not callable(target):
        raise click.BadParameter(f"{ref} is not callable", param_hint="MODULE:FUNCTION")
    return target  # type: ignore[no-any-return]


def resolve_activity(sfn: Any, name_or_arn: str) -> str:
    """The ARN of an activity given by ARN or by name (created when no such name exists)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    for page in sfn.get_paginator("list_activities").paginate():
        for activity in page["activities"]:
            if activity["name"] == name_or_arn:
                return str(activity["activityArn"])
    return str(sfn.create_activity(name=name_or_arn)["activityArn"])


@cli.command(
    epilog="SIGTERM or Ctrl-C stops polling and finishes the tasks in hand; a second one "
    "exits at once."
)
@click.argument("handler_ref", metavar="MODULE:FUNCTION")
@click.option(
    "--activity",
    required=True,
    envvar="OPENSFN_ACTIVITY",
    help="Activity name or ARN; a name that does not exist is created [OPENSFN_ACTIVITY].",
)
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(1),
    default=1,
    envvar="OPENSFN_CONCURRENCY",
    help="Tasks run at once, each on its own thread [1; OPENSFN_CONCURRENCY].",
)
@click.option(
    "--heartbeat-seconds",
    type=click.FloatRange(0),
    default=10.0,
    envvar="OPENSFN_HEARTBEAT_SECONDS",
    help="Heartbeat interval while a task runs; 0 = none [10; OPENSFN_HEARTBEAT_SECONDS].",
)
@click.option("--name", "worker_name", default=None, help="Worker name [host-pid].")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    envvar="OPENSFN_LOG_LEVEL",
)
@aws_options
def worker(
    handler_ref: str,
    activity: str,
    concurrency: int,
    heartbeat_seconds: float,
    worker_name: str | None,
    log_level: str,
    **options: Any,
) -> None:
    """Run MODULE:FUNCTION for each task of an activity.

    FUNCTION receives the task's input (parsed JSON), and the task (token, heartbeat())
    when it takes a second argument. Its return value is the task's output; an
    exception fails the task with the exception's type name as error and its message
    as cause (raise opensfn.worker.TaskFailed(error, cause) to choose them).

    \b
    Example:
      opensfn worker shop.tasks:charge --activity charge-card --concurrency 8
    """
    from opensfn.worker import Worker

    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler = load_handler(handler_ref)
    with aws_errors():
        sfn = client_from(options, max_pool_connections=concurrency + 4, retries=1)
        activity_arn = resolve_activity(sfn, activity)
        try:
            Worker(
                activity_arn,
                handler,
                concurrency=concurrency,
                heartbeat_seconds=heartbeat_seconds,
                client=sfn,
                name=worker_name,
            ).run()
        except KeyboardInterrupt:  # the second signal: leave without waiting
            sys.exit(130)
