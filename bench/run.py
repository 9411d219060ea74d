"""Run every benchmark: ``python bench/run.py [--quick] [--only GROUPS] [--peer moto]``.

Groups (``--only`` takes a comma list; all by default):

- ``sfnbench``: the five workloads of ../shared/bench/sfnbench.py against a fresh
  ``opensfn serve`` (free port, temporary database, durable defaults), medians of
  ``--repeat`` runs (3), server CPU via ``--server-pid``, disturbed runs retried;
- ``api``: server CPU and latency per API call with a lean HTTP client, and activity tasks
  end to end with lean workers (bench/api_cpu.py);
- ``micro``: engine, JSONPath/JSONata, request validation, store group commit (bench/micro.py);
- ``scale``: 100,000 open executions under 300 MB and a 25,000-event history (bench/scale.py;
  10,000 executions with ``--quick``).

``--postgres ADMIN_URL`` runs opensfn on PostgreSQL (a fresh database per server, created
through that URL) instead of SQLite.

``--peer moto`` also runs the sfnbench workloads against moto 5.2.5's server (its Step
Functions interpreter switched on), set up in /tmp/moto525 on first use. Results are
printed as a table and written to bench/results/run-<time>.json. Nothing here fails on
a time: the figures are reported, the targets shown beside them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import api_cpu, micro, scale
from bench.common import ROOT, Server
from bench.workloads import HEADLINES, run_sfnbench
from opensfn.testing import free_port, postgres_database

MOTO_VENV = Path("/tmp/moto525")

# Issue #7's targets, by (group, figure): (comparison, bound).
TARGETS: dict[tuple[str, str], tuple[str, float]] = {
    ("choice-heavy", "transitions_per_s"): (">=", 20_000),
    ("pass-chain", "server_cpu_ms_per_exec"): ("<=", 1.0),
    ("api-latency", "StartExecution_p50_ms"): ("<=", 1.0),
    ("api-latency", "DescribeExecution_p50_ms"): ("<=", 1.0),
    ("api-latency", "GetExecutionHistory_p50_ms"): ("<=", 1.5),
    ("map-fanout", "wall_s"): ("<=", 0.1),
    ("activity-roundtrip", "tasks_per_s"): (">=", 1_000),
    ("activity-lean", "tasks_per_s"): (">=", 1_000),
    ("scale-open", "rss_peak_mb"): ("<", 300),
    ("scale-history", "fetch_boto3_s"): ("<", 1.0),
}


def _moto(repeat: int, scale_: float) -> dict[str, dict[str, Any]]:
    python = MOTO_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(MOTO_VENV)], check=True)
        subprocess.run(
            [str(MOTO_VENV / "bin" / "pip"), "install", "-q", "moto[server,stepfunctions]==5.2.5"],
            check=True,
        )
    port = free_port()
    proc = subprocess.Popen(
        [str(python), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                req = urllib.request.Request(
                    f"{url}/moto-api/config",
                    data=b'{"stepfunctions": {"execute_state_machine": true}}',
                    headers={"Content-Type": "application/json"},
                    method="POST",
                )
                urllib.request.urlopen(req, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        return run_sfnbench(url, [proc.pid], "moto-5.2.5", repeat=repeat, scale=scale_)
    finally:
        proc.terminate()
        proc.wait(20)


def _rows(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, Any, str]]:
    rows: list[tuple[str, str, Any, str]] = []
    for group, figures in results.items():
        keys = [k for k, _ in HEADLINES.get(group, [])] or [
            k for k, v in figures.items() if isinstance(v, (int, float)) and not k.startswith("_")
        ]
        for key in keys:
            if key not in figures:
                continue
            target = TARGETS.get((group, key))
            rows.append((group, key, figures[key], f"{target[0]} {target[1]:g}" if target else ""))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller sizes, 1 repeat")
    p.add_argument("--only", default="sfnbench,api,micro,scale")
    p.add_argument("--repeat", type=int, default=None, help="sfnbench repeats (3; 1 quick)")
    p.add_argument("--peer", choices=["moto"], action="append", default=[])
    p.add_argument("--open", type=int, default=None, help="open executions (100000; quick 10000)")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        default=None,
        help="run opensfn on PostgreSQL: a fresh database per server, created through this "
        "URL (e.g. postgresql://127.0.0.1:5432/postgres)",
    )
    a = p.parse_args(argv)

    @contextlib.contextmanager
    def server() -> Iterator[Server]:
        """A fresh opensfn server (on a fresh PostgreSQL database with --postgres)."""
        with contextlib.ExitStack() as stack:
            db = stack.enter_context(postgres_database(a.postgres)) if a.postgres else None
            yield stack.enter_context(Server(db=db))

    groups = {g.strip() for g in a.only.split(",") if g.strip()}
    repeat = a.repeat or (1 if a.quick else 3)
    results: dict[str, dict[str, Any]] = {}
    peers: dict[str, dict[str, dict[str, Any]]] = {}
    if "sfnbench" in groups:
        with server() as s:
            results.update(run_sfnbench(s.url, [s.pid], "opensfn", repeat=repeat))
    if "api" in groups:
        with server() as s:
            results["api-cpu"] = api_cpu.run(s, calls=300 if a.quick else 1000)
        with server() as s:
            results["activity-lean"] = api_cpu.activity_roundtrip(s, 500 if a.quick else 2000)
    if "micro" in groups:
        results.update(micro.run(quick=a.quick))
    if "scale" in groups:
        with server() as s:
            results["scale-history"] = scale.long_history(s)
        with server() as s:
            results["scale-map"] = scale.large_map(s)
        with server() as s:
            n = a.open or (10_000 if a.quick else 100_000)
            results["scale-open"] = scale.open_executions(s, n)
    for peer in a.peer:
        peers[peer] = _moto(repeat, 1.0)

    print(
        f"\n{'group':<22} {'figure':<38} {'opensfn':>12}  target      "
        + "".join(f"{peer:>12}" for peer in peers)
    )
    for group, key, value, target in _rows(results):
        peer_values = "".join(f"{peers[p].get(group, {}).get(key, '-')!s:>12}" for p in peers)
        print(f"{group:<22} {key:<38} {value!s:>12}  {target:<11} {peer_values}")
    out = a.out or ROOT / "bench" / "results" / f"run-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    slim = {g: {k: v for k, v in f.items() if k != "_lines"} for g, f in results.items()}
    out.write_text(json.dumps({"opensfn": slim, "peers": peers, "argv": sys.argv[1:]}, indent=1))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
