"""The HTTP/1.1 protocol of ``opensfn serve`` (api/wire.py) on a recording transport:
requests split anywhere across reads, pipelining, keep-alive and closing."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from opensfn.api.wire import Answer, HttpRequest, bind


class Recorder:
    """An asyncio transport that keeps what was written."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False
        self.paused = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.written.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


async def echo(req: HttpRequest) -> Answer:
    await asyncio.sleep(0)  # answers come back on a later turn, as real ones do
    return 200, [(b"content-type", b"text/plain")], f"{req.method} {req.path} {req.body!r}".encode()


def _connect(handler: Any = echo, keep_alive: float = 5) -> tuple[Any, Recorder, Any]:
    state = SimpleNamespace(connections=set(), tasks=set(), default_headers=[], total_requests=0)
    config = SimpleNamespace(timeout_keep_alive=keep_alive)
    protocol = bind(handler, 1024)(config, state)
    transport = Recorder()
    protocol.connection_made(transport)
    return protocol, transport, state


def _request(path: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


async def _settle(state: Any) -> None:
    for _ in range(50):
        await asyncio.sleep(0)
        if not state.tasks:
            return


def _bodies(written: list[bytes]) -> list[bytes]:
    data = b"".join(written)
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        out.append(rest[:length])
        data = rest[length:]
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=30))
def test_pipelined_requests_split_anywhere_are_answered_in_order(cuts: list[int]) -> None:
    stream = b"".join(_request(f"/r{i}", b"x" * i) for i in range(5))

    async def main() -> list[bytes]:
        protocol, transport, state = _connect()
        position = 0
        for cut in cuts:
            protocol.data_received(stream[position : position + cut])
            position += cut
            await asyncio.sleep(0)
        protocol.data_received(stream[position:])
        await _settle(state)
        assert not transport.closed
        return transport.written

    written = asyncio.run(main())
    expected = [f"POST /r{i} {b'x' * i!r}".encode() for i in range(5)]
    assert _bodies(written) == expected
    assert len(written) == 5  # one write per answer


def test_connection_close_and_body_limit() -> None:
    async def main() -> Recorder:
        protocol, transport, state = _connect()
        protocol.data_received(_request("/big", b"y" * 2000))  # past the 1024-byte limit
        protocol.data_received(_request("/last", b"", "Connection: close\r\n"))
        protocol.data_received(_request("/never", b""))  # after the close: not answered
        await _settle(state)
        return transport

    transport = asyncio.run(main())
    assert _bodies(transport.written) == [b"POST /big b''", b"POST /last b''"]
    assert b"connection: close" in transport.written[-1] and transport.closed


def test_too_large_is_flagged_and_lost_client_is_told() -> None:
    seen: list[HttpRequest] = []

    async def record(req: HttpRequest) -> Answer:
        seen.append(req)
        await req.gone()  # waits until the client goes away
        return 200, [], b"late"

    async def main() -> Recorder:
        protocol, transport, state = _connect(record)
        protocol.data_received(_request("/wait", b"z" * 2000))
        await asyncio.sleep(0)
        transport.closed = True
        protocol.connection_lost(None)
        await _settle(state)
        return transport

    transport = asyncio.run(main())
    assert seen[0].too_large and seen[0].body == b""
    assert transport.written == []  # nobody to answer


def test_a_request_that_does_not_parse_is_refused() -> None:
    async def main() -> Recorder:
        protocol, transport, state = _connect()
        protocol.data_received(b"BAD\x00REQUEST\r\n\r\n")
        await _settle(state)
        return transport

    transport = asyncio.run(main())
    assert transport.written[0].startswith(b"HTTP/1.1 400 ") and transport.closed


def test_bad_data_after_good_requests_is_refused_after_their_answers() -> None:
    async def main() -> Recorder:
        protocol, transport, state = _connect()
        protocol.data_received(_request("/ok", b"1") + b"GARBAGE\x00\r\n\r\n")
        await _settle(state)
        return transport

    transport = asyncio.run(main())
    assert transport.written[0].endswith(b"POST /ok b'1'")
    assert transport.written[1].startswith(b"HTTP/1.1 400 ") and transport.closed


def test_an_idle_connection_closes_after_the_keep_alive_timeout_and_not_before() -> None:
    async def main() -> tuple[bool, bool]:
        protocol, transport, state = _connect(keep_alive=0.2)
        for _ in range(6):  # a request every 0.1 s keeps it open past the timeout
            protocol.data_received(_request("/r", b""))
            await _settle(state)
            await asyncio.sleep(0.1)
        open_while_used = not transport.closed
        await asyncio.sleep(0.35)
        return open_while_used, transport.closed

    assert asyncio.run(main()) == (True, True)


def test_http_1_0_keep_alive_is_confirmed_in_the_answer() -> None:
    async def main() -> Recorder:
        protocol, transport, state = _connect()
        request = b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        protocol.data_received(request)
        await _settle(state)
        return transport

    transport = asyncio.run(main())
    assert b"connection: keep-alive" in transport.written[0] and not transport.closed
