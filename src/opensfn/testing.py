"""Helpers for tests of state machines, usable in users' own test suites.

``FakeClock`` and ``Harness`` run the pure interpreter without a server: timers jump
the clock forward instead of sleeping, and tasks are answered by the test::

    h = Harness(definition)
    h.start('{"x": 1}')
    task = h.pending_tasks()[0]
    h.succeed(task.task_id, '{"ok": true}')
    assert h.status == "SUCCEEDED"

``LocalServer`` runs a real ``opensfn serve`` for code that talks to Step Functions
through an SDK (a fresh database in a temporary directory, a free loopback port)::

    with LocalServer() as server:
        sfn = server.client()  # boto3, endpoint_url set, dummy credentials
        ...
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

from opensfn.asl.definition import Machine, load_machine
from opensfn.engine import interpreter
from opensfn.engine.protocol import (
    Event,
    ExecutionInfo,
    ScheduleTask,
    StepContext,
    StopRequested,
    TaskFailed,
    TaskHeartbeat,
    TaskStarted,
    TaskSucceeded,
    TimerFired,
    Transition,
    Trigger,
)


@dataclass
class FakeClock:
    """A clock that only moves when told to."""

    now: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC))

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)


class Harness:
    """One execution of ``definition`` on the pure interpreter, driven by the test."""

    def __init__(
        self,
        definition: str,
        *,
        name: str = "test-execution",
        machine_name: str = "test-machine",
        region: str = "us-east-1",
        account: str = "123456789012",
        seed: int = 0,
    ) -> None:
        self.machine: Machine = load_machine(definition)
        self.clock = FakeClock()
        self._rng = random.Random(seed)
        sm_arn = f"arn:aws:states:{region}:{account}:stateMachine:{machine_name}"
        self.info = ExecutionInfo(
            execution_arn=f"arn:aws:states:{region}:{account}:execution:{machine_name}:{name}",
            execution_name=name,
            state_machine_arn=sm_arn,
            state_machine_name=machine_name,
            role_arn=f"arn:aws:iam::{account}:role/test",
            start_time=self.clock.now,
        )
        self.state: dict[str, Any] = {}
        self.events: list[Event] = []
        self.tasks: dict[str, ScheduleTask] = {}
        self.last: Transition | None = None

    # ------------------------------------------------------------------ driving

    def context(self) -> StepContext:
        """The StepContext of the next call: the fake clock and seeded randomness."""
        return StepContext(
            now=self.clock.now,
            new_uuid=lambda: str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            random=self._rng.random,
            task_token=lambda task_id: f"token-{task_id}",
        )

    def _take(self, t: Transition) -> Transition:
        self.state = t.state
        self.events.extend(t.events)
        self.last = t
        for cmd in t.commands:
            if isinstance(cmd, ScheduleTask):
                self.tasks[cmd.task_id] = cmd
        for task_id in list(self.tasks):
            if not interpreter.open_task(self.state, task_id):
                del self.tasks[task_id]
        return t

    def start(self, input_text: str = "{}") -> Transition:
        """StartExecution."""
        return self._take(interpreter.start(self.machine, self.info, input_text, self.context()))

    def step(self, trigger: Trigger) -> Transition:
        """Deliver one trigger."""
        t = interpreter.step(self.machine, self.info, self.state, trigger, self.context())
        return self._take(t)

    def fire_next_timer(self) -> bool:
        """Jump the clock to the earliest timer and fire it; False when none is set."""
        timers = self.state.get("timers") or {}
        if not timers:
            return False
        timer_id = min(timers, key=lambda k: timers[k]["due"])
        due = datetime.fromtimestamp(timers[timer_id]["due"], tz=UTC)
        if due > self.clock.now:
            self.clock.now = due
        self.step(TimerFired(timer_id))
        return True

    def run_timers(self, limit: int = 10_000) -> None:
        """Fire timers until the execution ends or waits on a task only."""
        for _ in range(limit):
            if self.status != "RUNNING" or not self.fire_next_timer():
                return

    def pending_tasks(self) -> list[ScheduleTask]:
        """Tasks scheduled and not yet answered, oldest first."""
        return list(self.tasks.values())

    def started(self, task_id: str, worker: str | None = "worker") -> Transition:
        """A worker took the task."""
        return self.step(TaskStarted(task_id, worker))

    def succeed(self, task_id: str, output: str = "{}") -> Transition:
        """SendTaskSuccess."""
        return self.step(TaskSucceeded(task_id, output))

    def fail(self, task_id: str, error: str | None = None, cause: str | None = None) -> Transition:
        """SendTaskFailure."""
        return self.step(TaskFailed(task_id, error, cause))

    def heartbeat(self, task_id: str) -> Transition:
        """SendTaskHeartbeat."""
        return self.step(TaskHeartbeat(task_id))

    def stop(self, error: str | None = None, cause: str | None = None) -> Transition:
        """StopExecution."""
        return self.step(StopRequested(error, cause))

    # ------------------------------------------------------------------ reading

    @property
    def status(self) -> str:
        """RUNNING until the execution closed, then its final status."""
        return str(self.state.get("closed") or "RUNNING")

    @property
    def types(self) -> list[str]:
        """The history's event types, in order."""
        return [e["type"] for e in self.events]

    def closing(self) -> Event:
        """The last event (the closing one once the execution ended)."""
        return self.events[-1]


