"""uvicorn's httptools protocol, writing each response in one ``send``.

uvicorn writes a response's head and its body with two ``transport.write`` calls: two
``send`` syscalls and two TCP segments for every API call. On loopback each costs the
sender the receiver's share of the TCP stack too, and the client wakes twice. Measured on
the 2-core machine of the benchmarks (py-spy on ``opensfn serve`` under sequential
StartExecution): the two writes were 19% of the server's samples. Here the head is held
until the body follows and both go out in one write; whatever is held is written at the
latest when the response completes or the connection closes, so nothing can stay behind.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_CONTINUE = b"HTTP/1.1 100 "


class _JoinedWrites:
    """A transport that holds a response head until the next write (or a flush)."""

    __slots__ = ("_held", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + bytes(data))
        elif data[:5] == b"HTTP/" and data[:13] != _CONTINUE:
            self._held = bytes(data)  # a response head: its body comes next
        else:
            self._transport.write(data)

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class JoinedWritesProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` whose request cycles write each response at once."""

    def on_headers_complete(self) -> None:
        before = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not before:
            # The cycle's task has been created but has not run yet: nothing is written.
            cycle.transport = _JoinedWrites(self.transport)  # type: ignore[assignment]

    def on_response_complete(self) -> None:
        cycle = self.cycle
        if cycle is not None and isinstance(cycle.transport, _JoinedWrites):
            cycle.transport.flush()
        super().on_response_complete()


__all__ = ["JoinedWritesProtocol"]
