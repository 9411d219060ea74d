"""Scale: many open executions on one node, and one long history.

``open_executions``: N executions open at once — 90% in a Wait state due at one common
time, 10% on an activity task — started over 8 keep-alive connections. Reports the
start rate, the server's resident memory idle / with all open, then kills the server
(kill -9) and starts it again on the same database (seconds until it answers, memory
after), answers the activity tasks, lets the Waits fire, and reports how long after the
due time every execution had SUCCEEDED (and checks that each one did) and the peak memory.

``long_history``: a Choice/Pass loop producing just under 25,000 events, then the full
GetExecutionHistory (1,000 events per page) with the lean client and with boto3.

``large_map``: one inline Map over 5,000 items (20,000 events, past the 10,000-event budget
of one step, so its iterations yield and resume): wall time and the server's peak
resident memory (a regression here once cost 2.6 GB and 1.5 s).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.common import Raw, Server, create_machine, proc_rss_mb, wait_status
from bench.workloads import choice_loop

CONNECTIONS = 8


def _parallel(url: str, n: int, fn: Any) -> list[Any]:
    """Run ``fn(raw, i)`` for i in range(n) over CONNECTIONS connections; results in order."""
    out: list[Any] = [None] * n

    def work(k: int) -> None:
        raw = Raw(url)
        for i in range(k, n, CONNECTIONS):
            out[i] = fn(raw, i)
        raw.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _count(raw: Raw, sm: str, status: str) -> int:
    n, token = 0, None
    while True:
        params: dict[str, Any] = {"stateMachineArn": sm, "statusFilter": status, "maxResults": 1000}
        if token:
            params["nextToken"] = token
        page = raw.call("ListExecutions", **params)
        n += len(page["executions"])
        token = page.get("nextToken")
        if not token:
            return n


def open_executions(server: Server, n: int, settle_s: float = 20.0) -> dict[str, Any]:
    """N open executions: memory with all open, and all completing when due."""
    raw = Raw(server.url)
    res: dict[str, Any] = {"open": n, "rss_idle_mb": round(proc_rss_mb(server.pid), 1)}
    tag = uuid.uuid4().hex[:6]
    act = raw.call("CreateActivity", name=f"scale-{tag}")["activityArn"]
    wait_sm = create_machine(
        raw,
        f"scale-wait-{tag}",
        {
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "TimestampPath": "$.due", "Next": "P"},
                "P": {"Type": "Pass", "Parameters": {"i.$": "$.i"}, "End": True},
            },
        },
    )
    act_sm = create_machine(
        raw,
        f"scale-act-{tag}",
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": act, "End": True}}},
    )
    n_act = n // 10
    # Due once everything is started (at ~1,000 starts/s) plus a margin.
    due = time.time() + settle_s + n / 800
    due_text = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def start(r: Raw, i: int) -> bool:
        sm, body = (wait_sm, {"i": i, "due": due_text}) if i >= n_act else (act_sm, {"i": i})
        status, _ = r.raw(
            "StartExecution",
            json.dumps({"stateMachineArn": sm, "input": json.dumps(body)}).encode(),
        )
        return status == 200

    t0 = time.perf_counter()
    started = _parallel(server.url, n, start)
    res["start_s"] = round(time.perf_counter() - t0, 1)
    res["starts_per_s"] = round(n / (time.perf_counter() - t0))
    res["start_failures"] = started.count(False)
    time.sleep(1.0)
    res["rss_all_open_mb"] = round(proc_rss_mb(server.pid), 1)
    peak = res["rss_all_open_mb"]
    # kill -9 with all of them open, and start again: how soon it answers, with how much.
    res["restart_after_kill_s"] = round(server.kill_and_restart(), 2)
    raw.close()
    raw = Raw(server.url)
    res["rss_after_restart_mb"] = round(proc_rss_mb(server.pid), 1)
    peak = max(peak, res["rss_after_restart_mb"])

    # Answer the activity tasks (their executions were open meanwhile).
    def answer(r: Raw, i: int) -> bool:
        got = r.call("GetActivityTask", activityArn=act, workerName="bench")
        if not got.get("taskToken"):
            return False
        r.call("SendTaskSuccess", taskToken=got["taskToken"], output='{"ok": true}')
        return True

    t1 = time.perf_counter()
    answered = _parallel(server.url, n_act, answer)
    res["activity_tasks_answered"] = answered.count(True)
    res["activity_answer_per_s"] = round(n_act / max(1e-9, time.perf_counter() - t1))
    while time.time() < due:
        peak = max(peak, proc_rss_mb(server.pid))
        time.sleep(min(1.0, max(0.0, due - time.time())))
    while _count(raw, wait_sm, "RUNNING") > 0:
        peak = max(peak, proc_rss_mb(server.pid))
        time.sleep(0.2)
        if time.time() > due + 600:
            break
    res["all_done_after_due_s"] = round(time.time() - due, 2)
    res["rss_peak_mb"] = round(max(peak, proc_rss_mb(server.pid)), 1)
    res["succeeded"] = _count(raw, wait_sm, "SUCCEEDED") + _count(raw, act_sm, "SUCCEEDED")
    res["ok"] = res["succeeded"] == n and res["rss_peak_mb"] < 300
    raw.close()
    return res


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return int(f.read().split("VmHWM:")[1].split()[0]) / 1024


def large_map(server: Server, items: int = 5_000) -> dict[str, Any]:
    """An inline Map over ``items`` items: wall time and peak server memory."""
    raw = Raw(server.url)
    body = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    fan = {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": body, "End": True}
    sm = create_machine(raw, f"map-{uuid.uuid4().hex[:6]}", {"StartAt": "M", "States": {"M": fan}})
    before = _peak_rss_mb(server.pid)
    t0 = time.perf_counter()
    arn = raw.call(
        "StartExecution", stateMachineArn=sm, input=json.dumps({"items": list(range(items))})
    )["executionArn"]
    d = wait_status(raw, arn, timeout=300)
    res: dict[str, Any] = {"items": items, "status": d["status"]}
    res["wall_s"] = round(time.perf_counter() - t0, 3)
    res["rss_peak_before_mb"] = round(before, 1)
    res["rss_peak_mb"] = round(_peak_rss_mb(server.pid), 1)
    res["ok"] = d["status"] == "SUCCEEDED"
    raw.close()
    return res


def long_history(server: Server, events_target: int = 25_000) -> dict[str, Any]:
    """GetExecutionHistory of an execution with just under ``events_target`` events."""
    import boto3
    from botocore.config import Config

    raw = Raw(server.url)
    limit = (events_target - 40) // 4
    sm = create_machine(raw, f"hist-{uuid.uuid4().hex[:6]}", choice_loop(limit))
    arn = raw.call("StartExecution", stateMachineArn=sm, input="{}")["executionArn"]
    d = wait_status(raw, arn, timeout=300)
    res: dict[str, Any] = {"status": d["status"]}
    t0 = time.perf_counter()
    events, token = 0, None
    while True:
        params: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
        if token:
            params["nextToken"] = token
        page = raw.call("GetExecutionHistory", **params)
        events += len(page["events"])
        token = page.get("nextToken")
        if not token:
            break
    res["events"] = events
    res["fetch_raw_s"] = round(time.perf_counter() - t0, 3)
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDBENCH",
        aws_secret_access_key="bench-secret",
        config=Config(retries={"max_attempts": 0}),
    )
    t0 = time.perf_counter()
    n = sum(
        len(p["events"])
        for p in sfn.get_paginator("get_execution_history").paginate(
            executionArn=arn, PaginationConfig={"PageSize": 1000}
        )
    )
    res["fetch_boto3_s"] = round(time.perf_counter() - t0, 3)
    res["ok"] = n == events and res["fetch_boto3_s"] < 1.0
    raw.close()
    return res
