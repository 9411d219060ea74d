"""Whatever a client sends, the answer is a 200 or an AWS-shaped 4xx — never a 500.

Requests for every operation of botocore's model are generated from the model itself
(hypothesis): members present or missing, values of the right JSON type or of another,
strings random or drawn from a pool that reaches past validation (this server's own
state machine, activity, execution, version and alias ARNs, definitions, JSON inputs),
and bodies that are not a JSON object at all. Each one goes to the live server over HTTP
as boto3 would send it; an answer must be 200 with a JSON object, or 4xx with
``{"__type": ..., "message": ...}``.
"""

from __future__ import annotations

import http.client
import json
import uuid
from typing import Any

import pytest
from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape
from conftest import ROLE, wait_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_server import Server

MODEL = ServiceModel(Loader().load_service_model("stepfunctions", "service-2"))
TARGET = "AWSStepFunctions."
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
DEFINITIONS = [
    json.dumps(PASS),
    json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}),
    json.dumps({"QueryLanguage": "JSONata", **PASS}),
    json.dumps({"StartAt": "X", "States": {}}),
    '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Nowhere"}}}',
    "{not json",
    "",
    # state definitions, for TestState
    '{"Type": "Pass", "Parameters": {"a.$": "$.a"}, "End": true}',
    '{"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericEquals": 1, "Next": "X"}], '
    '"Default": "Y"}',
    '{"Type": "Wait", "Seconds": 1, "End": true}',
    '{"Type": "Fail", "Error": "E"}',
]
JSON_TEXTS = [
    '{"a": 1}',
    "[]",
    "null",
    "1e999",
    '"x"',
    "{",
    '{"a": "\\ud800"}',
    "{}" * 3,
    "[" * 300 + "]" * 300,
]


@pytest.fixture
def pool(server: Server) -> dict[str, list[str]]:
    """Strings that reach past validation, by member name: this server's own resources
    (made afresh for each operation, as one may delete them), names, definitions, JSON."""
    sfn = server.client()
    tag = uuid.uuid4().hex[:8]
    made = sfn.create_state_machine(
        name=f"fuzz-{tag}", definition=json.dumps(PASS), roleArn=ROLE, publish=True
    )
    machine, version = made["stateMachineArn"], made["stateMachineVersionArn"]
    express = sfn.create_state_machine(
        name=f"fuzz-x-{tag}", definition=json.dumps(PASS), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    alias = sfn.create_state_machine_alias(
        name=f"fuzz{tag}", routingConfiguration=[{"stateMachineVersionArn": version, "weight": 100}]
    )["stateMachineAliasArn"]
    activity = sfn.create_activity(name=f"fuzz-{tag}")["activityArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    wait_status(sfn, execution)
    worked = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity, "End": True}}}
    worked_arn = sfn.create_state_machine(
        name=f"fuzz-a-{tag}", definition=json.dumps(worked), roleArn=ROLE
    )["stateMachineArn"]
    sfn.start_execution(stateMachineArn=worked_arn)
    token = sfn.get_activity_task(activityArn=activity)["taskToken"]
    missing = "arn:aws:states:us-east-1:123456789012"
    machines = [machine, express, version, alias, f"{missing}:stateMachine:gone"]
    executions = [execution, execution.replace(":execution:", ":mapRun:") + "/x:1",
                  f"{missing}:execution:gone:e"]  # fmt: skip
    activities = [activity, f"{missing}:activity:gone"]
    names = [f"fuzz-{tag}-{n}" for n in range(3)] + ["has space", "x" * 81, "é", "a:b", "*"]
    every_arn = [*machines, *executions, *activities, ROLE, "arn:", "not-an-arn"]
    return {
        "stateMachineArn": machines, "stateMachineVersionArn": [version, *machines],
        "stateMachineAliasArn": [alias, *machines], "executionArn": executions,
        "mapRunArn": executions, "activityArn": activities, "resourceArn": every_arn,
        "roleArn": [ROLE, "arn:aws:iam::1:role/r", "role"], "name": names,
        "definition": DEFINITIONS, "input": JSON_TEXTS, "output": JSON_TEXTS,
        "taskToken": [token, token, "AAAA", "x" * 2000, execution], "*": [*every_arn, *names, *JSON_TEXTS],
    }  # fmt: skip