# ---------------------------------------------------------------------- a real server

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDOPENSFNLOCAL",
    "AWS_SECRET_ACCESS_KEY": "opensfn-local-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""What :class:`LocalServer` runs with and gives its clients (the server checks no
signature unless started with ``--auth``)."""


@contextmanager
def postgres_database(admin_url: str = "postgresql://127.0.0.1:5432/postgres") -> Iterator[str]:
    """A new, empty PostgreSQL database for a :class:`LocalServer` (``db=``) on the server
    of ``admin_url`` (a role that may create databases); dropped, with its connections
    closed, when the block ends. Yields its URL."""
    import psycopg

    name = f"opensfn_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield urlsplit(admin_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def free_port() -> int:
    """A loopback TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalServer:
    """``opensfn serve`` in a subprocess, on a free loopback port.

    ``db``: the database, a SQLite file or a ``postgresql://`` URL (default: ``opensfn.db``
    in a temporary directory, removed when the server stops); ``args``: more ``opensfn serve`` flags (``OPENSFN_*``
    variables of the caller's environment are not passed on, so only these count).
    As a context manager it starts and stops the server; :meth:`start` again after
    :meth:`kill` or :meth:`stop` reopens the same database on the same port. The
    server's output goes to :attr:`log`.
    """

    db: Path | str | None = None
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    python: str = sys.executable
    """The Python that runs the server (another virtualenv, another version)."""
    start_timeout: float = 60.0
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    _tmp: Path | None = None

    @property
    def url(self) -> str:
        """The endpoint: ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The server process's id."""
        assert self.proc is not None, "not started"
        return self.proc.pid

    def start(self) -> Self:
        """Start the server and wait until it answers; raises RuntimeError if it does not
        (the message holds its output)."""
        if self._tmp is None and not isinstance(self.db, Path):
            self._tmp = Path(tempfile.mkdtemp(prefix="opensfn-"))
        if self.db is None and self._tmp is not None:
            self.db = self._tmp / "opensfn.db"
        # The log lies beside a SQLite file, in the temporary directory otherwise.
        if isinstance(self.db, Path):
            base = self.db
        else:
            assert self._tmp is not None
            base = self._tmp / "opensfn"
        self.log = base.with_suffix(f".{time.time_ns() // 1_000_000}.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSFN_")}
        env.update(CREDENTIALS)
        cmd = [self.python, "-m", "opensfn", "serve", "--port", str(self.port)]
        cmd += ["--db", str(self.db), *self.args]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"opensfn serve exited: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_opensfn/health", timeout=0.5):
                    return self
            except urllib.error.HTTPError as exc:
                if exc.code == 503:  # a standby (--standby): it answers, forwarding
                    return self
                time.sleep(0.05)
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"opensfn serve did not answer in time: {self.log.read_text()}")

    def stop(self) -> int:
        """SIGTERM (the clean shutdown: writes drained, database closed); the exit code."""
        assert self.proc is not None, "not started"
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return int(self.proc.returncode)

    def kill(self) -> None:
        """kill -9: no shutdown code runs (what a crash leaves behind)."""
        assert self.proc is not None, "not started"
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def kill_and_restart(self) -> float:
        """kill -9, then start again on the same database and port; seconds until it answers."""
        self.kill()
        began = time.monotonic()
        self.start()
        return time.monotonic() - began

    def client(
        self, service: str = "stepfunctions", region: str = "us-east-1", **config: Any
    ) -> Any:
        """A boto3 client of this server (no retries; ``config``: more botocore Config)."""
        import boto3
        from botocore.config import Config

        options: dict[str, Any] = {"retries": {"max_attempts": 0}, "read_timeout": 90}
        options.update(config)
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(**options),
        )

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            if isinstance(self.db, Path):
                self.db = None
            self._tmp = None
