"""The best-effort outbox and the pure parts of execution logging."""

from __future__ import annotations

import asyncio
import json

import pytest

from opensfn.runtime.best_effort import Outbox
from opensfn.runtime.execution_logs import logged, record, target_of


def test_outbox_sends_in_batches_and_drops_what_cannot_be_delivered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent: list[list[int]] = []

    async def send(batch: list[int]) -> None:
        if 13 in batch:
            raise ConnectionError("refused")
        sent.append(batch)

    async def scenario() -> Outbox[int]:
        box: Outbox[int] = Outbox("numbers", send, batch=3, limit=8)
        for i in range(10):  # 8 fit in the queue before the sender runs: 2 dropped
            box.put(i)
        await box.close()
        for i in (11, 12, 13):  # a batch the destination refuses is dropped whole
            box.put(i)
        await box.close()
        return box

    box = asyncio.run(scenario())
    assert sent == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert box.dropped == 2 + 3
    assert "numbers dropped" in caplog.text and "refused" in caplog.text


def test_logging_configuration_and_levels() -> None:
    group = "arn:aws:logs:eu-west-1:123456789012:log-group:my/group:*"
    config = {
        "level": "ERROR",
        "includeExecutionData": True,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": group}}],
    }
    target = target_of(json.dumps(config))
    assert target is not None
    assert (target.region, target.group_name, target.include_data) == (
        "eu-west-1",
        "my/group",
        True,
    )
    assert target_of(json.dumps({**config, "level": "OFF"})) is None
    assert target_of(json.dumps({"level": "ALL"})) is None  # nowhere to log
    assert all(logged("ALL", t) for t in ("PassStateEntered", "ExecutionSucceeded"))
    assert [t for t in ("TaskFailed", "FailStateEntered", "TaskSucceeded", "MapIterationAborted",
                        "ExecutionTimedOut") if logged("ERROR", t)] == [
        "TaskFailed", "FailStateEntered", "MapIterationAborted", "ExecutionTimedOut"
    ]  # fmt: skip
    assert [t for t in ("TaskFailed", "ExecutionFailed", "ExecutionAborted") if logged("FATAL", t)] == [
        "ExecutionFailed", "ExecutionAborted"
    ]  # fmt: skip


def test_a_record_without_execution_data_keeps_names_errors_and_the_role() -> None:
    event = {
        "id": 5, "previousEventId": 4, "timestamp": 1717615626.1234, "type": "TaskScheduled",
        "taskScheduledEventDetails": {
            "resource": "invoke", "resourceType": "lambda", "region": "us-east-1",
            "parameters": '{"secret": 1}',
        },
    }  # fmt: skip
    kept = json.loads(record(event, "arn:x", 2, data=False))
    assert kept == {
        "id": "5", "type": "TaskScheduled", "previous_event_id": "4",
        "details": {"resource": "invoke", "resourceType": "lambda", "region": "us-east-1"},
        "event_timestamp": "1717615626123", "execution_arn": "arn:x", "redrive_count": "2",
    }  # fmt: skip
    assert (
        json.loads(record(event, "arn:x", 2, data=True))["details"]["parameters"] == '{"secret": 1}'
    )