def _string(pool: dict[str, list[str]], member: str) -> st.SearchStrategy[str]:
    """Mostly strings that pass validation and reach the operation, else anything."""
    known = st.sampled_from(pool.get(member) or pool["*"])
    return st.one_of(
        known, known, known, known, st.text(max_size=40), st.text("abXY019-_:/.$", max_size=90)
    )


def _any_json() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
        st.text(max_size=10),
    )  # fmt: skip
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=6,
    )


def _value(
    shape: Shape,
    pool: dict[str, list[str]],
    depth: int = 0,
    *,
    member: str = "*",
    typed_only: bool = True,
) -> st.SearchStrategy[Any]:
    """Values for ``shape``: of its JSON type (required members present) or, unless
    ``typed_only``, sometimes of any other JSON type at any depth."""
    kind = shape.type_name
    if depth > 3:
        return st.none()

    def inner(shape: Shape, name: str = member) -> st.SearchStrategy[Any]:
        return _value(shape, pool, depth + 1, member=name, typed_only=typed_only)

    typed: st.SearchStrategy[Any]
    if kind == "structure":
        required = set(shape.required_members) if typed_only else set()
        members = {name: inner(m, name) for name, m in shape.members.items()}
        typed = st.fixed_dictionaries(
            {name: v for name, v in members.items() if name in required},
            optional={name: v for name, v in members.items() if name not in required},
        )
    elif kind == "list":
        typed = st.lists(inner(shape.member), max_size=3)
    elif kind == "map":
        typed = st.dictionaries(inner(shape.key), inner(shape.value), max_size=3)
    elif kind == "string":
        enum = shape.metadata.get("enum")
        words = _string(pool, member)
        typed = st.one_of(st.sampled_from(enum), st.sampled_from(enum), words) if enum else words
    elif kind in ("integer", "long"):
        typed = st.integers(-(2**33), 2**33) | st.integers(-2, 1_100)
    elif kind in ("float", "double", "timestamp"):
        typed = st.floats(allow_nan=False, allow_infinity=False, width=32)
    elif kind == "boolean":
        typed = st.booleans()
    else:  # blob
        typed = st.text(max_size=10)
    return typed if typed_only else st.one_of(typed, typed, typed, _any_json())


def _post(url: str, op: str, body: bytes) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", "/", body, {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": TARGET + op,
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDOPENSFNTEST/20240101/us-east-1/"
            "states/aws4_request, SignedHeaders=host, Signature=0",
        })  # fmt: skip
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _check(op: str, request: bytes, status: int, body: bytes) -> None:
    where = f"{op} {request[:300]!r} -> {status} {body[:300]!r}"
    assert status < 500, where
    answer = json.loads(body)
    assert isinstance(answer, dict), where
    if status != 200:
        assert 400 <= status < 500, where
        assert isinstance(answer.get("__type"), str) and answer["__type"], where
        assert isinstance(answer.get("message"), str), where


# GetActivityTask on an existing activity waits for a task (a second with the tests'
# --activity-poll-seconds): its fuzzing keeps to activities that do not exist.
LONG_POLL = {"GetActivityTask"}


@pytest.mark.parametrize("op", sorted(MODEL.operation_names))
def test_no_request_gets_a_server_error(
    server: Server, pool: dict[str, list[str]], op: str
) -> None:
    shape = MODEL.operation_model(op).input_shape
    assert shape is not None
    used = pool if op not in LONG_POLL else {**pool, "activityArn": pool["activityArn"][1:]}
    typed = _value(shape, used).map(lambda v: json.dumps(v).encode())
    mistyped = _value(shape, used, typed_only=False).map(lambda v: json.dumps(v).encode())
    junk = st.sampled_from([b"", b"{", b"[]", b"null", b'"x"', b"{}" * 2, b"\xff\xfe"])
    bodies = st.one_of(typed, typed, typed, mistyped, junk)

    @settings(
        max_examples=150, deadline=None, database=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )  # fmt: skip
    @given(bodies)
    def one(body: bytes) -> None:
        status, answer = _post(server.url, op, body)
        _check(op, body, status, answer)

    one()
