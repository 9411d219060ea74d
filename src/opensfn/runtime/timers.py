"""Timers: one heap of (fire time, execution, timer id) behind a single loop timer.

Delays are measured from the wall clock to the timer's due date, so a timer re-armed
after a restart fires at its original time. ``scale`` multiplies every delay (0 fires
at once); at scale 1 or more a timer never fires before its due date: the heap is
only popped up to the wall clock, and a loop timer that wakes a hair early re-arms.

Why a heap and not ``loop.call_later`` per timer: 100,000 executions waiting at once
must fit in a few hundred MB. A loop TimerHandle with its arguments costs ~700 bytes
per timer (tracemalloc); a heap entry and its dict slot ~250. Cancelling is lazy: the
entry stays in the heap and is skipped when popped (``_armed`` no longer holds its
number); the heap is rebuilt when stale entries outnumber live ones. Due timers fire
in chunks of ``CHUNK`` per loop turn, so 100,000 Waits ending together do not stall
requests (and their steps still share group commits).
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from datetime import datetime

CHUNK = 500  # timers fired per loop turn


class Timers:
    """Armed timers of every open execution."""

    def __init__(self, scale: float, fire: Callable[[str, str], None]) -> None:
        self._scale = scale
        self._fire = fire
        self._heap: list[tuple[float, int, str, str]] = []  # (fire at, number, arn, id)
        self._armed: dict[tuple[str, str], int] = {}  # (arn, id) -> number of its live entry
        self._by_exec: dict[str, str | set[str]] = {}  # one id (the usual case) or a set
        self._seq = 0
        self._handle: asyncio.TimerHandle | asyncio.Handle | None = None
        self._handle_at = float("inf")

    def schedule(self, execution_arn: str, timer_id: str, due: datetime) -> None:
        """Arm (or re-arm) a timer for ``due``."""
        key = (execution_arn, timer_id)
        if key not in self._armed:
            ids = self._by_exec.get(execution_arn)
            if ids is None:
                self._by_exec[execution_arn] = timer_id
            elif isinstance(ids, str):
                self._by_exec[execution_arn] = {ids, timer_id}
            else:
                ids.add(timer_id)
        now = time.time()
        at = now + max(0.0, due.timestamp() - now) * self._scale
        self._seq += 1
        self._armed[key] = self._seq
        heapq.heappush(self._heap, (at, self._seq, execution_arn, timer_id))
        if len(self._heap) > 2 * len(self._armed) + 1000:
            self._compact()
        if at < self._handle_at:
            self._arm(asyncio.get_running_loop(), at)

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle_at = at
        self._handle = loop.call_later(max(0.0, at - time.time()), self._run)

    def _run(self) -> None:
        self._handle, self._handle_at = None, float("inf")
        heap, armed = self._heap, self._armed
        now = time.time()
        fired = 0
        while heap and heap[0][0] <= now and fired < CHUNK:
            _, number, arn, timer_id = heapq.heappop(heap)
            if armed.get((arn, timer_id)) != number:
                continue  # cancelled or re-armed since
            self._forget(arn, timer_id)
            fired += 1
            self._fire(arn, timer_id)
        if not heap:
            return
        loop = asyncio.get_running_loop()
        if heap[0][0] <= now:  # more due now: next loop turn, after pending I/O
            if self._handle is not None:
                self._handle.cancel()
            self._handle_at = heap[0][0]
            self._handle = loop.call_soon(self._run)
        elif heap[0][0] < self._handle_at:
            self._arm(loop, heap[0][0])

    def _compact(self) -> None:
        self._heap = [e for e in self._heap if self._armed.get((e[2], e[3])) == e[1]]
        heapq.heapify(self._heap)

    def _forget(self, execution_arn: str, timer_id: str) -> bool:
        if self._armed.pop((execution_arn, timer_id), None) is None:
            return False
        ids = self._by_exec.get(execution_arn)
        if isinstance(ids, set):
            ids.discard(timer_id)
            if len(ids) == 1:
                self._by_exec[execution_arn] = next(iter(ids))
        elif ids is not None:
            del self._by_exec[execution_arn]
        return True

    def cancel(self, execution_arn: str, timer_id: str) -> None:
        """Disarm one timer (no-op if it is not armed)."""
        self._forget(execution_arn, timer_id)

    def cancel_execution(self, execution_arn: str) -> None:
        """Disarm every timer of an execution."""
        ids = self._by_exec.get(execution_arn)
        if ids is None:
            return
        for timer_id in [ids] if isinstance(ids, str) else list(ids):
            self._forget(execution_arn, timer_id)

    def cancel_all(self) -> None:
        """Disarm everything (shutdown)."""
        if self._handle is not None:
            self._handle.cancel()
        self._handle, self._handle_at = None, float("inf")
        self._heap.clear()
        self._armed.clear()
        self._by_exec.clear()

    def armed(self) -> int:
        """How many timers are armed."""
        return len(self._armed)
