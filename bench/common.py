"""What every benchmark shares: a server of its own, a lean HTTP client, /proc figures.

``Server`` starts ``opensfn serve`` on a free loopback port with a fresh database in a
temporary directory (the safe default durability: WAL, ``synchronous=FULL``) and stops
it afterwards. ``Raw`` speaks AWS JSON 1.0 over one keep-alive connection with
``http.client``: about 20x cheaper per call than boto3, so the server, not the client,
is what a benchmark built on it measures.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from opensfn.testing import LocalServer

ROOT = Path(__file__).resolve().parent.parent
SFNBENCH = ROOT.parent / "shared" / "bench" / "sfnbench.py"
ROLE = "arn:aws:iam::123456789012:role/bench"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDBENCH",
    "AWS_SECRET_ACCESS_KEY": "bench-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) used so far by process ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TCK


def proc_rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * _PAGE / 1e6


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds over all cores since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v) - idle) / _TCK, sum(v) / _TCK


class CpuWindow:
    """Server CPU, this process's CPU and everyone else's over a ``with`` block."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.server_s = self.other_cores = self.wall_s = 0.0

    def __enter__(self) -> CpuWindow:
        self._s0, self._c0, self._m0 = proc_cpu(self.pid), _self_cpu(), machine_busy()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._t0
        self.server_s = proc_cpu(self.pid) - self._s0
        client = _self_cpu() - self._c0
        busy = machine_busy()[0] - self._m0[0]
        self.other_cores = max(0.0, busy - self.server_s - client) / max(self.wall_s, 1e-9)


def _self_cpu() -> float:
    t = os.times()
    return t.user + t.system


class Server(LocalServer):
    """A benchmark's server: ``opensfn.testing.LocalServer`` (a fresh database in a
    temporary directory, the durable defaults) logging warnings only."""

    def __init__(self, args: tuple[str, ...] = (), **options: Any) -> None:
        super().__init__(args=("--log-level", "warning", *args), **options)


class Raw:
    """AWS JSON 1.0 calls over one keep-alive HTTP connection (no signing, no boto3)."""

    def __init__(self, url: str, timeout: float = 90.0) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        self.headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20240101/us-east-1/"
            "states/aws4_request, SignedHeaders=host, Signature=0",
        }

    def raw(self, op: str, body: bytes) -> tuple[int, bytes]:
        """POST one call; (status, response body)."""
        headers = {**self.headers, "X-Amz-Target": f"AWSStepFunctions.{op}"}
        for attempt in (0, 1):
            try:
                self.conn.request("POST", "/", body, headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()  # the server closed an idle keep-alive connection: redial
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def call(self, op: str, **params: Any) -> Any:
        """One call; the decoded answer, or RuntimeError with AWS's error body."""
        status, data = self.raw(op, json.dumps(params).encode())
        if status != 200:
            raise RuntimeError(f"{op}: {status} {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


def create_machine(raw: Raw, name: str, definition: dict[str, Any], **extra: Any) -> str:
    """A new state machine's ARN."""
    out = raw.call(
        "CreateStateMachine", name=name, definition=json.dumps(definition), roleArn=ROLE, **extra
    )
    return str(out["stateMachineArn"])


def wait_status(raw: Raw, arn: str, timeout: float = 120.0) -> dict[str, Any]:
    """DescribeExecution until the execution is no longer RUNNING."""
    deadline = time.monotonic() + timeout
    while True:
        d: dict[str, Any] = raw.call("DescribeExecution", executionArn=arn)
        if d["status"] != "RUNNING" or time.monotonic() > deadline:
            return d
        time.sleep(0.01)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))]


def median(values: list[float]) -> float:
    """The median (of the repeats of one figure)."""
    return float(statistics.median(values))
