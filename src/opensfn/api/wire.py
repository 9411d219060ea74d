"""HTTP/1.1 for ``opensfn serve``: httptools parsing straight into the API's handler.

uvicorn runs the server (sockets, signals, lifespan, graceful shutdown); this is the
protocol it runs for each connection. uvicorn's own protocol turns every request into
an ASGI cycle (a scope dict, an event, receive/send coroutines and message dicts, a
keep-alive timer per response) and writes a response's head and body with two
``send`` calls. Measured on the 2-core benchmark machine with a lean client against a
handler that does nothing: 92–102 µs of server CPU per request through uvicorn's
protocol, 54 µs through one like this. Here a parsed request is a :class:`HttpRequest`
handed to the handler, and its answer goes out in one write.

What HTTP/1.1 asks of a server and the API's clients rely on is kept: keep-alive (an
idle connection is closed after uvicorn's ``timeout_keep_alive``), pipelined requests
answered in order, ``Expect: 100-continue``, ``Connection: close`` and HTTP/1.0,
chunked request bodies (httptools decodes them), a body limit (the handler sees
``too_large``), 400 for a request that does not parse, a graceful shutdown that lets
the request in hand finish, and a future that tells a long poll its client has gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar, cast

import httptools

LOG = logging.getLogger("opensfn.api")

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]

_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_INVALID = b"Invalid HTTP request received."
_BAD_REQUEST = (
    b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_INVALID), _INVALID)
)
_QUEUE_LIMIT = 16  # pipelined requests held before reading pauses
_HEAD_LIMIT = 65_536  # bytes of request line and headers accepted (AWS allows far less)


@dataclass(slots=True, eq=False)
class HttpRequest:
    """One parsed request."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    """Lower-case names; a repeated header's values joined with ``,``."""
    body: bytes
    too_large: bool = False
    """The body went past the protocol's limit (and was not kept)."""
    keep_alive: bool = True
    http10: bool = False
    """An HTTP/1.0 request: keeping its connection open must be said in the answer."""
    connection: Any = field(default=None, repr=False)

    def gone(self) -> asyncio.Future[None]:
        """Resolves when the client has disconnected (for waits that may last)."""
        if self.connection is None:
            return asyncio.get_running_loop().create_future()
        future: asyncio.Future[None] = self.connection.lost_future()
        return future


Handler = Callable[[HttpRequest], Awaitable[Answer]]


def head(status: int, headers: Headers, length: int, extra: Headers) -> bytes:
    """A response's status line and headers."""
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Status"))]
    for name, value in extra:
        lines.append(b"%s: %s\r\n" % (name, value))
    for name, value in headers:
        lines.append(b"%s: %s\r\n" % (name, value))
    lines.append(b"content-length: %d\r\n\r\n" % length)
    return b"".join(lines)


