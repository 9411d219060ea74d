"""Timers: the event loop's own heap (``loop.call_at``) keyed by (execution, timer id).

Delays are measured from the wall clock to the timer's due date, so a timer re-armed
after a restart fires at its original time. ``scale`` multiplies every delay (0 fires
at once); at scale 1 a timer that the loop's clock wakes a hair early is pushed back,
so a Wait never ends before its date.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime


class Timers:
    """Armed timers of every open execution."""

    def __init__(self, scale: float, fire: Callable[[str, str], None]) -> None:
        self._scale = scale
        self._fire = fire
        self._handles: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._by_exec: dict[str, set[str]] = {}

    def schedule(self, execution_arn: str, timer_id: str, due: datetime) -> None:
        """Arm (or re-arm) a timer for ``due``."""
        self.cancel(execution_arn, timer_id)
        due_ts = due.timestamp()
        delay = max(0.0, due_ts - time.time()) * self._scale
        loop = asyncio.get_running_loop()
        key = (execution_arn, timer_id)
        self._handles[key] = loop.call_later(delay, self._due, execution_arn, timer_id, due_ts)
        self._by_exec.setdefault(execution_arn, set()).add(timer_id)

    def _due(self, execution_arn: str, timer_id: str, due_ts: float) -> None:
        early = due_ts - time.time()
        if self._scale >= 1 and early > 0:
            loop = asyncio.get_running_loop()
            self._handles[(execution_arn, timer_id)] = loop.call_later(
                early, self._due, execution_arn, timer_id, due_ts
            )
            return
        self._forget(execution_arn, timer_id)
        self._fire(execution_arn, timer_id)

    def _forget(self, execution_arn: str, timer_id: str) -> asyncio.TimerHandle | None:
        handle = self._handles.pop((execution_arn, timer_id), None)
        ids = self._by_exec.get(execution_arn)
        if ids is not None:
            ids.discard(timer_id)
            if not ids:
                del self._by_exec[execution_arn]
        return handle

    def cancel(self, execution_arn: str, timer_id: str) -> None:
        """Disarm one timer (no-op if it is not armed)."""
        handle = self._forget(execution_arn, timer_id)
        if handle is not None:
            handle.cancel()

    def cancel_execution(self, execution_arn: str) -> None:
        """Disarm every timer of an execution."""
        for timer_id in list(self._by_exec.get(execution_arn, ())):
            self.cancel(execution_arn, timer_id)

    def cancel_all(self) -> None:
        """Disarm everything (shutdown)."""
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        self._by_exec.clear()

    def armed(self) -> int:
        """How many timers are armed."""
        return len(self._handles)
