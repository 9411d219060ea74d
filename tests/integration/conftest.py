"""Fixtures: one live server per test session (tests use unique names, so they share it)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pg
import pytest
from live_server import Server

ROLE = "arn:aws:iam::123456789012:role/opensfn-test"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The tests' server, once on each database: a SQLite file, then a PostgreSQL one."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            db: Path | str = tmp_path_factory.mktemp("server") / "opensfn.db"
        else:
            db = stack.enter_context(pg.database())
        srv = Server(db, args=("--activity-poll-seconds", "1")).start()
        yield srv
        assert srv.stop() == 0  # a clean shutdown exits 0
        assert srv.log is not None
        assert "writes drained, database closed" in srv.log.read_text()


@pytest.fixture(scope="session")
def sfn(server: Server) -> Any:
    return server.client()


@pytest.fixture
def unique() -> Callable[[str], str]:
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_machine(sfn: Any, unique: Callable[[str], str]) -> Callable[..., str]:
    """Create a state machine from a definition dict; returns its ARN."""

    def make(definition: dict[str, Any], **extra: Any) -> str:
        out = sfn.create_state_machine(
            name=unique("sm"), definition=json.dumps(definition), roleArn=ROLE, **extra
        )
        return str(out["stateMachineArn"])

    return make


PASS_MACHINE = {
    "StartAt": "P",
    "States": {"P": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}},
}


def wait_status(
    sfn: Any, arn: str, status: str = "SUCCEEDED", timeout: float = 10
) -> dict[str, Any]:
    """Poll DescribeExecution until the execution reaches ``status`` (or fail)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        out: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if out["status"] == status:
            return out
        if out["status"] != "RUNNING" or time.monotonic() > deadline:
            raise AssertionError(f"{arn} is {out['status']}, expected {status}: {out}")
        time.sleep(0.02)


def wait_event(sfn: Any, arn: str, event_type: str, timeout: float = 10) -> dict[str, Any]:
    """Poll the history until an event of ``event_type`` is there; returns the first one."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        for event in sfn.get_execution_history(executionArn=arn)["events"]:
            if event["type"] == event_type:
                found: dict[str, Any] = event
                return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no {event_type} in the history of {arn}")
        time.sleep(0.02)


def task(resource: str, **fields: Any) -> dict[str, Any]:
    """A one-state machine: a Task on ``resource`` with ``fields``."""
    return {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": resource, "End": True, **fields}},
    }
