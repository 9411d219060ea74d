"""Pure parts of the Task dispatchers: mock configuration, error naming, URL encoding,
resource and function-name parsing."""

from __future__ import annotations

import pytest

from opensfn.config import ConfigError
from opensfn.runtime.dispatch import mocks, resource_kind
from opensfn.runtime.dispatch.errors import client_name
from opensfn.runtime.dispatch.http import url_encode
from opensfn.runtime.dispatch.lambda_ import function_name
from opensfn.runtime.dispatch.nested import java_double
from opensfn.runtime.dispatch.sdk import split_resource

CONFIG = {
    "StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}},
    "MockedResponses": {
        "R": {
            "0": {"Throw": {"Error": "E0", "Cause": "c"}},
            "1-2": {"Return": {"n": 1}},
            "3": {"Return": "last"},
        }
    },
}


def test_mock_responses_are_picked_by_invocation_number() -> None:
    import json

    config = mocks.parse(json.dumps(CONFIG))
    picks = [mocks.pick(config, "M", "T", "S", n) for n in range(6)]
    assert picks[0] == mocks.Mocked(None, "E0", "c")
    assert [p.output for p in picks[1:] if p] == [
        '{"n":1}',
        '{"n":1}',
        '"last"',
        '"last"',
        '"last"',
    ]
    assert mocks.pick(config, "M", "T", "Other", 0) is None
    assert mocks.pick(config, "M", "Nope", "S", 0) is None


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("[]", "the top level must be an object"),
        ('{"MockedResponses": {"R": {"x": {"Return": 1}}}}', "invalid invocation number 'x'"),
        ('{"MockedResponses": {"R": {"2-1": {"Return": 1}}}}', "invalid invocation range '2-1'"),
        ('{"MockedResponses": {"R": {"0": {"Nope": 1}}}}', "Return"),
        ('{"StateMachines": {"M": {"TestCases": {"T": {"S": "X"}}}}}', "unknown response 'X'"),
    ],
)
def test_bad_mock_configurations_are_refused(doc: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        mocks.parse(doc)


@pytest.mark.parametrize(
    ("service_id", "name"),
    [("DynamoDB", "DynamoDb"), ("SFN", "Sfn"), ("S3", "S3"), ("Secrets Manager", "SecretsManager"),
     ("EventBridge", "EventBridge"), ("CloudWatch Logs", "CloudWatchLogs"), ("SQS", "Sqs")],
)  # fmt: skip
def test_java_client_names(service_id: str, name: str) -> None:
    assert client_name(service_id) == name


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("INDICES", "a%5B0%5D=1&a%5B1%5D=2&o%5Bk%5D=v%20w"),
        ("REPEAT", "a=1&a=2&o%5Bk%5D=v%20w"),
        ("COMMAS", "a=1%2C2&o%5Bk%5D=v%20w"),
        ("BRACKETS", "a%5B%5D=1&a%5B%5D=2&o%5Bk%5D=v%20w"),
    ],
)
def test_url_encoding_array_formats(fmt: str, expected: str) -> None:
    assert url_encode({"a": [1, 2], "o": {"k": "v w"}}, fmt) == expected


def test_resource_kinds_and_parts() -> None:
    assert resource_kind("arn:aws:states:us-east-1:1:activity:a") == "activity"
    assert resource_kind("arn:aws:lambda:us-east-1:1:function:f") == "lambda"
    assert resource_kind("arn:aws:states:::lambda:invoke.waitForTaskToken") == "lambda:invoke"
    assert resource_kind("arn:aws:states:::states:startExecution.sync:2") == "states:startExecution"
    assert resource_kind("arn:aws:states:::aws-sdk:s3:getObject") == "service"
    assert resource_kind("nonsense") == "unsupported"
    assert split_resource("arn:aws:states:::states:startExecution.sync:2") == (
        "", "states", "startExecution", "sync:2",
    )  # fmt: skip
    assert split_resource("arn:aws:states:eu-west-1::aws-sdk:s3:getObject.waitForTaskToken") == (
        "eu-west-1", "aws-sdk:s3", "getObject", "waitForTaskToken",
    )  # fmt: skip


