"""The ``opensfn`` command (also ``python -m opensfn``).

One click group; each sub-command is a function registered on it, so later commands
(run, validate, worker, ...) are added the same way. Every flag falls back to its
``OPENSFN_*`` environment variable (see ``opensfn.config``).
"""

from __future__ import annotations

import logging
import signal
import sys

import click

from opensfn.config import ConfigError, load_settings


@click.group()
@click.version_option(package_name="opensfn")
def cli() -> None:
    """opensfn: an open, self-hosted AWS Step Functions."""


@cli.command()
@click.option("--host", default=None, help="Address to listen on [127.0.0.1; OPENSFN_HOST].")
@click.option("--port", type=int, default=None, help="Port [8083; OPENSFN_PORT].")
@click.option(
    "--db",
    default=None,
    help="Database: a SQLite path (or sqlite:///path) or postgresql://user@host/dbname "
    "[./.opensfn/opensfn.db; OPENSFN_DB].",
)
@click.option(
    "--standby",
    is_flag=True,
    default=None,
    help="PostgreSQL held by another server: forward calls to it and take over when it "
    "stops [off; OPENSFN_STANDBY].",
)
@click.option(
    "--advertise-url",
    default=None,
    help="Address the standbys forward to [http://HOST:PORT; OPENSFN_ADVERTISE_URL].",
)
@click.option(
    "--durability",
    type=click.Choice(["full", "normal"]),
    default=None,
    help="full: every 200 is fsynced (survives power loss); normal: no fsync per commit, "
    "survives kill -9 of the server but an OS crash or power loss may lose the last "
    "commits [full; OPENSFN_DURABILITY].",
)
@click.option(
    "--wait-scale",
    type=float,
    default=None,
    help="Factor on every timer delay; 0 = no waiting [1; OPENSFN_WAIT_SCALE].",
)
@click.option(
    "--log-level", default=None, help="debug, info, warning, error [info; OPENSFN_LOG_LEVEL]."
)
@click.option(
    "--account-id", default=None, help="Account in ARNs [123456789012; OPENSFN_ACCOUNT_ID]."
)
@click.option(
    "--region", default=None, help="Region without a SigV4 scope [us-east-1; OPENSFN_REGION]."
)
@click.option(
    "--activity-poll-seconds",
    type=float,
    default=None,
    help="GetActivityTask long-poll [60; OPENSFN_ACTIVITY_POLL_SECONDS].",
)
@click.option(
    "--expression-cpu-limit",
    type=float,
    default=None,
    help="CPU seconds one step's JSONata may take; 0 = no limit [5; OPENSFN_EXPRESSION_CPU_LIMIT].",
)
@click.option(
    "--auth",
    is_flag=True,
    default=None,
    help="Verify SigV4 signatures against --credentials [off; OPENSFN_AUTH].",
)
@click.option(
    "--credentials",
    default=None,
    help="Access keys file: 'KEY SECRET ACCOUNT' per line [OPENSFN_CREDENTIALS].",
)
@click.option(
    "--lambda",
    "lambdas",
    multiple=True,
    metavar="NAME=MODULE:FUNCTION",
    help="Run Lambda function NAME as a local Python handler (repeatable) [OPENSFN_LAMBDAS].",
)
@click.option(
    "--lambda-endpoint",
    default=None,
    help="Lambda-compatible endpoint for other functions [OPENSFN_LAMBDA_ENDPOINT, LAMBDA_ENDPOINT].",
)
@click.option(
    "--endpoint",
    "endpoints",
    multiple=True,
    metavar="SERVICE=URL",
    help="Endpoint of an AWS service for Task integrations (repeatable); events=URL also "
    "receives execution status change events, logs=URL the CloudWatch Logs of machines "
    "that log [OPENSFN_ENDPOINTS].",
)
@click.option("--sqs-endpoint", default=None, help="SQS endpoint [SQS_ENDPOINT].")
@click.option("--sns-endpoint", default=None, help="SNS endpoint [SNS_ENDPOINT].")
@click.option("--dynamodb-endpoint", default=None, help="DynamoDB endpoint [DYNAMODB_ENDPOINT].")
@click.option(
    "--step-functions-endpoint",
    default=None,
    help="Endpoint for aws-sdk:sfn Tasks [this server; STEP_FUNCTIONS_ENDPOINT].",
)
@click.option(
    "--mock-config",
    default=None,
    help="Step Functions Local mock configuration file [OPENSFN_MOCK_CONFIG, SFN_MOCK_CONFIG].",
)
@click.option(
    "--http-connections",
    default=None,
    help="JSON file of connections for HTTP Tasks [OPENSFN_HTTP_CONNECTIONS].",
)
def serve(**flags: object) -> None:
    """Run the Step Functions API server."""
    import uvicorn

    _integration_flags(flags)

    from opensfn.api.app import create_app
    from opensfn.api.wire import bind

    try:
        settings = load_settings(flags)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        app = create_app(settings)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    app.freeze_gc = True
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=bind(app.handle, app.max_body),  # HTTP/1.1 on httptools, no ASGI per request
        lifespan="on",
        access_log=False,
        log_level=level,
        timeout_graceful_shutdown=5,
        proxy_headers=False,  # no proxy in front: skip parsing X-Forwarded-* per request
        server_header=False,  # AWS sends no Server header; one header less to write and parse
    )

    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal with the
    # handlers that were there before it: exit with 0 then, a clean stop is not an error.
    # A stop that follows a lost database connection exits 3 (app.exit_code).
    def exit_cleanly(signum: int, frame: object) -> None:
        raise SystemExit(app.exit_code)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, exit_cleanly)
    uvicorn.Server(config).run()
    if app.exit_code:
        raise SystemExit(app.exit_code)


def _integration_flags(flags: dict[str, object]) -> None:
    """Repeatable flags (``--lambda``, ``--endpoint``) become comma-separated settings."""
    for name in ("lambdas", "endpoints"):
        values = flags.get(name)
        flags[name] = ",".join(map(str, values)) if isinstance(values, tuple) and values else None


def main() -> None:
    """Entry point of the ``opensfn`` script."""
    cli()


from opensfn.client import commands  # noqa: E402,F401  (registers the connector commands)
