"""Every setting of the server, in one place.

Each setting is a field of :class:`Settings`; ``opensfn serve`` reads it from its flag,
else from the ``OPENSFN_*`` environment variable named in the field's docstring, else
the default. :func:`load_settings` is the only constructor the rest of the code uses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from opensfn.errors import OpensfnError
from opensfn.store import postgres


class ConfigError(OpensfnError):
    """A setting has a value the server cannot use (the message says which and why)."""


@dataclass(frozen=True)
class Settings:
    """The server's settings (see each field)."""

    host: str = "127.0.0.1"
    """Address to listen on. ``--host`` / ``OPENSFN_HOST``."""

    port: int = 8083
    """TCP port (Step Functions Local's, so existing setups keep working). ``--port`` / ``OPENSFN_PORT``."""

    db: str = "./.opensfn/opensfn.db"
    """Database: a SQLite file (a path or ``sqlite:///path``) or a PostgreSQL database
    (``postgresql://user:password@host:port/dbname``; one server per database).
    ``--db`` / ``OPENSFN_DB``."""

    durability: str = "full"
    """How commits reach the disk. ``full`` (default): ``synchronous=FULL``, every call
    answered 200 survives kill -9, an OS crash and power loss (group commit: one fsync per
    batch of writes). ``normal``: ``synchronous=NORMAL``, no fsync per commit (only at WAL
    checkpoints): survives kill -9 of the server, but an OS crash or power loss may lose the
    last commits. ``--durability`` / ``OPENSFN_DURABILITY``."""

    standby: bool = False
    """With a PostgreSQL database another server holds: instead of stopping, wait as its
    standby — forward API calls to it (the address it advertises) and take over, resuming
    every open execution, as soon as it stops or dies. ``--standby`` / ``OPENSFN_STANDBY``."""

    advertise_url: str = ""
    """The address other servers of the same PostgreSQL database forward API calls to
    while this one holds it (default ``http://<host>:<port>``; set it when listening on
    0.0.0.0 or behind NAT). ``--advertise-url`` / ``OPENSFN_ADVERTISE_URL``."""

    wait_scale: float = 1.0
    """Factor applied to every timer delay (Wait, retry, timeouts); 0 fires timers at once.
    ``--wait-scale`` / ``OPENSFN_WAIT_SCALE`` (``WAIT_TIME_SCALE`` is honoured too)."""

    log_level: str = "info"
    """Logging level (debug, info, warning, error). ``--log-level`` / ``OPENSFN_LOG_LEVEL``."""

    account_id: str = "123456789012"
    """Account used in ARNs. ``--account-id`` / ``OPENSFN_ACCOUNT_ID`` (``AWS_ACCOUNT_ID`` too)."""

    region: str = "us-east-1"
    """Region used when a request carries no SigV4 credential scope. ``--region`` / ``OPENSFN_REGION``."""

    activity_poll_seconds: float = 60.0
    """How long GetActivityTask waits for a task before answering with no token (AWS: 60 s).
    ``--activity-poll-seconds`` / ``OPENSFN_ACTIVITY_POLL_SECONDS``."""

    expression_cpu_limit: float = 5.0
    """Seconds of CPU time the JSONata expressions of one step may take; past it the
    expression fails with ``States.QueryEvaluationError`` (a runaway expression would
    otherwise stall every execution on the server); 0: no limit.
    ``--expression-cpu-limit`` / ``OPENSFN_EXPRESSION_CPU_LIMIT``."""

    lambdas: str = ""
    """Local Python Lambda handlers, ``NAME=module:function`` separated by commas, called
    ``(event, context)`` like the Lambda runtime. ``--lambda NAME=module:function``
    (repeatable) / ``OPENSFN_LAMBDAS``."""

    lambda_endpoint: str = ""
    """Lambda-compatible endpoint for functions without a local handler.
    ``--lambda-endpoint`` / ``OPENSFN_LAMBDA_ENDPOINT`` (``LAMBDA_ENDPOINT`` too)."""

    endpoints: str = ""
    """Per-service endpoints for Task integrations, ``SERVICE=URL`` separated by commas
    (boto3 service names: ``sqs``, ``sns``, ``dynamodb``, ``s3``, ...). Services without one
    use boto3's own settings (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``, profiles).
    ``events`` also receives the executions' status change events and ``logs`` the
    CloudWatch Logs records of machines that log (neither is sent without its endpoint).
    ``--endpoint SERVICE=URL`` (repeatable) / ``OPENSFN_ENDPOINTS``."""

    sqs_endpoint: str = ""
    """SQS endpoint for Task integrations. ``--sqs-endpoint`` / ``OPENSFN_SQS_ENDPOINT``
    (``SQS_ENDPOINT`` too)."""

    sns_endpoint: str = ""
    """SNS endpoint for Task integrations. ``--sns-endpoint`` / ``OPENSFN_SNS_ENDPOINT``
    (``SNS_ENDPOINT`` too)."""

    dynamodb_endpoint: str = ""
    """DynamoDB endpoint for Task integrations. ``--dynamodb-endpoint`` /
    ``OPENSFN_DYNAMODB_ENDPOINT`` (``DYNAMODB_ENDPOINT`` too)."""

    step_functions_endpoint: str = ""
    """Step Functions endpoint for ``aws-sdk:sfn:*`` Tasks; empty: this server itself.
    ``--step-functions-endpoint`` / ``OPENSFN_STEP_FUNCTIONS_ENDPOINT``
    (``STEP_FUNCTIONS_ENDPOINT`` too)."""

    mock_config: str = ""
    """Step Functions Local mock configuration file (``StateMachines`` / ``MockedResponses``),
    used by executions started with ``stateMachineArn#TestCase``. ``--mock-config`` /
    ``OPENSFN_MOCK_CONFIG`` (``SFN_MOCK_CONFIG`` too)."""

    http_connections: str = ""
    """JSON file describing EventBridge connections for HTTP Tasks (connection ARN ->
    ``{"Authorization": ..., "Headers": ..., "QueryParameters": ...}``).
    ``--http-connections`` / ``OPENSFN_HTTP_CONNECTIONS``."""

    auth: bool = False
    """Verify every request's AWS Signature V4 against the keys of :attr:`credentials`; the
    key's account is the request's account. Off: any signature (or none) is accepted.
    ``--auth`` / ``OPENSFN_AUTH`` (1, true, yes, on)."""

    credentials: str = ""
    """File of the access keys accepted when :attr:`auth` is on: one key per line,
    ``ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID`` separated by white space; blank lines and
    lines starting with ``#`` are ignored. ``--credentials`` / ``OPENSFN_CREDENTIALS``."""

    @property
    def advertised(self) -> str:
        """:attr:`advertise_url`, or this server's own address."""
        return self.advertise_url or f"http://{self.host}:{self.port}"

    @property
    def database(self) -> Path | str:
        """The SQLite file (a path) or the PostgreSQL URL named by :attr:`db`."""
        return database(self.db)


