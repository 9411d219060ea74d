"""The connector's pure parts: action names, request reading, rendering, worker rules."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from opensfn.client.call import operation_names, resolve_action
from opensfn.client.inputs import parse_request, read_json_arg
from opensfn.client.render import duration, event_summary, jsonable
from opensfn.client.run import default_machine_name
from opensfn.worker import TaskFailed, _wants_task, failure_of, is_retryable


def client_error(code: str, status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "GetActivityTask")


def test_every_action_resolves_in_each_spelling() -> None:
    names = operation_names()
    assert len(names) == 37
    assert {"StartExecution", "TestState", "RedriveExecution"} <= set(names)
    for op in names:
        snake = "".join("_" + c.lower() if c.isupper() else c for c in op).lstrip("_")
        assert resolve_action(op) == op
        assert resolve_action(snake) == op
        assert resolve_action(snake.replace("_", "-")) == op
        assert resolve_action(op.upper()) == op
    assert resolve_action("StartExecutions") is None


def test_request_text_from_value_file_and_default(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"a": 1}')
    assert read_json_arg('{"b": 2}') == '{"b": 2}'
    assert read_json_arg(f"@{path}") == '{"a": 1}'
    assert read_json_arg(None, stdin=False) == "{}"
    assert parse_request('{"a": [1]}') == {"a": [1]}
    assert parse_request("  ") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [("[1, 2]", "must be a JSON object"), ("{oops", "not valid JSON")],
)
def test_bad_requests_exit_252(text: str, message: str) -> None:
    code = f"from opensfn.client.inputs import parse_request; parse_request({text!r})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 252
    assert message in done.stderr


def test_durations_read_like_a_person_writes_them() -> None:
    assert [duration(s) for s in (0.0123, 0.9994, 1.25, 59.96, 61, 3599, 3600 * 2 + 7 * 60)] == [
        "12ms",
        "999ms",
        "1.2s",
        "60.0s",
        "1m01s",
        "59m59s",
        "2h07m",
    ]
    assert duration(None) == ""


def test_jsonable_prints_times_as_iso_8601() -> None:
    when = dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=dt.UTC)
    assert jsonable({"a": [when, {"b": when}], "n": 1}) == {
        "a": ["2024-05-01T12:00:00.123000+00:00", {"b": "2024-05-01T12:00:00.123000+00:00"}],
        "n": 1,
    }


def test_event_summary_names_state_then_data() -> None:
    entered = {
        "type": "TaskStateEntered",
        "stateEnteredEventDetails": {"name": "Charge", "input": '{"a":\n1}'},
    }
    assert event_summary(entered) == 'Charge  input={"a": 1}'
    failed = {
        "type": "ExecutionFailed",
        "executionFailedEventDetails": {"error": "E", "cause": "x" * 500},
    }
    summary = event_summary(failed)
    assert summary.startswith("error=E  cause=xxx")
    assert summary.endswith("…")
    assert len(summary) < 140
    assert event_summary({"type": "ParallelStateStarted"}) == ""


def test_machine_name_from_file_name() -> None:
    assert default_machine_name(Path("flows/order.asl.json")) == "order"
    assert default_machine_name(Path("my flow.v2.json")) == "my-flow-v2"
    assert default_machine_name(Path(".json")) == "opensfn"


def test_handler_arity_decides_whether_it_gets_the_task() -> None:
    def one(x: Any) -> Any:
        return x

    def two(x: Any, task: Any) -> Any:
        return x

    def star(*args: Any) -> Any:
        return args

    class Callable:
        def __call__(self, x: Any, task: Any = None) -> Any:
            return x

    assert [_wants_task(f) for f in (one, two, star, Callable(), len)] == [
        False,
        True,
        True,
        True,
        False,
    ]


def test_failure_of_an_exception_is_its_type_and_message() -> None:
    class PaymentDeclined(Exception):
        pass

    assert failure_of(PaymentDeclined("card 42")) == ("PaymentDeclined", "card 42")
    assert failure_of(TaskFailed("Custom.Error", "why")) == ("Custom.Error", "why")
    long_error, long_cause = failure_of(TaskFailed("E" * 300, "c" * 40000))
    assert (len(long_error), len(long_cause)) == (256, 32768)


def test_retryable_errors_are_throttling_server_and_connection_errors() -> None:
    assert is_retryable(client_error("ThrottlingException"))
    assert is_retryable(client_error("ActivityWorkerLimitExceeded"))
    assert is_retryable(client_error("Whatever", 503))
    assert is_retryable(EndpointConnectionError(endpoint_url="http://x"))
    assert is_retryable(ConnectTimeoutError(endpoint_url="http://x"))
    assert not is_retryable(client_error("ActivityDoesNotExist"))
    assert not is_retryable(client_error("InvalidToken"))
    assert not is_retryable(ValueError("no"))
