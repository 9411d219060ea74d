"""boto3 clients for Task integrations: which endpoint, region and credentials they use.

An endpoint comes from, in order: the per-service settings (``--endpoint SERVICE=URL``,
then Step Functions Local's ``SQS_ENDPOINT`` / ``SNS_ENDPOINT`` / ``DYNAMODB_ENDPOINT`` /
``LAMBDA_ENDPOINT`` / ``STEP_FUNCTIONS_ENDPOINT``), else boto3's own configuration
(``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``, profiles), which boto3 applies
itself when no ``endpoint_url`` is passed. ``aws-sdk:sfn:*`` Tasks without a configured
endpoint call this server. Credentials are boto3's; when it finds none (a laptop
talking to moto or Step Functions Local style services) dummy ones are used, so local
setups need no AWS account.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from opensfn.config import Settings


def parse_pairs(text: str) -> dict[str, str]:
    """``"a=x,b=y"`` → ``{"a": "x", "b": "y"}`` (the format of list-valued settings)."""
    out: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.strip().partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


def endpoint_table(settings: Settings) -> dict[str, str]:
    """boto3 service name → endpoint URL, from the settings (explicit ones win)."""
    table: dict[str, str] = {}
    # Step Functions Local's variables first, so --endpoint can override them.
    for service, url in (
        ("sqs", settings.sqs_endpoint),
        ("sns", settings.sns_endpoint),
        ("dynamodb", settings.dynamodb_endpoint),
        ("lambda", settings.lambda_endpoint),
    ):
        if url:
            table[service] = url
    own = settings.step_functions_endpoint or _own_url(settings)
    table["stepfunctions"] = own
    table.update(parse_pairs(settings.endpoints))
    return table


def _own_url(settings: Settings) -> str:
    host = settings.host if settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


@dataclass
class Clients:
    """A cache of boto3 clients per (service, region); thread-safe (clients are made and
    used from the dispatchers' thread pool). Mutable on purpose: it is a cache."""

    settings: Settings
    endpoints: dict[str, str] = field(default_factory=dict)
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _session: Any = None

    def __post_init__(self) -> None:
        if not self.endpoints:
            self.endpoints = endpoint_table(self.settings)

    def client(self, service: str, region: str | None = None) -> Any:
        """The boto3 client of ``service`` in ``region`` (the server's region by default)."""
        region = region or self.settings.region
        key = (service, region)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                return found
            if self._session is None:
                self._session = boto3.session.Session()
            kwargs: dict[str, Any] = {
                "region_name": region,
                # One attempt: the state's Retry rules are the retry policy, as on AWS.
                "config": Config(
                    retries={"max_attempts": 1, "mode": "standard"},
                    connect_timeout=10,
                    read_timeout=70,
                    inject_host_prefix=False,
                ),
            }
            url = self.endpoints.get(service)
            if url:
                kwargs["endpoint_url"] = url
            if self._session.get_credentials() is None:
                kwargs["aws_access_key_id"] = "test"
                kwargs["aws_secret_access_key"] = "test"
            made = self._session.client(service, **kwargs)
            self._cache[key] = made
            return made

    def has_endpoint(self, service: str) -> bool:
        """Whether an endpoint is configured for ``service`` (by us, not boto3's defaults)."""
        return bool(self.endpoints.get(service))
