"""Real parts for the Task integration tests: a moto server, a small HTTP server, and an
``opensfn serve`` wired to them (local Lambda handlers, endpoints, mock configuration)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from live_server import Server, free_port

HANDLERS = "tests.integration.lambdas_integrations"


class Moto:
    """``python -m moto.server`` on a free loopback port."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/moto-api/", timeout=0.5)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("moto did not start")

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self._log.close()


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with what it received; ``/status/NNN`` answers NNN; ``/token``
    is an OAuth token endpoint handing out ``tok-1``, ``tok-2``, ... (its requests kept)."""

    token_requests: list[dict[str, Any]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        status = int(self.path.split("/status/")[1][:3]) if "/status/" in self.path else 200
        if self.path.startswith("/token"):
            seen = {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            _Echo.token_requests.append({"path": self.path, "method": self.command, **seen})
            token = {"access_token": f"tok-{len(_Echo.token_requests)}", "expires_in": 3600}
            out = json.dumps(token).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        out = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *args: Any) -> None:
        pass


MOCK_CONFIG = {
    "StateMachines": {
        "mocked-machine": {
            "TestCases": {
                "HappyPath": {"Call": "CallOk", "Wait": "CallbackOk"},
                "RetryPath": {"Call": "CallRetry"},
                "MapPath": {"Call": "CallOk", "Wait": "CallbackOk", "Item": "ItemValues"},
            }
        }
    },
    "MockedResponses": {
        "CallOk": {"0": {"Return": {"StatusCode": 200, "Payload": {"mocked": True}}}},
        "CallbackOk": {"0": {"Return": {"fromCallback": 1}}},
        "CallRetry": {
            "0": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "first"}},
            "1-2": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "again"}},
            "3": {"Return": {"Payload": "finally"}},
        },
        "ItemValues": {"0-1": {"Return": "a"}, "2": {"Return": "b"}},
    },
}


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    m = Moto(tmp_path_factory.mktemp("moto") / "moto.log")
    yield m
    m.stop()


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def integrations_server(
    tmp_path_factory: pytest.TempPathFactory, moto: Moto, http_url: str
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("integrations")
    mock_file = root / "mocks.json"
    mock_file.write_text(json.dumps(MOCK_CONFIG))
    connections = root / "connections.json"
    connections.write_text(
        json.dumps({"arn:aws:events:us-east-1:123456789012:connection/c": {
            "Authorization": {"ApiKey": {"Key": "x-api-key", "Value": "secret"}},
            "QueryParameters": {"fromConnection": "1"},
        }, "arn:aws:events:us-east-1:123456789012:connection/oauth": {
            "Authorization": {"OAuth": {
                "AuthorizationEndpoint": http_url + "/token", "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "cid", "ClientSecret": "s3cret"},
                "OAuthHttpParameters": {
                    "BodyParameters": [{"Key": "grant_type", "Value": "client_credentials"}],
                    "HeaderParameters": [{"Key": "X-Tenant", "Value": "t1"}],
                    "QueryStringParameters": [{"Key": "audience", "Value": "api"}],
                },
            }},
        }, "arn:aws:events:us-east-1:123456789012:connection/oauth-refused": {
            "Authorization": {"OAuth": {
                "AuthorizationEndpoint": http_url + "/status/403", "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "cid", "ClientSecret": "wrong"},
            }},
        }})
    )  # fmt: skip
    args: list[str] = []
    for name in ("echo", "boom", "raw", "slow"):
        args += ["--lambda", f"{name}={HANDLERS}:{name}"]
    for service in ("sqs", "sns", "dynamodb", "s3", "glue", "athena", "events", "logs"):
        args += ["--endpoint", f"{service}={moto.url}"]
    args += ["--mock-config", str(mock_file), "--http-connections", str(connections)]
    args += ["--activity-poll-seconds", "1"]
    srv = Server(root / "opensfn.db", args=tuple(args)).start()
    yield srv
    assert srv.stop() == 0  # a clean shutdown exits 0
