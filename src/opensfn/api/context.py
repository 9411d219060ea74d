"""What every operation handler receives."""

from __future__ import annotations

from dataclasses import dataclass, field

from opensfn.api.redrive import RedriveTokens
from opensfn.config import Settings
from opensfn.runtime.runner import Runtime
from opensfn.store.database import Store


@dataclass(frozen=True)
class Services:
    """The server's long-lived parts, built once at start-up."""

    settings: Settings
    store: Store
    runtime: Runtime
    redrives: RedriveTokens = field(default_factory=lambda: RedriveTokens())
    """RedriveExecution's recent client tokens (``api.redrive``)."""


@dataclass(frozen=True)
class RequestContext:
    """One request: who asks (account, region, from the SigV4 scope) and the services."""

    account: str
    region: str
    services: Services
    trace_header: str | None = None
    """The request's ``X-Amzn-Trace-Id`` header (X-Ray), if it has a usable one."""

    @property
    def store(self) -> Store:
        """The store."""
        return self.services.store

    @property
    def runtime(self) -> Runtime:
        """The runtime."""
        return self.services.runtime
