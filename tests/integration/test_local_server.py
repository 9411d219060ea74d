"""``opensfn.testing.LocalServer`` as a user's test suite drives it: a real server with a
database of its own, a boto3 client, a crash and a restart, nothing left behind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from opensfn.client.helpers import start_and_wait
from opensfn.testing import LocalServer

ROLE = "arn:aws:iam::123456789012:role/any"
NAP = {
    "StartAt": "Nap",
    "States": {
        "Nap": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
        "Done": {"Type": "Pass", "Result": {"ok": True}, "End": True},
    },
}


def test_a_server_of_its_own_that_survives_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    # The caller's OPENSFN_* settings are not the server's (only ``args`` count).
    monkeypatch.setenv("OPENSFN_PORT", "1")
    monkeypatch.setenv("OPENSFN_DURABILITY", "nonsense")
    with LocalServer() as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
        assert server.db is not None and server.db.exists()
        home = server.db.parent
        sfn = server.client()
        arn = sfn.create_state_machine(name="nap", definition=json.dumps(NAP), roleArn=ROLE)[
            "stateMachineArn"
        ]
        execution = sfn.start_execution(stateMachineArn=arn, name="one")["executionArn"]
        assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
        pid = server.pid
        seconds = server.kill_and_restart()  # kill -9, then the same database and port
        assert server.pid != pid and seconds < 30
        again = server.client()
        assert again.describe_execution(executionArn=execution)["status"] == "RUNNING"
        assert [m["name"] for m in again.list_state_machines()["stateMachines"]] == ["nap"]
    assert server.proc is not None and server.proc.returncode == 0  # stopped cleanly
    assert not home.exists()  # its temporary directory is gone


def test_flags_and_a_database_of_the_callers(tmp_path: Path) -> None:
    db = tmp_path / "kept.db"
    with LocalServer(db, args=("--wait-scale", "0")) as server:
        sfn = server.client()
        arn = sfn.create_state_machine(name="nap", definition=json.dumps(NAP), roleArn=ROLE)[
            "stateMachineArn"
        ]
        assert start_and_wait(arn, {"x": 1}, client=sfn, timeout=10) == {"ok": True}
    assert db.exists()  # the caller's file stays
    assert server.log is not None and "writes drained" in server.log.read_text()


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="durability"):
        LocalServer(tmp_path / "x.db", args=("--durability", "nonsense")).start()


def test_an_in_memory_server_leaves_nothing_behind() -> None:
    """``--db :memory:`` (one SQLite connection serves reads and writes, so an in-memory
    database works): everything works, nothing is written to disk, a restart starts empty."""
    with LocalServer(args=("--db", ":memory:")) as server:
        assert server.db is not None
        home = server.db.parent
        sfn = server.client()
        arn = sfn.create_state_machine(name="nap", definition=json.dumps(NAP), roleArn=ROLE)[
            "stateMachineArn"
        ]
        execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
        assert [p.suffix for p in home.iterdir()] == [".log"]  # no database file
        server.stop()
        server.start()
        assert server.client().list_state_machines()["stateMachines"] == []
