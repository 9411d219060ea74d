"""A real ``opensfn serve`` subprocess on a free loopback port, for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDOPENSFNTEST",
    "AWS_SECRET_ACCESS_KEY": "opensfn-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One server process; ``start`` again after ``kill`` reuses the same database."""

    db: Path
    port: int = field(default_factory=free_port)
    args: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.log = self.db.with_suffix(f".{int(time.time() * 1000)}.log")
        env = {**os.environ, **CREDENTIALS}
        env = {k: v for k, v in env.items() if not k.startswith("OPENSFN_")}
        cmd = [
            sys.executable,
            "-m",
            "opensfn",
            "serve",
            "--port",
            str(self.port),
            "--db",
            str(self.db),
        ]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*cmd, *self.args], stdout=out, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/_opensfn/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log.read_text()}")

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM and wait: the clean shutdown path."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return int(self.proc.returncode)

    def client(self, region: str = "us-east-1", **config: Any) -> Any:
        return boto3.client(
            "stepfunctions",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 0}, read_timeout=90, **config),
        )
