"""The web console in a real headless Chromium: pages rendered from the API's answers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from opensfn.testing import LocalServer

ROLE = "arn:aws:iam::123456789012:role/console"
DEMO = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "Next": "Work"},
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "Next": "Work"},
        "Work": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
            "ResultPath": "$.done",
            "Next": "Fin",
        },
        "Fin": {"Type": "Succeed"},
    },
}


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("Chromium is not installed (.ci/run installs Debian's chromium)")
    pytest.skip("Chromium is not installed here: apt-get install chromium")


def _render(url: str) -> str:
    """The page's DOM once its scripts ran (headless Chromium, its API calls included)."""
    out = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return out.stdout


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalServer, str]]:
    db = tmp_path_factory.mktemp("console") / "opensfn.db"
    with LocalServer(db) as server:
        sfn = server.client()
        arn = sfn.create_state_machine(name="demo", definition=json.dumps(DEMO), roleArn=ROLE)[
            "stateMachineArn"
        ]
        ok = {"n": 9, "items": [1, 2, 3], "note": "<b id='injected'>x</b>"}
        for name, value in (("ok-run", ok), ("bad-run", {"n": 1, "items": "nope"})):
            sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(value))
        for name in ("ok-run", "bad-run"):
            execution = arn.replace(":stateMachine:", ":execution:") + ":" + name
            for _ in range(200):
                if sfn.describe_execution(executionArn=execution)["status"] != "RUNNING":
                    break
                time.sleep(0.02)
        yield server, arn


def _nodes(dom: str) -> dict[str, str]:
    """Graph node of each state -> its class (what the history says the state did)."""
    found = re.findall(r'<g class="([^"]*)" transform="[^"]*" data-state="([^"]*)"', dom)
    return {state: cls for cls, state in found}


def test_execution_page_shows_status_graph_io_and_history(seeded: tuple[LocalServer, str]) -> None:
    server, arn = seeded
    ok = arn.replace(":stateMachine:", ":execution:") + ":ok-run"
    dom = _render(f"{server.url}/console/#/execution/{quote(ok, safe='')}")
    assert 'data-ready="true"' in dom
    assert '<span class="status SUCCEEDED">SUCCEEDED</span>' in dom
    nodes = _nodes(dom)
    assert nodes["Check"] == nodes["Big"] == nodes["Work"] == nodes["Fin"] == "node succeeded"
    assert nodes["Small"] == "node"  # not taken
    assert "History (24 events)" in dom
    for event in ("ExecutionStarted", "ChoiceStateEntered", "MapIterationSucceeded"):
        assert f"<td>{event}</td>" in dom
    assert '"size": "big"' in dom  # the output, pretty-printed
    assert 'id="injected"' not in dom and "&lt;b id='injected'&gt;" in dom  # text, not HTML

    bad = arn.replace(":stateMachine:", ":execution:") + ":bad-run"
    dom = _render(f"{server.url}/console/#/execution/{quote(bad, safe='')}")
    assert '<span class="status FAILED">FAILED</span>' in dom
    assert _nodes(dom)["Work"] == "node failed"
    assert "does not resolve to an array" in dom  # the cause


def test_machine_and_home_pages_list_what_the_api_lists(seeded: tuple[LocalServer, str]) -> None:
    server, arn = seeded
    dom = _render(f"{server.url}/console/#/machine/{quote(arn, safe='')}")
    assert 'data-ready="true"' in dom and "<h1>demo</h1>" in dom
    assert set(_nodes(dom)) == {"Check", "Big", "Small", "Work", "Fin", "(end)"}
    assert re.search(r">ok-run</a>.*SUCCEEDED", dom) and re.search(r">bad-run</a>.*FAILED", dom)
    dom = _render(f"{server.url}/console/#/machine/{quote(arn, safe='')}?status=FAILED")
    assert ">bad-run</a>" in dom and ">ok-run</a>" not in dom
    dom = _render(f"{server.url}/console/")
    assert f'href="#/machine/{quote(arn, safe="")}">demo</a>' in dom


def test_a_distributed_maps_children_are_linked_both_ways(seeded: tuple[LocalServer, str]) -> None:
    server, _ = seeded
    sfn = server.client()
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": True}},
    }
    definition = {
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "Label": "Each", "ItemProcessor": processor, "End": True}},
    }
    arn = sfn.create_state_machine(name="fan", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    parent = sfn.start_execution(stateMachineArn=arn, name="p", input="[1, 2]")["executionArn"]
    for _ in range(200):
        if sfn.describe_execution(executionArn=parent)["status"] != "RUNNING":
            break
        time.sleep(0.02)
    dom = _render(f"{server.url}/console/#/execution/{quote(parent, safe='')}")
    assert "Map Run child executions (2)" in dom
    child = re.findall(r'href="#/execution/([^"]+)"', dom)
    child = [c for c in child if "fan%2FEach" in c]
    assert len(child) == 2
    dom = _render(f"{server.url}/console/#/execution/{child[0]}")
    assert 'data-ready="true"' in dom and '<span class="status SUCCEEDED">' in dom
    assert f'href="#/execution/{quote(parent, safe="")}">p</a>' in dom  # its parent
    assert _nodes(dom)["P"] == "node succeeded"  # the item processor's graph


def test_console_files_and_refusals(seeded: tuple[LocalServer, str]) -> None:
    server, _ = seeded
    assert server.log is not None
    assert f"console at {server.url}/console/" in server.log.read_text()  # said at start
    page = httpx.get(f"{server.url}/console/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert (
        httpx.get(f"{server.url}/console/app.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    moved = httpx.get(f"{server.url}/console")
    assert moved.status_code == 308 and moved.headers["location"] == "/console/"
    for path in ("/console/nothing.js", "/console/../pyproject.toml", "/console/static/app.js"):
        assert httpx.get(f"{server.url}{path}").status_code == 404


def test_a_server_with_auth_says_the_console_needs_it_off(tmp_path: Path) -> None:
    creds = tmp_path / "keys"
    creds.write_text("AKIDCONSOLE secret 123456789012\n")
    args = ("--auth", "--credentials", str(creds), "--log-level", "warning")
    with LocalServer(tmp_path / "auth.db", args=args) as server:
        dom = _render(f"{server.url}/console/")
    assert 'data-ready="error"' in dom
    assert "the console works on servers without it" in dom
