"""Activity workers: poll an activity, run a Python handler per task, report the result.

::

    from opensfn.worker import Worker

    def handler(order):                     # or handler(order, task)
        return {"total": sum(order["items"])}

    Worker(activity_arn, handler, concurrency=4).run()   # until SIGTERM / Ctrl-C

Each of ``concurrency`` threads long-polls GetActivityTask and runs the handler on the
task it gets, so at most ``concurrency`` tasks are in hand and none is claimed that
cannot start at once. While handlers run, one more thread sends SendTaskHeartbeat for
every task in hand each ``heartbeat_seconds``. A returned value is sent with
SendTaskSuccess as JSON; an exception with SendTaskFailure, the error being the
exception's type name (or :class:`TaskFailed`'s explicit error) and the cause its
message. Throttling and connection errors are retried with capped, jittered
exponential back-off. SIGTERM or SIGINT stops polling: no new poll starts, and
:meth:`Worker.run` returns once the tasks in hand are finished and reported and the
polls already open have returned (a task one of them brings is worked on too, so none
is lost; that may take up to the 60 s long poll). A second signal exits at once.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from opensfn.client.connect import make_client
from opensfn.errors import OpensfnError

__all__ = ["Task", "TaskFailed", "TaskGone", "Worker", "is_retryable"]

LOG = logging.getLogger("opensfn.worker")
MAX_ERROR = 256  # SendTaskFailure's limits on error and cause
MAX_CAUSE = 32768

# Service answers worth another try after a pause: throttling, worker limits, the
# service being briefly unavailable. Anything else is the caller's fault and final.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ActivityWorkerLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
    }
)
# Answers meaning the task is no longer anyone's (timed out, answered, or unknown).
GONE_CODES = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


class TaskFailed(OpensfnError):
    """Raise from a handler to fail the task with an explicit ``error`` and ``cause``."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


class TaskGone(OpensfnError):
    """The task timed out or was answered already: its result would be refused."""


def _code(exc: BaseException) -> str | None:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return None


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed API call is worth repeating: throttling, 5xx, connection errors."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return _code(exc) in RETRYABLE_CODES or int(status) >= 500
    return False


@dataclass
class _Backoff:
    """Full-jitter exponential back-off: 0..base*2^n seconds, capped."""

    base: float = 0.2
    cap: float = 20.0
    attempt: int = 0

    def next(self) -> float:
        delay = random.uniform(0, min(self.cap, self.base * 2**self.attempt))
        self.attempt += 1
        return delay


@dataclass(frozen=True)
class Task:
    """One activity task in hand: its ``token``, its parsed ``input``, and heartbeats."""

    token: str
    input: Any
    activity_arn: str
    _worker: Worker = field(repr=False, compare=False)

    def heartbeat(self) -> None:
        """Send a heartbeat now; raise :class:`TaskGone` if the task is no longer open."""
        if not self._worker._beat(self.token):
            raise TaskGone(f"the task is no longer open ({self.activity_arn})")

    @property
    def gone(self) -> bool:
        """Whether a heartbeat learned that the task timed out (its result is useless)."""
        return self.token in self._worker._gone


def _wants_task(handler: Callable[..., Any]) -> bool:
    """Whether ``handler`` takes a second positional argument (the :class:`Task`)."""
    try:
        params = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def failure_of(exc: BaseException) -> tuple[str, str]:
    """The (error, cause) reported for a handler's exception, within AWS's limits."""
    if isinstance(exc, TaskFailed):
        error, cause = exc.error, exc.cause
    else:
        error, cause = type(exc).__name__, str(exc)
    return error[:MAX_ERROR], cause[:MAX_CAUSE]


