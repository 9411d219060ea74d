"""Standby: a server of a PostgreSQL database that another server holds (``--standby``).

It listens like any server but runs nothing: each API call is forwarded to the active
server, at the address that server advertised in the ``active_node`` row, exactly as
the client sent it (body, signature and Host header unchanged, so the active server
checks them as its own), and the answer comes back as the active server gave it. Its
health check answers 503 ``standby``, so a load balancer sends traffic to the active
server only.

Meanwhile it tries the database's owner lock once a second. The active server keeps
that lock for as long as its database session lives: when it stops, dies (kill -9: the
session ends with its socket) or loses its host (PostgreSQL's keepalives end the session
within ~25 s), the lock is free, this server takes it, resumes every open execution from
the database and serves on its own. The lock also fences: a server that lost its
session stops (``App._database_lost``), so two servers never advance executions at once.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import orjson

from opensfn.api.wire import Answer, HttpRequest
from opensfn.store import database, postgres

LOG = logging.getLogger("opensfn.api")
_JSON = [(b"content-type", b"application/x-amz-json-1.0")]
# Request headers that describe the connection to this server, not the call: not passed on.
_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "upgrade",
     "expect", "proxy-connection"}
)  # fmt: skip
# Answer headers written by this server's own HTTP layer.
_OWN = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "date"})
_FORWARDED = "x-opensfn-forwarded"  # marks a call a standby passed on (not signed: added)
_LOCK_POLL_SECONDS = 1.0
_ACTIVE_TTL = 1.0  # seconds the active server's address is trusted before it is read again


class TookOver(Exception):
    """Not forwarded: this server holds the database now and answers the call itself."""


def _unavailable(message: str) -> Answer:
    # 503: the SDKs retry it (the active server is changing), as they do AWS's.
    body = orjson.dumps({"__type": "ServiceUnavailable", "message": message})
    return 503, _JSON, body


class Standby:
    """Forwarding while another server holds the database; :meth:`wait_for_lock` returns
    once this one holds it."""

    def __init__(self, conn: postgres.PgConnection, long_poll_seconds: float) -> None:
        self.conn = conn
        # httpx logs every request at INFO: the forwarded calls are this server's log's noise.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        # A forwarded GetActivityTask waits as long as the active server lets it.
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, read=long_poll_seconds + 30.0), trust_env=False
        )
        self._active: tuple[float, str | None] = (-_ACTIVE_TTL, None)
        self.closed = False  # set once this server took over (see close)

    async def wait_for_lock(self) -> None:
        while not postgres.try_lock(self.conn):
            await asyncio.sleep(_LOCK_POLL_SECONDS)

    def active_url(self) -> str | None:
        """The active server's advertised address (read at most once a second)."""
        read_at, url = self._active
        now = time.monotonic()
        if now - read_at >= _ACTIVE_TTL:
            try:
                url = database.active_node(self.conn)
            except Exception as exc:  # the table is not there before the first server ran
                LOG.debug("active server not known: %r", exc)
                url = None
            self._active = (now, url)
        return url

    async def forward(self, req: HttpRequest) -> Answer:
        """The active server's answer to ``req`` (503 ServiceUnavailable if it is not there);
        :class:`TookOver` if this server took over before the call could go."""
        if self.closed:
            raise TookOver
        if _FORWARDED in req.headers:  # two servers advertise one address: never loop
            return _unavailable(
                "A forwarded call reached a standby: check each server's --advertise-url."
            )
        url = self.active_url()
        if url is None:
            return _unavailable("No opensfn server holds the database yet; try again.")
        headers = [(k, v) for k, v in req.headers.items() if k not in _HOP]
        headers.append((_FORWARDED, "1"))
        try:
            answer = await self._http.post(f"{url}/", content=req.body, headers=headers)
        except RuntimeError:  # httpx: "the client has been closed" — by the takeover
            if self.closed:
                raise TookOver from None
            raise
        except httpx.HTTPError as exc:
            LOG.warning("forwarding to the active server %s failed: %r", url, exc)
            self._active = (-_ACTIVE_TTL, None)  # read its address again next time
            return _unavailable(
                "The active opensfn server does not answer (it may be stopping; a standby "
                "takes over): try again."
            )
        kept = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in answer.headers.items()
            if name.lower() not in _OWN
        ]
        return answer.status_code, kept, answer.content

    async def close(self) -> None:
        """This server took over (or stops): calls from now on are not forwarded."""
        self.closed = True
        await self._http.aclose()
