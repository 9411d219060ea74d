"""A best-effort outbox: items queued on the event loop, sent in batches off it.

What Step Functions delivers "on a best-effort basis" (EventBridge status change events,
CloudWatch Logs records) goes through one of these: queuing never waits and never fails
the execution that caused it; a batch that cannot be delivered is logged and dropped;
a full queue (the destination far behind) drops new items. Losses are logged when their
reason changes, else once per thousand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

LOG = logging.getLogger("opensfn.runtime")
T = TypeVar("T")


class Outbox(Generic[T]):
    """Items of one kind (``what``, for the log) sent ``batch`` at a time by ``send``.

    Mutable on purpose: it holds the queue and the sending task."""

    def __init__(
        self,
        what: str,
        send: Callable[[list[T]], Awaitable[None]],
        batch: int,
        limit: int = 10_000,
    ) -> None:
        self.what = what
        self._send = send
        self._batch = batch
        self._queue: asyncio.Queue[T] = asyncio.Queue(limit)
        self._sender: asyncio.Task[None] | None = None
        self.dropped = 0
        self._why = ""

    def put(self, item: T) -> None:
        """Queue ``item`` (never waits)."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.drop(1, "the destination is behind")
            return
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._drain())

    def drop(self, count: int, why: str) -> None:
        """Count ``count`` items lost: logged when the reason changes, else once per
        thousand (a destination that is down does not flood the log)."""
        before = self.dropped
        self.dropped += count
        if why != self._why or before // 1000 != self.dropped // 1000:
            self._why = why
            LOG.warning("%d %s dropped in all: %s", self.dropped, self.what, why)

    async def _drain(self) -> None:
        while not self._queue.empty():
            batch = [self._queue.get_nowait()]
            while len(batch) < self._batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._send(batch)
            except Exception as exc:  # best effort: logged and dropped, never raised
                self.drop(len(batch), f"not delivered: {exc}")

    async def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (for at most ``timeout`` seconds)."""
        if self._sender is not None and not self._sender.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._sender), timeout)
            except TimeoutError:
                self.drop(self._queue.qsize(), "not sent before shutdown")


class ServiceOutbox(Generic[T]):
    """An outbox whose batches go to an AWS service: ``client_of(region)`` gives the
    service's client, ``run_blocking`` runs a blocking call off the event loop; a
    subclass sends a batch in :meth:`_send`."""

    def __init__(
        self,
        what: str,
        batch: int,
        client_of: Callable[[str], Any],
        run_blocking: Callable[..., Awaitable[Any]],
    ) -> None:
        self._client_of = client_of
        self._run_blocking = run_blocking
        self.outbox: Outbox[T] = Outbox(what, self._send, batch)

    async def _send(self, batch: list[T]) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Send what is queued (a few seconds at most)."""
        await self.outbox.close()
