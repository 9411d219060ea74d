"""Transitions per second of the same workflow in JSONata and in JSONPath mode.

A Choice + Pass loop counting to N (as ``choice-heavy`` in ../shared/bench), run on the
pure interpreter in one process, so the figure is the language's own cost:

    .venv/bin/python bench/query_languages.py [--iterations 1000] [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from opensfn.testing import Harness


def jsonpath_loop(n: int) -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONPath",
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Result": {"n": 0, "limit": n}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.limit", "Next": "Done"}
                ],
                "Default": "Inc",
            },
            "Inc": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.MathAdd($.n, 1)", "limit.$": "$.limit"},
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def jsonata_loop(n: int) -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Output": {"n": 0, "limit": n}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $states.input.n >= $states.input.limit %}", "Next": "Done"}
                ],
                "Default": "Inc",
            },
            "Inc": {
                "Type": "Pass",
                "Output": {"n": "{% $states.input.n + 1 %}", "limit": "{% $states.input.limit %}"},
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def measure(definition: dict[str, Any], n: int) -> tuple[float, int]:
    """Seconds for one execution, and its number of state transitions."""
    h = Harness(json.dumps(definition))
    t0 = time.perf_counter()
    h.start("{}")
    h.run_timers()  # long loops yield; resume them at once
    elapsed = time.perf_counter() - t0
    assert h.status == "SUCCEEDED", h.closing()
    assert json.loads(h.closing()["executionSucceededEventDetails"]["output"])["n"] == n
    transitions = sum(1 for e in h.events if e["type"].endswith("StateEntered"))
    return elapsed, transitions


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = ap.parse_args()
    results = {}
    for name, build in (("JSONPath", jsonpath_loop), ("JSONata", jsonata_loop)):
        runs = [measure(build(args.iterations), args.iterations) for _ in range(args.repeat)]
        med = statistics.median(r[0] for r in runs)
        results[name] = {
            "transitions": runs[0][1],
            "median_s": round(med, 4),
            "transitions_per_s": round(runs[0][1] / med),
        }
    if args.json:
        print(json.dumps({"workload": "query-languages", "iterations": args.iterations, **results}))
        return
    print(f"{'mode':10} {'transitions':>12} {'median s':>10} {'transitions/s':>14}")
    for name, r in results.items():
        print(f"{name:10} {r['transitions']:>12} {r['median_s']:>10} {r['transitions_per_s']:>14}")
    ratio = results["JSONata"]["transitions_per_s"] / results["JSONPath"]["transitions_per_s"]
    print(f"JSONata runs at {ratio:.2f}x the JSONPath rate")


if __name__ == "__main__":
    main()
