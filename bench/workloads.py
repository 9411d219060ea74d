"""The sfnbench workloads (../shared/bench/sfnbench.py) against our server and peers.

``run_sfnbench`` runs the harness in a subprocess against an endpoint whose server
process it knows, with ``--server-pid`` (server CPU per unit, foreign load), quiet-wait
and retry of disturbed runs, and returns the median line of every workload. The
definitions here mirror the harness's for the project's own benchmarks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import SFNBENCH

# 10 Pass states with `.$` parameters and ResultPath, as sfnbench's pass-chain.
PASS_CHAIN: dict[str, Any] = {
    "StartAt": "P0",
    "States": {
        f"P{i}": {
            "Type": "Pass",
            "Parameters": {"n.$": "$.n", "step": i},
            "ResultPath": f"$.r{i % 3}",
            **({"End": True} if i == 9 else {"Next": f"P{i + 1}"}),
        }
        for i in range(10)
    },
}


# sfnbench's choice-heavy loop: count to `limit` with States.MathAdd.
def choice_loop(limit: int) -> dict[str, Any]:
    """A Choice + Pass loop counting from 0 to ``limit``."""
    return {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Result": {"i": 0}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.i", "NumericLessThan": limit, "Next": "Inc"}],
                "Default": "Done",
            },
            "Inc": {
                "Type": "Pass",
                "Parameters": {"i.$": "States.MathAdd($.i, 1)"},
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
        },
    }


# The headline figure of each workload, for the summary table: (key, unit, better).
HEADLINES: dict[str, list[tuple[str, str]]] = {
    "choice-heavy": [("transitions_per_s", "transitions/s")],
    "pass-chain": [("server_cpu_ms_per_exec", "ms server CPU/exec"), ("exec_per_s", "exec/s")],
    "api-latency": [
        ("StartExecution_p50_ms", "ms"),
        ("DescribeExecution_p50_ms", "ms"),
        ("GetExecutionHistory_p50_ms", "ms"),
        ("DescribeStateMachine_p50_ms", "ms"),
    ],
    "map-fanout": [("wall_s", "s")],
    "activity-roundtrip": [
        ("tasks_per_s", "tasks/s"),
        ("lat_client_p50_ms", "ms client p50"),
        ("server_cpu_ms_per_exec", "ms server CPU/task"),
    ],
}


def run_sfnbench(
    endpoint: str,
    pids: list[int],
    label: str,
    workloads: str = "all",
    repeat: int = 3,
    scale: float = 1.0,
    quiet_wait: float = 20.0,
) -> dict[str, dict[str, Any]]:
    """The median line of each workload (every line is kept under ``_lines``)."""
    out = Path(tempfile.mkstemp(suffix=".jsonl")[1])
    cmd = [sys.executable, str(SFNBENCH), "--endpoint", endpoint, "--label", label]
    cmd += ["--workloads", workloads, "--repeat", str(repeat), "--scale", str(scale)]
    cmd += ["--out", str(out), "--max-other-cores", "0.3", "--retries", "2"]
    if quiet_wait > 0:
        cmd += ["--quiet-wait", str(quiet_wait)]
    for pid in pids:
        cmd += ["--server-pid", str(pid)]
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)
    lines = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
    out.unlink()
    result: dict[str, dict[str, Any]] = {}
    for line in lines:
        if line.get("rep") == "median":
            result[line["workload"]] = line
        elif line.get("reps") is None and repeat == 1 and not line.get("discarded"):
            result.setdefault(line["workload"], line)
    for w, line in result.items():
        line["_lines"] = [x for x in lines if x.get("workload") == w and x.get("rep") != "median"]
    return result
