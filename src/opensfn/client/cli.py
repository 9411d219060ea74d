"""The ``opensfn`` command (also ``python -m opensfn``).

One click group; each sub-command is a function registered on it, so later commands
(run, validate, worker, ...) are added the same way. Every flag falls back to its
``OPENSFN_*`` environment variable (see ``opensfn.config``).
"""

from __future__ import annotations

import logging
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
    help="Database: a path or sqlite:///path [./.opensfn/opensfn.db; OPENSFN_DB].",
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
def serve(**flags: object) -> None:
    """Run the Step Functions API server."""
    import uvicorn

    from opensfn.api.app import create_app

    try:
        settings = load_settings(flags)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level=level,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run()


def main() -> None:
    """Entry point of the ``opensfn`` script."""
    cli()


from opensfn.client import commands  # noqa: E402,F401  (registers the connector commands)