class ApiProtocol(asyncio.Protocol):
    """One client connection. Subclass with :func:`bind` to give it a handler."""

    bound: ClassVar[tuple[Handler, int]]
    """The handler and the body limit (set by :func:`bind`)."""

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: Any = None,
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.handler, self.max_body = self.bound
        self.server_state = server_state
        self.keep_alive_timeout = float(config.timeout_keep_alive)
        self.loop = _loop or asyncio.get_event_loop()
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.size = 0
        self.head_size = 0
        self.too_large = False
        self.queue: deque[HttpRequest] = deque()
        self.busy = False
        self.closing = False
        self.last_seen = False  # a request that closes the connection (or bad data) was read
        self.broken = False  # bad data was read: 400 once the requests before it are answered
        self.paused = False
        self.idle: asyncio.TimerHandle | None = None
        self.active = 0.0  # loop time of the last data or answer (the idle clock's start)
        self.lost: asyncio.Future[None] | None = None

    # ------------------------------------------------------------------ transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's: not a subclass
        self.server_state.connections.add(self)
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)
        self.closing = True
        self.queue.clear()
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        if self.lost is not None and not self.lost.done():
            self.lost.set_result(None)

    def eof_received(self) -> bool | None:
        return None  # close once the answers in hand are written

    def data_received(self, data: bytes) -> None:
        self.active = self.loop.time()
        if self.last_seen:
            return  # past a request that closes the connection: nothing more is read
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            # No protocol upgrades here (websockets, h2c); anything that does not parse
            # is answered 400 once the requests before it are, then the connection closes.
            if self.last_seen:
                return
            self.broken = self.last_seen = True
            if self.transport is not None:
                self.transport.pause_reading()
            if not self.busy and not self.queue:
                self._refuse()

    def _refuse(self) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(_BAD_REQUEST)
            transport.close()
        self.closing = True

    def lost_future(self) -> asyncio.Future[None]:
        if self.lost is None:
            self.lost = self.loop.create_future()
            if self.transport is None or self.transport.is_closing():
                self.lost.set_result(None)
        return self.lost

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: close now if idle, else after the request in hand."""
        self.closing = True
        if not self.busy and self.transport is not None:
            self.transport.close()

    # ------------------------------------------------------------------ parser callbacks

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = {}
        self.chunks = []
        self.size = 0
        self.head_size = 0
        self.too_large = False

    def on_url(self, url: bytes) -> None:
        self.url += url
        self._count_head(len(url))

    def _count_head(self, n: int) -> None:
        self.head_size += n
        if self.head_size > _HEAD_LIMIT:  # stops the parser: answered 400 and closed
            raise httptools.HttpParserError("request head too large")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value))
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        known = self.headers.get(key)
        self.headers[key] = text if known is None else f"{known},{text}"

    def on_headers_complete(self) -> None:
        if self.headers.get("expect", "").lower() != "100-continue":
            return
        length = self.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            return  # the answer (the body is too large) is sent instead of 100 Continue
        if self.transport is not None:
            self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.max_body:
            self.too_large = True
            self.chunks = []
        elif not self.too_large:
            self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.closing:
            return
        path, _, query = self.url.partition(b"?")
        body = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
        self.chunks = []
        request = HttpRequest(
            self.parser.get_method().decode("latin-1"),
            path.decode("latin-1"),
            query.decode("latin-1"),
            self.headers,
            body,
            self.too_large,
            self.parser.should_keep_alive(),
            self.parser.get_http_version() == "1.0",
            self,
        )
        if not request.keep_alive:
            self.last_seen = True
        self.queue.append(request)
        if not self.busy:
            self._next()
        elif len(self.queue) >= _QUEUE_LIMIT and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    # ------------------------------------------------------------------ answering

    def _next(self) -> None:
        request = self.queue.popleft()
        self.busy = True
        task = self.loop.create_task(self._serve(request))
        tasks = self.server_state.tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _serve(self, request: HttpRequest) -> None:
        try:
            status, headers, body = await self.handler(request)
        except Exception:
            LOG.exception("request handler failed")
            status, headers, body = 500, [(b"content-type", b"text/plain")], b"Internal error"
        transport = self.transport
        self.busy = False
        if transport is None or transport.is_closing():
            return
        keep = request.keep_alive and not self.closing
        extra: Headers = list(self.server_state.default_headers)
        if not keep:
            extra.append((b"connection", b"close"))
        elif request.http10:
            extra.append((b"connection", b"keep-alive"))
        content = b"" if request.method == "HEAD" else body
        transport.write(head(status, headers, len(body), extra) + content)
        self.server_state.total_requests += 1
        if not keep:
            transport.close()
            return
        if self.queue:
            self._next()
        elif self.broken:
            self._refuse()
        else:
            self._arm_idle()
        if self.paused and len(self.queue) < _QUEUE_LIMIT // 2:
            self.paused = False
            transport.resume_reading()

    def _arm_idle(self) -> None:
        # One timer per connection, not one per request: it notes the time and, when it
        # fires, closes the connection only if nothing happened for the whole timeout.
        self.active = self.loop.time()
        if self.idle is None:
            self.idle = self.loop.call_later(self.keep_alive_timeout, self._close_idle)

    def _close_idle(self) -> None:
        self.idle = None
        if self.transport is None or self.transport.is_closing():
            return
        quiet = self.loop.time() - self.active
        if self.busy or self.queue or quiet < self.keep_alive_timeout:
            wait = max(self.keep_alive_timeout - quiet, 0.05)
            self.idle = self.loop.call_later(wait, self._close_idle)
            return
        self.transport.close()

    def pause_writing(self) -> None:
        """The write buffer is full: answers wait in it (they are bounded by the queue)."""

    def resume_writing(self) -> None:
        """The write buffer drained."""


def bind(handler: Handler, max_body: int) -> type[ApiProtocol]:
    """An :class:`ApiProtocol` class answering with ``handler`` (uvicorn's ``http=``)."""
    return type("BoundApiProtocol", (ApiProtocol,), {"bound": (handler, max_body)})


__all__ = ["Answer", "ApiProtocol", "Handler", "Headers", "HttpRequest", "bind", "head"]
