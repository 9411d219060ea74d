"""The HTTP edge: one POST route speaking AWS JSON 1.0 for ``AWSStepFunctions``.

A request is decoded (``X-Amz-Target``, JSON body), checked against the botocore
model, handed to its operation, and answered as JSON or as an AWS-shaped error
``{"__type": code, "message": ...}`` with the error's HTTP status. Bad input never
yields a 500; an unexpected exception is logged and answers InternalFailure.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import time
from collections.abc import Awaitable
from typing import Any

import orjson

from opensfn import console
from opensfn.api.access import AccessLog, request_id
from opensfn.api.auth import authenticate, load_credentials
from opensfn.api.context import RequestContext, Services
from opensfn.api.model import decode_request
from opensfn.api.operations import OPERATIONS
from opensfn.api.sigv4 import Credentials, credential_scope
from opensfn.api.standby import Standby, TookOver
from opensfn.api.wire import Answer, Headers, HttpRequest
from opensfn.config import DURABILITY, Settings
from opensfn.errors import (
    ApiError,
    InternalFailure,
    OpensfnError,
    RequestEntityTooLarge,
    UnknownOperationException,
)
from opensfn.runtime.runner import Runtime
from opensfn.store import postgres, writes
from opensfn.store.database import Store, open_store

LOG = logging.getLogger("opensfn.api")
MAX_BODY = 1_048_576 + 65_536  # a 1 MB definition plus the rest of the request
_PREFIX = "AWSStepFunctions."
_JSON_HEADERS: Headers = [(b"content-type", b"application/x-amz-json-1.0")]
_HEALTH: Answer = (200, [(b"content-type", b"application/json")], b'{"status":"ok"}')
# A standby answers, but a load balancer should send the calls to the active server.
_STANDBY: Answer = (503, [(b"content-type", b"application/json")], b'{"status":"standby"}')
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]


def _error_body(exc: ApiError) -> bytes:
    body: dict[str, Any] = {"__type": exc.code, "message": exc.message}
    body.update(getattr(exc, "fields", {}))
    return orjson.dumps(body)


def _checked_body(req: HttpRequest) -> bytes:
    length = req.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise RequestEntityTooLarge(
            f"Request body of {length} bytes exceeds the maximum of {MAX_BODY} bytes"
        )
    if req.too_large or len(req.body) > MAX_BODY:
        raise RequestEntityTooLarge(f"Request body exceeds the maximum of {MAX_BODY} bytes")
    return req.body


async def _dispatch(
    services: Services, req: HttpRequest, keys: dict[str, Credentials] | None
) -> tuple[str, bytes | None]:
    headers = req.headers
    target = headers.get("x-amz-target", "")
    op = target[len(_PREFIX) :] if target.startswith(_PREFIX) else ""
    body = _checked_body(req)
    settings = services.settings
    account = settings.account_id
    if keys is not None:  # --auth: the signature is checked before anything else, as AWS does
        account = authenticate(req.method, req.path, req.query, headers, body, keys).account_id
    # As AWS: the body is decoded and checked against the model before anything else.
    params = decode_request(op, body)
    handler = OPERATIONS.get(op)
    if handler is None:  # in the model, not implemented yet
        raise UnknownOperationException(f"opensfn does not implement {op} yet")
    region = credential_scope(headers)[1] or settings.region
    ctx = RequestContext(account, region, services, _trace_header(headers))
    if op in _LONG_POLLS:
        result = await _unless_disconnected(handler(ctx, params), req.gone())
        if result is None:
            return op, None
    else:
        result = await handler(ctx, params)
    return op, result if isinstance(result, bytes) else orjson.dumps(result)


def _trace_header(headers: dict[str, str]) -> str | None:
    """The X-Ray trace header of a request: ``X-Amzn-Trace-Id`` when it fits AWS's
    TraceHeader (at most 256 ASCII characters), else None."""
    value = headers.get("x-amzn-trace-id")
    if not value or len(value) > 256 or not value.isascii():
        return None
    return value


# Operations that may wait long for something to happen: a poller that hangs up must not
# be handed a task it will never see (the task would be lost until it times out).
_LONG_POLLS = frozenset({"GetActivityTask"})


async def _unless_disconnected(work: Awaitable[Any], gone: asyncio.Future[None]) -> Any:
    """Await ``work``; None if the client hung up first (``work`` is then cancelled)."""
    task = asyncio.ensure_future(work)

    def hung_up(_: asyncio.Future[None]) -> None:
        if not task.done():
            task.cancel()

    gone.add_done_callback(hung_up)
    try:
        return await task
    except asyncio.CancelledError:
        if gone.done() and not _current_cancelling():
            return None  # the client went away: nobody to hand anything to
        raise
    finally:
        gone.remove_done_callback(hung_up)
        if not task.done():  # this request itself was cancelled (shutdown)
            task.cancel()


def _current_cancelling() -> bool:
    """Is the running task itself being cancelled (not only what it awaits)?"""
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0


class App:
    """The server: :meth:`handle` answers one HTTP request (``api.wire`` calls it for
    ``opensfn serve``); the object is also an ASGI application, whose lifespan opens and
    closes the store and the runtime, and whose HTTP requests go to :meth:`handle`."""

    max_body = MAX_BODY
    freeze_gc = False
    """Set by ``opensfn serve``, whose process is the server alone (not by tests)."""
    exit_code = 0
    """What ``opensfn serve`` exits with: 3 once the database connection was lost."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # With --auth, the accepted keys (read once, so a bad file stops the server at start).
        self.keys = load_credentials(settings.credentials) if settings.auth else None
        self.services: Services | None = None
        # A standby (PostgreSQL held by another server): forwards calls, takes over later.
        self.standby: Standby | None = None
        self._takeover: asyncio.Task[None] | None = None
        self.access = AccessLog()

    # ------------------------------------------------------------------ lifespan

    async def startup(self) -> None:
        settings = self.settings
        synchronous = DURABILITY[settings.durability]
        db = settings.database
        if settings.standby:  # PostgreSQL (the settings check it)
            assert isinstance(db, str)
            conn, owned = postgres.connect(db, synchronous)
            if not owned:
                self.standby = Standby(conn, settings.activity_poll_seconds)
                self._takeover = asyncio.create_task(self._take_over(db, synchronous, conn))
                LOG.info(
                    "opensfn standby: db %s is held by another server; API calls are "
                    "forwarded to it until this one takes over; console at http://%s:%d%s",
                    postgres.safe_url(db), settings.host, settings.port, console.PREFIX,
                )  # fmt: skip
                return
            store = Store(db, synchronous, connection=conn)
        else:
            store = open_store(db, synchronous)
        await self._serve_from(store)

    async def _serve_from(self, store: Store) -> None:
        """Run with ``store`` (the database is this server's): resume what is open."""
        settings = self.settings
        store.on_lost(self._database_lost)
        runtime = Runtime(store, settings.wait_scale, settings)
        await runtime.start()
        if store.dialect == postgres.DIALECT:  # where standbys find this server
            await store.submit(writes.set_active_node(settings.advertised, time.time()))
        self.services = Services(settings, store, runtime)
        if self.freeze_gc:
            # What start-up built (modules, the API model's validators, compiled machines,
            # the executions resumed) lives as long as the server: out of the collector's
            # scans from now on. Measured: a full collection paused the loop 27 ms with
            # nothing open; it now scans only what requests left behind.
            gc.collect()
            gc.freeze()
        LOG.info(
            "opensfn ready: db %s, %d open executions; console at http://%s:%d%s",
            store.path or postgres.safe_url(settings.db), len(runtime.open), settings.host,
            settings.port, console.PREFIX,
        )  # fmt: skip

    async def _take_over(self, db: str, synchronous: str, conn: postgres.PgConnection) -> None:
        standby = self.standby
        assert standby is not None
        try:
            await standby.wait_for_lock()
            LOG.info("the database is free: this server takes over")
            await self._serve_from(Store(db, synchronous, connection=conn))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            LOG.exception("taking over the database failed")
            self._database_lost(repr(exc))
        finally:
            self.standby = None
            await standby.close()

    def _database_lost(self, reason: str) -> None:
        # What was in memory may be ahead of the database: stop, and let a restart resume
        # every execution from what was committed (a supervisor restarts on exit code 3).
        LOG.error(
            "lost the connection to the database (%s): stopping; a restart resumes every "
            "execution from what the database holds",
            reason,
        )
        self.exit_code = 3
        if self.freeze_gc:  # the process is the server's own: stop it
            os.kill(os.getpid(), signal.SIGTERM)

    async def shutdown(self) -> None:
        if self._takeover is not None and not self._takeover.done():
            # A standby that never took over: nothing to drain, its connection to close.
            conn = self.standby.conn if self.standby is not None else None
            self._takeover.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._takeover
            if conn is not None:
                conn.close()
        services, self.services = self.services, None
        if services is None:
            return
        await services.runtime.shutdown()
        await services.store.close()
        LOG.info("opensfn stopped: writes drained, database closed")

    # ------------------------------------------------------------------ requests

    async def handle(self, req: HttpRequest) -> Answer:
        """The answer to one request: the API on ``POST /``, a health check, the web
        console under ``/console/``, else 404/405."""
        if req.path == "/":
            if req.method == "POST":
                return await self.api(req)
            return 405, _TEXT, b"Method Not Allowed"
        if req.method in ("GET", "HEAD"):
            if req.path == "/_opensfn/health":
                return _HEALTH if self.standby is None else _STANDBY
            if req.path.startswith(console.PREFIX) or req.path == console.PREFIX[:-1]:
                return console.serve(req.path)
        return 404, _TEXT, b"Not Found"

    async def api(self, req: HttpRequest) -> Answer:
        started = time.perf_counter()
        op = req.headers.get("x-amz-target", "?").removeprefix(_PREFIX)
        try:
            services = self.services
            standby = self.standby if services is None else None
            if standby is not None:
                try:
                    if op not in _LONG_POLLS:
                        return await standby.forward(req)
                    # A poller that hangs up here must hang up there too, or the active
                    # server would hand a task to a poll nobody reads.
                    answer = await _unless_disconnected(standby.forward(req), req.gone())
                    return (200, _JSON_HEADERS, b"{}") if answer is None else answer
                except TookOver:  # the call came in as this server took over: answer it
                    services = self.services
            if services is None:
                raise InternalFailure("The server is not running.")
            op, answer = await _dispatch(services, req, self.keys)
            if answer is None:  # the client hung up during a long poll: nobody to answer
                return 200, _JSON_HEADERS, b"{}"
            status, content = 200, answer
        except ApiError as exc:
            status, content = exc.status, _error_body(exc)
        except Exception:
            LOG.exception("%s failed", op)
            failure = InternalFailure("An internal error occurred.")
            status, content = failure.status, _error_body(failure)
        # One line per request at info (``--log-level warning`` turns it off).
        if self.access.enabled():
            self.access.write(op, status, (time.perf_counter() - started) * 1000)
        return status, [*_JSON_HEADERS, (b"x-amzn-requestid", request_id())], content

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._asgi_http(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except OpensfnError as exc:  # what the operator must fix: said, no traceback
                    LOG.error("start-up failed: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                except Exception as exc:
                    LOG.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _asgi_http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        chunks: list[bytes] = []
        size, too_large, more = 0, False, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before the request was whole
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            size += len(chunk)
            too_large = too_large or size > MAX_BODY
            if not too_large:
                chunks.append(chunk)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        req = _AsgiRequest(
            scope["method"], raw_path.decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"), headers, b"".join(chunks),
            too_large,
        )  # fmt: skip
        req.receive, req.watch = receive, None
        try:
            status, answer_headers, body = await self.handle(req)
        finally:
            if req.watch is not None:
                req.watch.cancel()
        answer_headers = [*answer_headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": answer_headers})
        await send({"type": "http.response.body", "body": body})


class _AsgiRequest(HttpRequest):
    """A request that came through ASGI: a disconnect is the ``http.disconnect`` message."""

    __slots__ = ("receive", "watch")
    receive: Any
    watch: asyncio.Task[None] | None

    def gone(self) -> asyncio.Future[None]:
        receive = self.receive

        async def hung_up() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        self.watch = asyncio.ensure_future(hung_up())
        return self.watch


def create_app(settings: Settings) -> App:
    """The server for ``settings`` (ASGI application and ``api.wire`` handler)."""
    return App(settings)
