"""Server CPU and latency per API call, with a client too cheap to matter.

boto3 spends ~0.55 ms of client CPU per call, more than the server does, so sfnbench's
latencies are mostly the client's. Here ``Raw`` (http.client, no signing) makes the
calls: sequential latency per operation (p50/p99) and the server's CPU per call, then
StartExecution from several connections at once (group commit across requests) with
the server's CPU per execution started and run to its end. ``activity_roundtrip``: the
sfnbench activity workload without boto3's cost (its one client process tops out near
210 tasks/s on this machine whatever the server does).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from bench.common import CpuWindow, Raw, Server, create_machine, pct, wait_status
from bench.workloads import PASS_CHAIN


def _timed(raw: Raw, op: str, bodies: list[bytes]) -> list[float]:
    out = []
    for body in bodies:
        t0 = time.perf_counter()
        status, data = raw.raw(op, body)
        out.append(time.perf_counter() - t0)
        if status != 200:
            raise RuntimeError(f"{op}: {status} {data[:200]!r}")
    return out


def run(server: Server, calls: int = 1000, threads: int = 8) -> dict[str, Any]:
    """Figures for one server: ``{op}_p50_ms``, ``{op}_cpu_us`` and concurrent starts."""
    raw = Raw(server.url)
    sm = create_machine(raw, f"api-{uuid.uuid4().hex[:8]}", PASS_CHAIN)
    done = raw.call("StartExecution", stateMachineArn=sm, input='{"n": 1}')["executionArn"]
    wait_status(raw, done)
    res: dict[str, Any] = {"calls": calls}
    plans = {
        "StartExecution": [
            json.dumps({"stateMachineArn": sm, "input": '{"n": 1}'}).encode() for _ in range(calls)
        ],
        "DescribeExecution": [json.dumps({"executionArn": done}).encode()] * calls,
        "GetExecutionHistory": [json.dumps({"executionArn": done}).encode()] * calls,
        "DescribeStateMachine": [json.dumps({"stateMachineArn": sm}).encode()] * calls,
    }
    for op, bodies in plans.items():
        _timed(raw, op, bodies[:50])  # warm-up
        with CpuWindow(server.pid) as w:
            lat = _timed(raw, op, bodies)
        res[f"{op}_p50_ms"] = round(pct(lat, 50) * 1e3, 3)
        res[f"{op}_p99_ms"] = round(pct(lat, 99) * 1e3, 3)
        res[f"{op}_cpu_us"] = round(w.server_s / calls * 1e6, 1)
    res["other_cores"] = round(w.other_cores, 2)

    # Concurrent StartExecution: `threads` connections, every execution runs to its end.
    per = max(1, calls // threads)
    arns: list[str] = []
    lock = threading.Lock()

    def starter() -> None:
        r = Raw(server.url)
        body = json.dumps({"stateMachineArn": sm, "input": '{"n": 1}'}).encode()
        mine = []
        for _ in range(per):
            status, data = r.raw("StartExecution", body)
            if status == 200:
                mine.append(json.loads(data)["executionArn"])
        r.close()
        with lock:
            arns.extend(mine)

    with CpuWindow(server.pid) as w:
        ts = [threading.Thread(target=starter) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        last = wait_status(raw, arns[-1]) if arns else {}
    res["concurrent_starts"] = len(arns)
    res["concurrent_start_per_s"] = round(len(arns) / w.wall_s, 1)
    res["concurrent_cpu_ms_per_exec"] = round(w.server_s / max(1, len(arns)) * 1e3, 3)
    res["concurrent_last_status"] = last.get("status")
    raw.close()
    return res


def activity_roundtrip(server: Server, tasks: int = 2000, workers: int = 8) -> dict[str, Any]:
    """Activity tasks end to end with lean clients: ``workers`` connections long-poll
    GetActivityTask and answer SendTaskSuccess while 4 connections start one execution
    per task. Reports tasks per second (first start to last answer), the server's CPU
    per task, and checks that every execution ended SUCCEEDED."""
    raw = Raw(server.url)
    tag = uuid.uuid4().hex[:8]
    act = raw.call("CreateActivity", name=f"act-{tag}")["activityArn"]
    definition = {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": act, "End": True}}}
    sm = create_machine(raw, f"act-{tag}", definition)
    answered = [0]
    lock = threading.Lock()
    all_done = threading.Event()
    t_done = [0.0]
    get_body = json.dumps({"activityArn": act, "workerName": "bench"}).encode()

    def worker() -> None:
        r = Raw(server.url)
        while True:
            with lock:
                if answered[0] >= tasks:
                    break
            status, data = r.raw("GetActivityTask", get_body)
            token = json.loads(data).get("taskToken") if status == 200 else None
            if not token:
                continue
            body = json.dumps({"taskToken": token, "output": '{"ok": true}'}).encode()
            if r.raw("SendTaskSuccess", body)[0] == 200:
                with lock:
                    answered[0] += 1
                    if answered[0] == tasks:
                        t_done[0] = time.perf_counter()
                        all_done.set()
        r.close()

    def starter(n: int) -> None:
        r = Raw(server.url)
        body = json.dumps({"stateMachineArn": sm, "input": '{"n": 1}'}).encode()
        for _ in range(n):
            r.raw("StartExecution", body)
        r.close()

    tasks -= tasks % 4
    with CpuWindow(server.pid) as w:
        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(workers)]
        threads += [threading.Thread(target=starter, args=(tasks // 4,)) for _ in range(4)]
        for t in threads:
            t.start()
        all_done.wait()
    # Workers still long-polling get one more execution each (not counted) and stop.
    starter(workers)
    for t in threads:
        t.join()
    succeeded = 0
    token = None
    while True:
        page = raw.call(
            "ListExecutions", stateMachineArn=sm, statusFilter="SUCCEEDED", maxResults=1000,
            **({"nextToken": token} if token else {}),
        )  # fmt: skip
        succeeded += len(page["executions"])
        token = page.get("nextToken")
        if not token:
            break
    raw.close()
    return {
        "tasks": tasks,
        "all_succeeded": succeeded >= tasks,  # (with the executions that released workers)
        "tasks_per_s": round(tasks / (t_done[0] - t0), 1),
        "server_cpu_ms_per_task": round(w.server_s / tasks * 1e3, 3),
        "other_cores": round(w.other_cores, 2),
    }
