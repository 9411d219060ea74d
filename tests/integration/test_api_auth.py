"""``opensfn serve --auth``: requests signed with configured access keys (botocore SigV4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import PASS_MACHINE, ROLE
from live_server import Server

KEYS = [
    ("AKIDALICE", "alice-secret", "111122223333"),
    ("AKIDBOB", "bob-secret", "444455556666"),
]


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("auth")
    creds = root / "credentials"
    lines = ["# access key, secret, account", *(" ".join(k) for k in KEYS), ""]
    creds.write_text("\n".join(lines))
    srv = Server(root / "opensfn.db", args=("--auth", "--credentials", str(creds))).start()
    yield srv
    assert srv.stop() == 0  # a clean shutdown exits 0


def client(srv: Server, key: str, secret: str) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=srv.url,
        region_name="eu-west-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 0}),
    )


def code_and_status(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_good_key_acts_in_its_account(auth_server: Server) -> None:
    alice = client(auth_server, "AKIDALICE", "alice-secret")
    out = alice.create_state_machine(
        name="auth-m", definition=json.dumps(PASS_MACHINE), roleArn=ROLE
    )
    assert out["stateMachineArn"] == "arn:aws:states:eu-west-1:111122223333:stateMachine:auth-m"
    bob = client(auth_server, "AKIDBOB", "bob-secret")
    assert bob.list_state_machines()["stateMachines"] == []  # another account sees nothing
    names = [m["name"] for m in alice.list_state_machines()["stateMachines"]]
    assert names == ["auth-m"]


def test_wrong_secret_is_an_invalid_signature(auth_server: Server) -> None:
    with pytest.raises(ClientError) as exc:
        client(auth_server, "AKIDALICE", "not-the-secret").list_state_machines()
    assert code_and_status(exc) == ("InvalidSignatureException", 403)
    assert "does not match the signature you provided" in exc.value.response["Error"]["Message"]


def test_unknown_key_is_unrecognized(auth_server: Server) -> None:
    with pytest.raises(ClientError) as exc:
        client(auth_server, "AKIDMALLORY", "whatever").list_activities()
    assert code_and_status(exc) == ("UnrecognizedClientException", 403)
    assert exc.value.response["Error"]["Message"] == (
        "The security token included in the request is invalid."
    )


def test_unsigned_request_is_missing_authentication(auth_server: Server) -> None:
    response = httpx.post(
        auth_server.url,
        content=b"{}",
        headers={
            "x-amz-target": "AWSStepFunctions.ListStateMachines",
            "content-type": "application/x-amz-json-1.0",
        },
    )
    assert (response.status_code, response.reason_phrase) == (403, "Forbidden")
    body = response.json()
    assert body["__type"] == "MissingAuthenticationToken"
    assert body["message"] == "Request is missing Authentication Token"


def test_auth_off_accepts_any_key(sfn: Any, server: Server) -> None:
    anyone = client(server, "AKIDANYONE", "any-secret")
    assert "stateMachines" in anyone.list_state_machines()


def test_auth_without_credentials_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="credentials"):
        Server(tmp_path / "x.db", args=("--auth",)).start()
