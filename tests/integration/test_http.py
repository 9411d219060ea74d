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


def _raw_request(body: bytes, *, expect_continue: bool = False) -> bytes:
    head = [
        "POST / HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/x-amz-json-1.0",
        "X-Amz-Target: AWSStepFunctions.ListActivities",
        f"Content-Length: {len(body)}",
    ]
    if expect_continue:
        head.append("Expect: 100-continue")
    return ("\r\n".join(head) + "\r\n\r\n").encode()


def _read_response(sock: Any, buffered: bytes = b"") -> tuple[bytes, bytes, bytes]:
    """(head, body, what followed) of one response read from ``sock``."""
    data = buffered
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return head, rest[:length], rest[length:]


def test_a_response_arrives_whole_in_one_segment(server: Any) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for _ in range(20):
            sock.sendall(_raw_request(b"{}") + b"{}")
            first = sock.recv(65536)  # the head and the body were written in one send
            head, body, rest = _read_response(sock, first)
            assert head.startswith(b"HTTP/1.1 200 ")
            assert "activities" in json.loads(body)
            assert len(first) == len(head) + 4 + len(body) and rest == b""


def test_expect_100_continue_and_pipelined_requests(server: Any) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(_raw_request(b"{}", expect_continue=True))
        interim = b""
        while b"\r\n\r\n" not in interim:
            interim += sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")  # not held back
        sock.sendall(b"{}")
        head, body, rest = _read_response(sock, interim[len(b"HTTP/1.1 100 Continue\r\n\r\n") :])
        assert head.startswith(b"HTTP/1.1 200 ") and "activities" in json.loads(body)
        # Two requests in one write: two whole responses, in order, on the same connection.
        bad = b"{not json"
        sock.sendall(_raw_request(b"{}") + b"{}" + _raw_request(bad) + bad)
        head1, body1, rest = _read_response(sock, rest)
        head2, body2, rest = _read_response(sock, rest)
        assert head1.startswith(b"HTTP/1.1 200 ") and "activities" in json.loads(body1)
        assert head2.startswith(b"HTTP/1.1 400 ")
        assert json.loads(body2)["__type"] == "SerializationException"
        assert rest == b""


def _exchange(server: Any, data: bytes) -> bytes:
    """Send ``data`` on a fresh connection; everything the server wrote until it closed."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def test_requests_that_do_not_parse_get_400_and_the_connection_closes(server: Any) -> None:
    out = _exchange(server, b"NOT AN HTTP REQUEST\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ") and out.endswith(b"Invalid HTTP request received.")
    assert b"connection: close" in out.lower()


def test_http_1_0_is_answered_and_closed(server: Any) -> None:
    body = b"{}"
    request = (
        b"POST / HTTP/1.0\r\nX-Amz-Target: AWSStepFunctions.ListActivities\r\n"
        b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n\r\n" + body
    )
    out = _exchange(server, request)  # returns only once the server closed
    head, _, payload = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"connection: close" in head.lower()
    assert "activities" in json.loads(payload)


def test_chunked_bodies_and_their_limit(server: Any) -> None:
    def chunked(body: bytes) -> bytes:
        parts = [b"%x\r\n%s\r\n" % (len(body[i : i + 4096]), body[i : i + 4096])
                 for i in range(0, len(body), 4096)]  # fmt: skip
        return (
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.CreateActivity\r\n"
            b"Content-Type: application/x-amz-json-1.0\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n" + b"".join(parts) + b"0\r\n\r\n"
        )

    out = _exchange(server, chunked(b'{"name": "chunked-body"}'))
    assert json.loads(out.partition(b"\r\n\r\n")[2])["activityArn"].endswith(":chunked-body")
    big = json.dumps({"name": "x" * 1_300_000}).encode()  # no Content-Length to go by
    out = _exchange(server, chunked(big))
    assert out.startswith(b"HTTP/1.1 413 ")
    assert json.loads(out.partition(b"\r\n\r\n")[2])["__type"] == "RequestEntityTooLargeException"


def test_other_paths_and_methods(server: Any) -> None:
    assert httpx.get(server.url + "/_opensfn/health").json() == {"status": "ok"}
    assert httpx.head(server.url + "/_opensfn/health").status_code == 200
    assert httpx.get(server.url + "/").status_code == 405
    assert httpx.post(server.url + "/elsewhere", content=b"{}").status_code == 404


def test_oversized_heads_and_garbage_leave_the_server_serving(server: Any) -> None:
    huge = b"POST / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100_000 + b"\r\n\r\n"
    assert _exchange(server, huge).startswith(b"HTTP/1.1 400 ")
    for junk in (
        b"\x00\xff\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    ):
        out = _exchange(server, junk)
        assert out == b"" or out.startswith(b"HTTP/1.1 4"), out
    reply = post(server, "AWSStepFunctions.ListActivities", b"{}")
    assert reply.status_code == 200 and "activities" in reply.json()