def test_function_names_and_java_doubles() -> None:
    assert function_name("arn:aws:lambda:us-east-1:1:function:f:prod") == ("f", "prod")
    assert function_name("123456789012:function:f") == ("f", None)
    assert function_name("f:3") == ("f", "3")
    assert function_name("f") == ("f", None)
    assert java_double(1713421057.123) == "1.713421057123E9"
    assert java_double(1713421057.0) == "1.713421057E9"


def test_closing_an_execution_drops_only_its_queued_tasks() -> None:
    import asyncio

    from opensfn.runtime.queues import ActivityQueues, QueuedTask

    async def scenario() -> None:
        q = ActivityQueues()
        for n in range(3):
            q.put("act", QueuedTask("ex-a", f"t{n}", "{}"))
            q.put("act", QueuedTask("ex-b", f"t{n}", "{}"))
        q.put("other", QueuedTask("ex-a", "t9", "{}"))
        q.cancel_execution("ex-a")
        assert (q.queued("act"), q.queued("other")) == (3, 0)
        taken = [await q.take("act", 0) for _ in range(3)]
        assert [(t.execution_arn, t.task_id) for t in taken if t] == [
            ("ex-b", "t0"), ("ex-b", "t1"), ("ex-b", "t2"),
        ]  # fmt: skip
        q.cancel_execution("ex-b")  # nothing queued any more: a no-op
        assert await q.take("act", 0) is None

    asyncio.run(scenario())


def test_per_execution_values_are_found_by_execution() -> None:
    from opensfn.runtime.per_execution import PerExecution

    held: PerExecution[str] = PerExecution()
    held.put("exec-a", "t1", "call-1")
    held.put("exec-a", "t2", "call-2")
    held.put("exec-b", "t1", "call-3")
    assert held.task_ids("exec-a") == ["t1", "t2"]
    assert held.get("exec-b", "t1") == "call-3" and held.get("exec-b", "t2") is None
    for task_id in held.task_ids("exec-a"):  # popping while walking the copy
        assert held.pop("exec-a", task_id) is not None
    assert held.task_ids("exec-a") == [] and held.pop("exec-a", "t1") is None
    assert len(held) == 1 and held.task_ids("exec-b") == ["t1"]


def test_a_job_is_described_until_it_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import json

    from opensfn.runtime.dispatch import host as h
    from opensfn.runtime.dispatch import jobs

    monkeypatch.setattr(jobs, "FIRST_INTERVAL", 0.001)
    states = iter(["STARTING", "RUNNING", "FAILED"])
    calls: list[tuple[str, str, str, object]] = []

    def describe(region: str, service: str, action: str, params: object) -> h.Outcome:
        calls.append((region, service, action, params))
        run = {"Id": "jr_1", "JobRunState": next(states), "ErrorMessage": "boom"}
        return h.Outcome(output=json.dumps({"JobRun": run, "SdkResponseMetadata": {}}))

    started = {"JobName": "nightly", "JobRunId": "jr_1"}
    job = jobs.JOBS["glue:startJobRun"]
    out = asyncio.run(jobs.follow(object(), job, "eu-west-1", started, describe))  # type: ignore[arg-type]
    assert out.error == "States.TaskFailed"
    assert json.loads(out.cause or "") == {
        "Id": "jr_1",
        "JobRunState": "FAILED",
        "ErrorMessage": "boom",
    }
    assert (
        calls == [("eu-west-1", "glue", "getJobRun", {"JobName": "nightly", "RunId": "jr_1"})] * 3
    )


def test_ecs_tasks_fail_when_a_container_exits_non_zero() -> None:
    from opensfn.runtime.dispatch.jobs import JOBS

    ecs = JOBS["ecs:runTask"]
    running = {"Tasks": [{"TaskArn": "t", "LastStatus": "RUNNING"}]}
    assert ecs.final(running) is None
    stopped = {"TaskArn": "t", "LastStatus": "STOPPED", "Containers": [{"ExitCode": 0}]}
    assert ecs.final({"Tasks": [stopped]}) == stopped and ecs.succeeded(stopped)
    assert not ecs.succeeded({**stopped, "Containers": [{"ExitCode": 0}, {"ExitCode": 2}]})
    assert not ecs.succeeded({**stopped, "StopCode": "TaskFailedToStart"})
    assert ecs.describe({"Tasks": [{"TaskArn": "t", "ClusterArn": "c"}]}) == (
        "ecs", "describeTasks", {"Cluster": "c", "Tasks": ["t"]},
    )  # fmt: skip
