"""Connecting to Step Functions: one boto3 client factory and the shared CLI options.

Everything the connector does goes through a boto3 ``stepfunctions`` client, so signing,
credentials, profiles, retries and endpoint settings are botocore's. Two additions make
a local server easy to reach: ``OPENSFN_ENDPOINT_URL`` is honoured besides the standard
``AWS_ENDPOINT_URL_SFN`` / ``AWS_ENDPOINT_URL``, and when an endpoint URL is given but
no region or no credentials are configured, ``us-east-1`` and dummy credentials are used
(a self-hosted server needs a signature, not a real account).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import click

__all__ = ["ENDPOINT_ENV", "aws_options", "make_client"]

ENDPOINT_ENV = "OPENSFN_ENDPOINT_URL"
DEFAULT_REGION = "us-east-1"
_DUMMY_KEY = ("opensfn", "opensfn")  # accepted by a self-hosted server, never by AWS

F = TypeVar("F", bound=Callable[..., Any])


def make_client(
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    *,
    read_timeout: float = 70.0,
    max_pool_connections: int = 10,
    retries: int | None = None,
) -> Any:
    """A boto3 Step Functions client configured the way the AWS CLI would be.

    ``endpoint_url`` defaults to ``$OPENSFN_ENDPOINT_URL``, then to botocore's own
    settings (``AWS_ENDPOINT_URL_SFN``, the profile's ``endpoint_url``, AWS itself).
    ``read_timeout`` is above GetActivityTask's 60 s long poll so a poll is never cut
    short. ``retries`` is botocore's ``max_attempts`` (its standard mode when given).
    """
    import boto3
    from botocore.config import Config

    endpoint_url = endpoint_url or os.environ.get(ENDPOINT_ENV) or None
    session = boto3.Session(profile_name=profile)
    kwargs: dict[str, Any] = {}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
        if session.get_credentials() is None:
            kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = _DUMMY_KEY
    region = region or session.region_name or (DEFAULT_REGION if endpoint_url else None)
    config: dict[str, Any] = {
        "read_timeout": read_timeout,
        "max_pool_connections": max_pool_connections,
        "user_agent_extra": "opensfn",
    }
    if endpoint_url:
        # botocore prefixes the host of TestState and StartSyncExecution with "sync-"
        # (AWS's routing); a self-hosted endpoint has no such host name.
        config["inject_host_prefix"] = False
    if retries is not None:
        config["retries"] = {"max_attempts": retries, "mode": "standard"}
    return session.client("stepfunctions", region_name=region, config=Config(**config), **kwargs)


def aws_options(command: F) -> F:
    """Add ``--endpoint-url``, ``--region`` and ``--profile`` (as the AWS CLI has them)."""
    decorators = (
        click.option(
            "--profile", default=None, help="Named profile from ~/.aws/config [AWS_PROFILE]."
        ),
        click.option(
            "--region", default=None, help="AWS region [AWS_REGION / AWS_DEFAULT_REGION]."
        ),
        click.option(
            "--endpoint-url",
            default=None,
            help=f"Step Functions endpoint, e.g. http://127.0.0.1:8083 [{ENDPOINT_ENV}; "
            "AWS_ENDPOINT_URL_SFN; AWS itself].",
        ),
    )
    for decorate in decorators:
        command = decorate(command)
    return command


def client_from(options: dict[str, Any], **config: Any) -> Any:
    """The client for a command's ``aws_options`` values (popped from ``options``)."""
    return make_client(
        options.pop("endpoint_url", None),
        options.pop("region", None),
        options.pop("profile", None),
        **config,
    )


# Exit statuses of a failed AWS call, as the AWS CLI v2 uses them: 252 the request could
# not be built (bad JSON, parameter validation), 254 the service answered an error,
# 255 anything else (no connection, no region, no credentials).
EXIT_BAD_REQUEST = 252
EXIT_SERVICE_ERROR = 254
EXIT_OTHER = 255


def fail(message: str, status: int) -> NoReturn:
    """Print ``message`` on stderr and exit with ``status``."""
    click.echo(message, err=True)
    sys.exit(status)


@contextlib.contextmanager
def aws_errors(operation: str | None = None) -> Iterator[None]:
    """Turn botocore exceptions into the AWS CLI's message and exit status."""
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    try:
        yield
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code = err.get("Code", "Unknown")
        op = exc.operation_name if operation is None else operation
        fail(
            f"An error occurred ({code}) when calling the {op} operation: {err.get('Message', '')}",
            EXIT_SERVICE_ERROR,
        )
    except ParamValidationError as exc:
        fail(str(exc), EXIT_BAD_REQUEST)
    except BotoCoreError as exc:
        fail(str(exc), EXIT_OTHER)