# --durability values -> SQLite's synchronous setting.
DURABILITY = {"full": "FULL", "normal": "NORMAL"}


# Environment variables that are read besides OPENSFN_<FIELD>, for compatibility with
# Step Functions Local and the usual AWS variables. OPENSFN_* wins when both are set.
_ALIASES: dict[str, tuple[str, ...]] = {
    "wait_scale": ("WAIT_TIME_SCALE",),
    "account_id": ("AWS_ACCOUNT_ID",),
    "region": ("AWS_DEFAULT_REGION",),
    "lambda_endpoint": ("LAMBDA_ENDPOINT",),
    "sqs_endpoint": ("SQS_ENDPOINT",),
    "sns_endpoint": ("SNS_ENDPOINT",),
    "dynamodb_endpoint": ("DYNAMODB_ENDPOINT",),
    "step_functions_endpoint": ("STEP_FUNCTIONS_ENDPOINT",),
    "mock_config": ("SFN_MOCK_CONFIG",),
}


def database(db: str) -> Path | str:
    """The SQLite file path or the PostgreSQL URL of a ``--db`` value; raise
    :class:`ConfigError` for anything else."""
    if postgres.is_url(db):
        return db
    if db.startswith("sqlite:///"):
        return Path(db.removeprefix("sqlite:///"))
    if "://" in db:
        raise ConfigError(
            f"--db {db.split('@')[-1]!r}: unknown database URL; use a file path, "
            "sqlite:///path or postgresql://user@host/dbname"
        )
    return Path(db)


# Spellings of "on" for boolean settings given as text (environment variables).
_TRUE = frozenset({"1", "true", "yes", "on"})


def _convert(name: str, kind: Any, raw: Any) -> Any:
    try:
        if kind in (bool, "bool"):
            return raw if isinstance(raw, bool) else str(raw).strip().lower() in _TRUE
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            value = float(raw)
            if value < 0:
                raise ValueError("must not be negative")
            return value
    except ValueError as exc:
        raise ConfigError(f"setting {name}: invalid value {raw!r} ({exc})") from None
    return str(raw)


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from explicit ``overrides`` (flags; ``None`` values ignored), then environment."""
    env = os.environ if environ is None else environ
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name in given:
            values[f.name] = _convert(f.name, f.type, given[f.name])
            continue
        for var in (f"OPENSFN_{f.name.upper()}", *_ALIASES.get(f.name, ())):
            if env.get(var):
                values[f.name] = _convert(f.name, f.type, env[var])
                break
    settings = Settings(**values)
    db = database(settings.db)  # fail early on a database we cannot open
    if settings.standby and not isinstance(db, str):
        raise ConfigError("--standby needs a PostgreSQL database (--db postgresql://…)")
    if settings.durability not in DURABILITY:
        raise ConfigError(
            f"setting durability: invalid value {settings.durability!r} (full or normal)"
        )
    return settings
