"""Replaying AWS-recorded corpus cases against the pure engine (no server).

The corpus and its normaliser live in ``../shared/conformance`` (beside the repo in CI
and on every developer machine). Timers fire at once, in order, as under a wait scale
of 0; nothing else differs from a run through the server.
"""

from __future__ import annotations

import importlib.util
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from opensfn.asl.definition import load_machine
from opensfn.engine import interpreter
from opensfn.engine.protocol import ExecutionInfo, StepContext, TimerFired

CORPUS_DIR = Path(__file__).resolve().parents[3] / "shared" / "conformance"
ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/corpus-runner-role"


def runner_module() -> ModuleType:
    """The corpus runner, for its normaliser (the same rewriting AWS's answers had)."""
    spec = importlib.util.spec_from_file_location("run_corpus", CORPUS_DIR / "run_corpus.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def engine_cases() -> list[dict[str, Any]]:
    """Self-contained single-machine execution cases: what the pure engine can replay."""
    out = []
    with open(CORPUS_DIR / "cases.jsonl") as fh:
        for line in fh:
            case = json.loads(line)
            if (
                case["kind"] in ("execution", "execution_output_only")
                and case["self_contained"]
                and len(case["state_machines"]) == 1
                and (case["source"].get("history_key") or case["kind"] == "execution_output_only")
                and case["source"].get("history_key") != "get_execution_history_reversed"
                and not case.get("history_params")
            ):
                out.append(case)
    return out


@dataclass
class Outcome:
    passed: bool
    detail: str


def replay(rc: ModuleType, case: dict[str, Any]) -> Outcome:
    """Run ``case`` on the engine and compare as the corpus runner does."""
    sm = case["state_machines"][0]
    sm_name = (sm.get("name_template") or "sm-{uid}").replace("{uid}", uuid.uuid4().hex[:8])
    ename = case["execution"].get("name") or str(uuid.uuid4())
    if "${" in ename:
        ename = str(uuid.uuid4())
    sm_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{sm_name}"
    exec_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{sm_name}:{ename}"
    machine = load_machine(sm["definition"])
    info = ExecutionInfo(exec_arn, ename, sm_arn, sm_name, ROLE, datetime.now(UTC))
    ctx = StepContext(datetime.now(UTC), lambda: str(uuid.uuid4()), lambda: 0.5)
    t = interpreter.start(machine, info, case["execution"]["input"] or "{}", ctx)
    events = list(t.events)
    for _ in range(1000):
        if t.status is not None or not t.state["timers"]:
            break
        t = interpreter.step(machine, info, t.state, TimerFired(next(iter(t.state["timers"]))), ctx)
        events += t.events
    status = t.status or "RUNNING"
    pre, post = rc.default_transformers(ACCOUNT, REGION)
    symbols = {"ROLE_ARN": ROLE, "SM_ARN[0]": sm_arn, "SM_NAME[0]": sm_name}
    symbols.update({"EXEC_ARN[0]": exec_arn, "EXEC_NAME[0]": ename})
    trs = pre + rc.Runner("http://unused").case_transformers(case, symbols)
    map_runs: list[str] = []
    for ev in events:
        for det in ev.values():
            arn = det.get("mapRunArn") if isinstance(det, dict) else None
            if isinstance(arn, str) and arn not in map_runs:
                map_runs.append(arn)
    for i, arn in enumerate(map_runs):
        parts = arn.split("/")[-1].split(":")
        trs.append(
            {
                "type": "regex",
                "regex": re.escape(parts[1]),
                "replacement": f"<MapRunArnPart1_{i}idx>",
            }
        )
        if rc.UUID_RX.match(parts[0]):
            trs.append(
                {
                    "type": "regex",
                    "regex": re.escape(parts[0]),
                    "replacement": f"<MapRunArnPart0_{i}idx>",
                }
            )
    trs += post
    exp = case["expected"]
    if case["kind"] == "execution_output_only":
        out = next(
            (
                e["executionSucceededEventDetails"]["output"]
                for e in events
                if "executionSucceededEventDetails" in e
            ),
            None,
        )
        key = case["source"]["snapshot_keys"][0]
        got = rc.normalise({key: [{"input": case["execution"]["input"], "output": out}]}, trs)[key][
            0
        ]
        ok = status == "SUCCEEDED" and rc.canon(got.get("output")) == rc.canon(exp.get("output"))
        return Outcome(ok, f"status={status} output={out}")
    hist_key = case["source"]["history_key"]
    got_events = rc.normalise({hist_key: {"events": events}}, trs)[hist_key]["events"]
    closing = [
        e
        for e in got_events
        if e["type"].startswith("Execution") and e["type"] != "ExecutionStarted"
    ]
    last = closing[-1] if closing else {}
    dd = last.get("executionSucceededEventDetails") or last.get("executionFailedEventDetails") or {}
    a = status == exp.get("status")
    if a and status == "SUCCEEDED":
        a = rc.canon(dd.get("output")) == rc.canon(exp.get("output"))
    elif a and status in ("FAILED", "TIMED_OUT"):
        a = rc.canon(dd.get("error")) == rc.canon(exp.get("error")) and rc.canon(
            dd.get("cause")
        ) == rc.canon(exp.get("cause"))
    b = rc.canon(got_events) == rc.canon(exp["history"])
    detail = "" if a and b else rc.Runner._diff(exp, status, dd, got_events, exp.get("history"))
    return Outcome(a and b, detail)
