"""The HTTP edge: one POST route speaking AWS JSON 1.0 for ``AWSStepFunctions``.

A request is decoded (``X-Amz-Target``, JSON body), checked against the botocore
model, handed to its operation, and answered as JSON or as an AWS-shaped error
``{"__type": code, "message": ...}`` with the error's HTTP status. Bad input never
yields a 500; an unexpected exception is logged and answers InternalFailure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from opensfn.api.access import AccessLog, request_id
from opensfn.api.auth import authenticate, load_credentials
from opensfn.api.context import RequestContext, Services
from opensfn.api.model import decode_request
from opensfn.api.operations import OPERATIONS
from opensfn.api.sigv4 import Credentials, credential_scope
from opensfn.config import DURABILITY, Settings
from opensfn.errors import (
    ApiError,
    InternalFailure,
    RequestEntityTooLarge,
    UnknownOperationException,
)
from opensfn.runtime.runner import Runtime
from opensfn.store.sqlite import open_store

LOG = logging.getLogger("opensfn.api")
MAX_BODY = 1_048_576 + 65_536  # a 1 MB definition plus the rest of the request
_PREFIX = "AWSStepFunctions."
_CONTENT_TYPE = "application/x-amz-json-1.0"
_CONTENT_TYPE_BYTES = _CONTENT_TYPE.encode()


def _error_body(exc: ApiError) -> bytes:
    body: dict[str, Any] = {"__type": exc.code, "message": exc.message}
    body.update(getattr(exc, "fields", {}))
    return orjson.dumps(body)


class _AsgiEndpoint:
    """An ASGI callable as a Starlette route endpoint (a class, so Starlette passes ASGI
    arguments instead of a Request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by (lower-case) name, read from the ASGI scope directly
    (Starlette's Request/Headers objects cost more than the rest of a cheap call)."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


async def _read_body(headers: Mapping[str, str], receive: Receive) -> bytes:
    length = headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise RequestEntityTooLarge(
            f"Request body of {length} bytes exceeds the maximum of {MAX_BODY} bytes"
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect: as Starlette's stream()
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        if not more and not chunks and len(chunk) <= MAX_BODY:
            return chunk  # the usual case: the whole body in one message
        size += len(chunk)
        if size > MAX_BODY:
            raise RequestEntityTooLarge(f"Request body exceeds the maximum of {MAX_BODY} bytes")
        chunks.append(chunk)
        if not more:
            return b"".join(chunks)


def _region(headers: Mapping[str, str], default: str) -> str:
    return credential_scope(headers)[1] or default


async def _dispatch(
    services: Services,
    scope: Scope,
    receive: Receive,
    headers: Mapping[str, str],
    keys: Mapping[str, Credentials] | None,
) -> tuple[str, bytes | None]:
    target = headers.get("x-amz-target", "")
    op = target[len(_PREFIX) :] if target.startswith(_PREFIX) else ""
    body = await _read_body(headers, receive)
    settings = services.settings
    account = settings.account_id
    if keys is not None:  # --auth: the signature is checked before anything else, as AWS does
        account = authenticate(Request(scope, receive), body, keys).account_id
    # As AWS: the body is decoded and checked against the model before anything else.
    params = decode_request(op, body)
    handler = OPERATIONS.get(op)
    if handler is None:  # in the model, not implemented yet
        raise UnknownOperationException(f"opensfn does not implement {op} yet")
    ctx = RequestContext(account, _region(headers, settings.region), services)
    if op in _LONG_POLLS:
        result = await _unless_disconnected(handler(ctx, params), receive)
        if result is None:
            return op, None
    else:
        result = await handler(ctx, params)
    return op, result if isinstance(result, bytes) else orjson.dumps(result)


# Operations that may wait long for something to happen: a poller that hangs up must not
# be handed a task it will never see (the task would be lost until it times out).
_LONG_POLLS = frozenset({"GetActivityTask"})


async def _unless_disconnected(work: Awaitable[Any], receive: Receive) -> Any:
    """Await ``work``; None if the client hung up first (``work`` is then cancelled)."""

    async def hung_up() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(hung_up())
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


def create_app(settings: Settings) -> ASGIApp:
    """The ASGI application; the store and runtime open and close with its lifespan."""
    state: dict[str, Services] = {}
    # With --auth, the accepted keys (read once, so a bad file stops the server at start).
    keys = load_credentials(settings.credentials) if settings.auth else None
    access = AccessLog()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = open_store(settings.sqlite_path, DURABILITY[settings.durability])
        runtime = Runtime(store, settings.wait_scale, settings)
        await runtime.start()
        state["services"] = Services(settings, store, runtime)
        LOG.info(
            "opensfn ready: db %s, %d open executions", settings.sqlite_path, len(runtime.open)
        )
        try:
            yield
        finally:
            await runtime.shutdown()
            await store.close()
            LOG.info("opensfn stopped: writes drained, database closed")

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        # A plain ASGI handler: Starlette's middleware, routing and Response objects cost
        # about a third of the server's CPU per call (py-spy), so the one hot route answers
        # by itself with the same status, headers and body.
        started = time.perf_counter()
        headers = _headers(scope)
        op = headers.get("x-amz-target", "?").removeprefix(_PREFIX)
        try:
            op, answer = await _dispatch(state["services"], scope, receive, headers, keys)
            if answer is None:  # the client hung up during a long poll: nobody to answer
                return
            status, content = 200, answer
        except ApiError as exc:
            status, content = exc.status, _error_body(exc)
        except Exception:
            LOG.exception("%s failed", op)
            failure = InternalFailure("An internal error occurred.")
            status, content = failure.status, _error_body(failure)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-length", str(len(content)).encode()),
                    (b"content-type", _CONTENT_TYPE_BYTES),
                    (b"x-amzn-requestid", request_id()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})
        # One line per request at info (``--log-level warning`` turns it off).
        if access.enabled():
            access.write(op, status, (time.perf_counter() - started) * 1000)

    async def health(request: Request) -> Response:
        return Response(b'{"status":"ok"}', 200, media_type="application/json")

    routed = Starlette(
        routes=[
            Route("/", _AsgiEndpoint(endpoint), methods=["POST"]),
            Route("/_opensfn/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] == "POST":
            await endpoint(scope, receive, send)  # the API: straight to its handler
        else:
            await routed(scope, receive, send)  # everything else as Starlette routes it

    return app
