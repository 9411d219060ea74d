"""A Distributed Map reading its items from S3 and writing its results there, against a
real moto server behind ``opensfn serve --endpoint s3=…``."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from conftest import ROLE, wait_status
from fixtures_integrations import Moto
from live_server import Server

pytest_plugins = ["fixtures_integrations"]


@pytest.fixture(scope="module")
def sfn(integrations_server: Server) -> Any:
    return integrations_server.client()


def _run(sfn: Any, state: dict[str, Any], payload: Any, status: str) -> dict[str, Any]:
    state = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
        "End": True,
        **state,
    }
    arn = sfn.create_state_machine(
        name=f"it-{uuid.uuid4().hex[:10]}",
        definition=json.dumps({"StartAt": "M", "States": {"M": state}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))
    out = wait_status(sfn, ex["executionArn"], status, 20)
    history = sfn.get_execution_history(executionArn=ex["executionArn"])["events"]
    assert not [e for e in history if e["type"].startswith("Task")]  # the S3 I/O is silent
    return dict(out)


def test_csv_reader_and_result_writer_on_moto(sfn: Any, moto: Moto) -> None:
    s3 = moto.client("s3")
    bucket = f"it-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="in.csv", Body=b"a,b\n1,2\n3,4\n5,6\n")
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 2},
        "Parameters": {"Bucket.$": "$.bucket", "Key": "in.csv"},
    }
    out = _run(sfn, {"ItemReader": reader}, {"bucket": bucket}, "SUCCEEDED")
    assert json.loads(out["output"]) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]

    writer = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": bucket, "Prefix": "results"},
    }
    out = _run(sfn, {"ItemReader": reader, "ResultWriter": writer}, {"bucket": bucket}, "SUCCEEDED")
    details = json.loads(out["output"])["ResultWriterDetails"]
    assert details["Bucket"] == bucket and details["Key"].startswith("results/")
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=details["Key"])["Body"].read())
    [entry] = manifest["ResultFiles"]["SUCCEEDED"]
    records = json.loads(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read())
    assert [json.loads(r["Output"]) for r in records] == [
        {"a": "1", "b": "2"},
        {"a": "3", "b": "4"},
    ]


def test_listing_reader_and_missing_object_on_moto(sfn: Any, moto: Moto) -> None:
    s3 = moto.client("s3")
    bucket = f"it-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"dir/f{i}.txt", Body=b"x" * i)
    lister = {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": bucket, "Prefix": "dir/"},
    }
    out = _run(sfn, {"ItemReader": lister}, {}, "SUCCEEDED")
    items = json.loads(out["output"])
    assert [(i["Key"], i["Size"]) for i in items] == [(f"dir/f{i}.txt", i) for i in range(3)]
    assert set(items[0]) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}

    missing = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": bucket, "Key": "nope.json"},
    }
    out = _run(sfn, {"ItemReader": missing}, {}, "FAILED")
    assert out["error"] == "States.ItemReaderFailed"
    assert "NoSuchKey" in out["cause"]
