"""The HTTP edge with raw requests, and the AWS CLI against the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from live_server import CREDENTIALS

HEADERS = {"Content-Type": "application/x-amz-json-1.0"}


def post(server: Any, target: str | None, body: bytes) -> httpx.Response:
    headers = dict(HEADERS)
    if target is not None:
        headers["X-Amz-Target"] = target
    return httpx.post(server.url, headers=headers, content=body, timeout=10)


def test_malformed_body(server: Any) -> None:
    for body in (b"{not json", b"", b"[1, 2]", b'"text"'):
        reply = post(server, "AWSStepFunctions.ListStateMachines", body)
        assert reply.status_code == 400, body
        assert reply.json()["__type"] == "SerializationException"
        assert reply.headers["content-type"] == "application/x-amz-json-1.0"


def test_unknown_target(server: Any) -> None:
    for target in ("AWSStepFunctions.NoSuchOperation", "Other.ListStateMachines", None):
        reply = post(server, target, b"{}")
        assert reply.status_code == 400
        assert reply.json()["__type"] == "UnknownOperationException"


def test_wrong_member_type(server: Any) -> None:
    reply = post(server, "AWSStepFunctions.ListStateMachines", b'{"maxResults": "ten"}')
    assert reply.status_code == 400
    assert reply.json()["__type"] in ("SerializationException", "ValidationException")


def test_oversized_request(server: Any) -> None:
    body = json.dumps({"name": "x", "definition": "a" * 1_200_000, "roleArn": "r"}).encode()
    reply = post(server, "AWSStepFunctions.CreateStateMachine", body)
    assert 400 <= reply.status_code < 500
    assert reply.json()["__type"] == "RequestEntityTooLargeException"


def test_region_comes_from_the_credential_scope(server: Any) -> None:
    sfn = server.client(region="eu-central-1")
    arn = sfn.create_activity(name="scoped")["activityArn"]
    assert arn == "arn:aws:states:eu-central-1:123456789012:activity:scoped"
    reply = post(server, "AWSStepFunctions.CreateActivity", b'{"name": "unsigned"}')
    assert reply.json()["activityArn"] == "arn:aws:states:us-east-1:123456789012:activity:unsigned"


def test_aws_cli(server: Any, tmp_path: Path) -> None:
    aws = Path(sys.executable).parent / "aws"
    env = {**os.environ, **CREDENTIALS, "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_PAGER": ""}

    def cli(*args: str) -> Any:
        out = subprocess.run(
            [str(aws), "stepfunctions", "--endpoint-url", server.url, "--output", "json", *args],
            env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return json.loads(out.stdout) if out.stdout.strip() else None

    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    created = cli(
        "create-state-machine", "--name", "cli-machine", "--definition", definition,
        "--role-arn", "arn:aws:iam::123456789012:role/r",
    )  # fmt: skip
    arn = created["stateMachineArn"]
    listed = cli("list-state-machines")
    assert arn in [m["stateMachineArn"] for m in listed["stateMachines"]]
    started = cli("start-execution", "--state-machine-arn", arn, "--input", '{"via": "cli"}')
    described = cli("describe-execution", "--execution-arn", started["executionArn"])
    assert described["input"] == '{"via": "cli"}'
    history = cli("get-execution-history", "--execution-arn", started["executionArn"])
    assert history["events"][0]["type"] == "ExecutionStarted"
    failed = subprocess.run(
        [str(aws), "stepfunctions", "--endpoint-url", server.url, "describe-state-machine",
         "--state-machine-arn", arn + "-nope"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert failed.returncode != 0
    assert "StateMachineDoesNotExist" in failed.stderr