class Worker:
    """Runs ``handler`` for the tasks of one activity (see the module's docstring).

    ``client`` is a boto3 Step Functions client; give it a read timeout above 60 s
    and ``max_pool_connections`` above ``concurrency``. Without one, such a client is
    made from the standard AWS settings (and ``OPENSFN_ENDPOINT_URL``).
    ``heartbeat_seconds`` of ``None`` or 0 turns automatic heartbeats off.
    """

    def __init__(
        self,
        activity_arn: str,
        handler: Callable[..., Any],
        *,
        concurrency: int = 1,
        heartbeat_seconds: float | None = 10.0,
        client: Any = None,
        name: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.activity_arn = activity_arn
        self.handler = handler
        self.concurrency = concurrency
        self.heartbeat_seconds = heartbeat_seconds or None
        self.client = client or make_client(
            read_timeout=70, max_pool_connections=concurrency + 4, retries=1
        )
        self.name = (name or f"{socket.gethostname()}-{os.getpid()}")[:80]
        self.succeeded = 0
        self.failed = 0
        self._pass_task = _wants_task(handler)
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._in_hand: dict[str, float] = {}  # token -> when it was received
        self._gone: set[str] = set()
        self._closed = False
        self._fatal: BaseException | None = None

    # ------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        """Stop polling; :meth:`run` returns once the tasks in hand are reported."""
        self._stop.set()

    def run(self, *, handle_signals: bool = True) -> None:
        """Poll and work until :meth:`stop` (or SIGTERM/SIGINT when ``handle_signals``
        and on the main thread); re-raise an error that made polling impossible."""
        previous = self._install_signals() if handle_signals else {}
        threads = [
            threading.Thread(target=self._poll_loop, name=f"opensfn-poll-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        if self.heartbeat_seconds:
            threads.append(
                threading.Thread(target=self._heartbeat_loop, name="opensfn-hb", daemon=True)
            )
        LOG.info(
            "worker %s polling %s (%d threads)", self.name, self.activity_arn, self.concurrency
        )
        try:
            for t in threads:
                t.start()
            while not self._stop.wait(0.5):
                pass
            # A poll still open may yet be handed a task: the task is then in hand, so
            # it is worked on and reported too. Waiting for the polls (up to the long
            # poll's 60 s) is what guarantees no task is lost; a second signal skips it.
            for t in threads[: self.concurrency]:
                while t.is_alive():
                    t.join(0.5)
        finally:
            self._closed = True
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        LOG.info(
            "worker %s stopped: %d succeeded, %d failed", self.name, self.succeeded, self.failed
        )
        if self._fatal is not None:
            raise self._fatal

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if self._stop.is_set():
                raise KeyboardInterrupt  # the second signal: give up waiting
            LOG.info(
                "signal %d: stopping once the %d task(s) in hand are reported and the open "
                "polls return (up to 60 s; signal again to exit at once)",
                signum,
                len(self._in_hand),
            )
            self.stop()

        return {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

    # ------------------------------------------------------------------ polling

    def _poll_loop(self) -> None:
        backoff = _Backoff()
        while not self._stop.is_set():
            try:
                got = self.client.get_activity_task(
                    activityArn=self.activity_arn, workerName=self.name
                )
            except Exception as exc:
                if not is_retryable(exc):
                    LOG.error("polling %s failed: %s", self.activity_arn, exc)
                    self._fatal = self._fatal or exc
                    self.stop()
                    return
                delay = backoff.next()
                LOG.warning("polling: %s; again in %.1fs", exc, delay)
                self._stop.wait(delay)
                continue
            backoff = _Backoff()
            token = got.get("taskToken")
            if not token:
                continue
            with self._cond:
                self._in_hand[token] = time.monotonic()
            try:
                self._work(token, got.get("input", "{}"))
            finally:
                with self._cond:
                    del self._in_hand[token]
                    self._gone.discard(token)
                    self._cond.notify_all()

    def _work(self, token: str, input_text: str) -> None:
        started = time.monotonic()
        try:
            task = Task(token, json.loads(input_text), self.activity_arn, self)
            result = self.handler(task.input, task) if self._pass_task else self.handler(task.input)
            output = json.dumps(result, allow_nan=False)
        except Exception as exc:
            error, cause = failure_of(exc)
            LOG.warning(
                "task failed: %s: %s", error, cause, exc_info=not isinstance(exc, TaskFailed)
            )
            self._report_failure(token, error, cause)
            return
        if token in self._gone:
            LOG.warning("task finished after it timed out; result dropped")
            return
        code = self._send("send_task_success", taskToken=token, output=output)
        if code is None:
            with self._cond:
                self.succeeded += 1
            LOG.info("task succeeded in %.3fs", time.monotonic() - started)
        elif code not in GONE_CODES:  # the output was refused (too large, ...): say why
            self._report_failure(token, code, f"SendTaskSuccess was refused: {code}")

    def _report_failure(self, token: str, error: str, cause: str) -> None:
        if token not in self._gone:
            self._send("send_task_failure", taskToken=token, error=error, cause=cause)
        with self._cond:
            self.failed += 1

    def _send(self, method: str, patience: float = 300.0, **request: Any) -> str | None:
        """Call ``method`` until it is not throttled; ``None`` or the final error code.

        Retries go on even while stopping: finishing the tasks in hand includes
        reporting them. They end after ``patience`` seconds (five minutes for results,
        after which the task's own timeout is the better judge).
        """
        backoff = _Backoff()
        deadline = time.monotonic() + patience
        while True:
            try:
                getattr(self.client, method)(**request)
                return None
            except Exception as exc:
                code = _code(exc)
                if code in GONE_CODES:
                    LOG.warning("%s: the task is gone (%s)", method, code)
                    return code
                if not is_retryable(exc) or time.monotonic() > deadline:
                    LOG.error("%s failed: %s", method, exc)
                    return code or type(exc).__name__
                time.sleep(backoff.next())

    # ------------------------------------------------------------------ heartbeats

    def _beat(self, token: str) -> bool:
        """One heartbeat for ``token``; False when the task is gone."""
        if token in self._gone:
            return False
        # A heartbeat that cannot get through before the next one is due is moot.
        code = self._send("send_task_heartbeat", self.heartbeat_seconds or 5.0, taskToken=token)
        if code in GONE_CODES:
            self._gone.add(token)
            return False
        return True

    def _heartbeat_loop(self) -> None:
        assert self.heartbeat_seconds is not None
        while not self._closed:
            time.sleep(self.heartbeat_seconds)
            with self._cond:
                tokens = list(self._in_hand)
            for token in tokens:
                if token in self._in_hand:
                    self._beat(token)
