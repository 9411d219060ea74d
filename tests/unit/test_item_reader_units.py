"""Distributed Map's ItemReader, ItemBatcher and ResultWriter: the pure parsing and
batching (``asl.item_reader``) and the engine's internal reader/writer tasks, answered
by hand on the Harness (no S3)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from opensfn.asl import item_reader as ir
from opensfn.engine import interpreter
from opensfn.engine.protocol import ScheduleTask
from opensfn.testing import Harness

CSV_FIRST = "Col1,Col2,Col3\nValue1,Value2,Value3\n,,,\n   \n"


def test_csv_first_row_pads_and_drops_fields() -> None:
    items = ir.parse_items(
        "arn:aws:states:::s3:getObject", {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
        CSV_FIRST,
    )  # fmt: skip
    assert items == [
        {"Col1": "Value1", "Col2": "Value2", "Col3": "Value3"},
        {"Col1": "", "Col2": "", "Col3": ""},
        {"Col1": "   ", "Col2": "", "Col3": ""},
    ]


def test_csv_fields_come_in_java_hashmap_order() -> None:
    # Recorded (typed headers): "0,True,{}" comes out as 0, {}, True.
    [item] = ir.parse_items(
        "arn:aws:states:::s3:getObject", {"InputType": "CSV"}, "0,True,{}\na,b,c\n"
    )
    assert list(item) == ["0", "{}", "True"]
    assert orjson.dumps(item) == b'{"0":"a","{}":"c","True":"b"}'
    assert ir.java_hash_order(["H1", ""]) == [1, 0]
    # Past 12 keys the table has 32 buckets: still a permutation, grouped by bucket.
    assert sorted(ir.java_hash_order([f"k{i}" for i in range(20)])) == list(range(20))


def test_csv_given_headers_delimiter_and_duplicates() -> None:
    cfg = {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["A", "B"]}
    assert ir.parse_items("r:s3:getObject", {**cfg, "CSVDelimiter": "PIPE"}, "1|2\n3|4\n") == [
        {"A": "1", "B": "2"},
        {"A": "3", "B": "4"},
    ]
    with pytest.raises(ir.ItemReaderError, match=r"CSV headers cannot contain duplicates\."):
        ir.parse_items("r:s3:getObject", {**cfg, "CSVHeaders": ["A", "A"]}, "1,2\n")


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), (0, None), (2, 2), (100_000_001, 100_000_000)]
)
def test_max_items(value: Any, expected: int | None) -> None:
    assert ir.max_items(value) == expected


@pytest.mark.parametrize("value", [-1, 1.5, "2", True])
def test_max_items_refused(value: Any) -> None:
    with pytest.raises(ir.ItemReaderError, match="field MaxItems must be positive"):
        ir.max_items(value)


def test_json_jsonl_pointer_and_listing() -> None:
    get = "arn:aws:states:::s3:getObject"
    assert ir.parse_items(get, {"InputType": "JSON", "MaxItems": 2}, "[1,2,3]") == [1, 2]
    assert ir.parse_items(get, {"InputType": "JSONL"}, '{"a":1}\n\n[2]\n') == [{"a": 1}, [2]]
    doc = '{"data": {"rows": [1, 2]}}'
    assert ir.parse_items(get, {"InputType": "JSON", "ItemsPointer": "/data/rows"}, doc) == [1, 2]
    with pytest.raises(ir.ItemReaderError, match="non-iterable"):
        ir.parse_items(get, {"InputType": "JSON"}, '{"Hello": "world"}')
    with pytest.raises(ir.ItemReaderError, match="not valid JSON"):
        ir.parse_items(get, {"InputType": "JSON"}, "[1,")
    listing = [{"Key": "a"}, {"Key": "b"}]
    assert ir.parse_items("arn:aws:states:::s3:listObjectsV2", {"MaxItems": 1}, listing) == [
        {"Key": "a"}
    ]


def test_batching_by_count_and_bytes() -> None:
    assert ir.batch([1, 2, 3], 2, None) == [{"Items": [1, 2]}, {"Items": [3]}]
    assert ir.batch([1, 2], None, None, {"x": 1}, has_batch_input=True) == [
        {"BatchInput": {"x": 1}, "Items": [1, 2]}
    ]
    items = ["a" * 10] * 4  # 12 bytes each as JSON
    batches = ir.batch(items, None, len('{"Items":[]}') + 12 * 2 + 1)
    assert [len(b["Items"]) for b in batches] == [2, 2]
    for b in batches:
        assert len(orjson.dumps(b)) <= len('{"Items":[]}') + 25


def test_result_files_and_transformations() -> None:
    ok = {"Status": "SUCCEEDED", "Output": "[1,2]", "Input": "0"}
    bad = {"Status": "FAILED", "Error": "E", "Cause": "C", "Input": "1"}
    assert ir.transform([ok, bad], "COMPACT") == [[1, 2], bad]
    assert ir.transform([ok, bad], "FLATTEN") == [1, 2, bad]
    files = ir.result_files("b", "p/run", "arn:run", [ok, bad], {})
    keys = [f["Key"] for f in files]
    assert keys == ["p/run/SUCCEEDED_0.json", "p/run/FAILED_0.json", "p/run/manifest.json"]
    manifest = json.loads(files[-1]["Body"])
    assert manifest["DestinationBucket"] == "b" and manifest["MapRunArn"] == "arn:run"
    assert manifest["ResultFiles"]["SUCCEEDED"] == [
        {"Key": "p/run/SUCCEEDED_0.json", "Size": len(files[0]["Body"].encode())}
    ]
    assert manifest["ResultFiles"]["PENDING"] == []
    jsonl = ir.result_files("b", "f", "a", [ok], {"OutputType": "JSONL"})[0]["Body"]
    assert jsonl.endswith("\n") and json.loads(jsonl.splitlines()[0]) == ok


# ---------------------------------------------------------------------- engine


def dist_map(**fields: Any) -> str:
    state = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
        "End": True,
        **fields,
    }
    return json.dumps({"StartAt": "M", "States": {"M": state}})


READER = {
    "Resource": "arn:aws:states:::s3:getObject",
    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
    "Parameters": {"Bucket.$": "$.b", "Key": "f.csv"},
}


def _reader_task(h: Harness) -> ScheduleTask:
    [t] = h.pending_tasks()
    assert t.resource == ir.READER_RESOURCE
    return t


def test_reader_task_records_no_events_and_feeds_the_iterations() -> None:
    h = Harness(dist_map(ItemReader=READER))
    h.start('{"b": "bk"}')
    t = _reader_task(h)
    assert t.parameters == {
        "Resource": "arn:aws:states:::s3:getObject",
        "Parameters": {"Bucket": "bk", "Key": "f.csv"},
        "ReaderConfig": READER["ReaderConfig"],
    }
    assert h.types == ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted"]
    assert h.events[2]["mapStateStartedEventDetails"] == {"length": 0}
    h.started(t.task_id)
    assert len(h.events) == 4  # no Task* event for the internal read
    h.succeed(t.task_id, orjson.dumps("A,B\n1,2\n3,4\n").decode())
    assert h.types[4:] == [
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert json.loads(h.closing()["executionSucceededEventDetails"]["output"]) == [
        {"A": "1", "B": "2"},
        {"A": "3", "B": "4"},
    ]


def test_reader_task_survives_a_restart() -> None:
    h = Harness(dist_map(ItemReader=READER))
    h.start('{"b": "bk"}')
    t = _reader_task(h)
    [again] = [c for c in interpreter.resume_commands(h.state) if isinstance(c, ScheduleTask)]
    assert again.task_id == t.task_id and again.resource == ir.READER_RESOURCE
    assert again.parameters == t.parameters


@pytest.mark.parametrize(
    ("answer", "error", "cause"),
    [
        ("fail", "States.ItemReaderFailed", "NoSuchKey"),
        ('"A,A\\n1,2\\n"', "States.ItemReaderFailed", "CSV headers cannot contain duplicates."),
    ],
)
def test_reader_failure_fails_the_map_run(answer: str, error: str, cause: str) -> None:
    h = Harness(dist_map(ItemReader=READER))
    h.start('{"b": "bk"}')
    t = _reader_task(h)
    if answer == "fail":
        h.fail(t.task_id, error, cause)
    else:
        h.succeed(t.task_id, answer)
    assert h.types[4:] == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]
    assert h.events[4]["mapRunFailedEventDetails"] == {"error": error, "cause": cause}
    assert [e["previousEventId"] for e in h.events[4:]] == [4, 5, 6]
    assert h.status == "FAILED"


def test_negative_max_items_path_fails_before_reading() -> None:
    cfg = {"InputType": "JSON", "MaxItemsPath": "$.n"}
    h = Harness(dist_map(ItemReader={**READER, "ReaderConfig": cfg}))
    h.start('{"b": "bk", "n": -1}')
    assert h.pending_tasks() == []
    assert h.closing()["executionFailedEventDetails"] == {
        "error": "States.ItemReaderFailed",
        "cause": "field MaxItems must be positive",
    }


def test_reader_failure_is_retried_like_the_state() -> None:
    retry = [{"ErrorEquals": ["States.ItemReaderFailed"], "IntervalSeconds": 1, "MaxAttempts": 1}]
    h = Harness(dist_map(ItemReader=READER, Retry=retry))
    h.start('{"b": "bk"}')
    h.fail(_reader_task(h).task_id, "States.ItemReaderFailed", "x")
    h.run_timers()
    h.succeed(_reader_task(h).task_id, '"A\\n1\\n"')
    assert h.status == "SUCCEEDED"
    assert h.types.count("MapRunStarted") == 2


def test_jsonata_reader_max_items_and_batcher() -> None:
    definition = json.loads(
        dist_map(
            ItemReader={
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON", "MaxItems": "{% $states.input.n %}"},
                "Arguments": {"Bucket": "{% $states.input.b %}", "Key": "k"},
            },
            ItemBatcher={
                "MaxItemsPerBatch": "{% $states.input.per %}",
                "BatchInput": {"Name": "{% $states.context.State.Name %}"},
            },
        )
    )
    definition["QueryLanguage"] = "JSONata"
    h = Harness(json.dumps(definition))
    h.start('{"b": "bk", "n": 3, "per": 2}')
    t = _reader_task(h)
    assert t.parameters["Parameters"] == {"Bucket": "bk", "Key": "k"}
    h.succeed(t.task_id, orjson.dumps("[1, 2, 3, 4]").decode())
    assert json.loads(h.closing()["executionSucceededEventDetails"]["output"]) == [
        {"BatchInput": {"Name": "M"}, "Items": [1, 2]},
        {"BatchInput": {"Name": "M"}, "Items": [3]},
    ]


def test_batcher_with_item_selector_on_input_items() -> None:
    h = Harness(
        dist_map(
            ItemSelector={"v.$": "$$.Map.Item.Value"},
            ItemBatcher={"MaxItemsPerBatchPath": "$.per"},
            ItemsPath="$.xs",
        )
    )
    h.start('{"xs": [1, 2, 3], "per": "2"}')
    assert json.loads(h.closing()["executionSucceededEventDetails"]["output"]) == [
        {"Items": [{"v": 1}, {"v": 2}]},
        {"Items": [{"v": 3}]},
    ]


WRITER = {
    "Resource": "arn:aws:states:::s3:putObject",
    "Parameters": {"Bucket": "out", "Prefix": "jobs"},
}


def test_result_writer_writes_then_outputs_the_manifest_location() -> None:
    h = Harness(dist_map(ResultWriter=WRITER, Label="L"))
    h.start('["a", "b"]')
    [t] = h.pending_tasks()
    assert t.resource == ir.WRITER_RESOURCE
    assert h.types[-1] == "MapRunStarted"  # the write happens inside the Map Run
    run_arn = h.events[3]["mapRunStartedEventDetails"]["mapRunArn"]
    run_id = run_arn.rpartition(":")[2]
    assert run_arn.startswith("arn:aws:states:us-east-1:123456789012:mapRun:test-machine/L:")
    files = {f["Key"]: f["Body"] for f in t.parameters["Files"]}
    assert t.parameters["Bucket"] == "out"
    assert set(files) == {f"jobs/{run_id}/SUCCEEDED_0.json", f"jobs/{run_id}/manifest.json"}
    records = json.loads(files[f"jobs/{run_id}/SUCCEEDED_0.json"])
    assert [(r["Input"], r["Output"], r["Status"]) for r in records] == [
        ('"a"', '"a"', "SUCCEEDED"),
        ('"b"', '"b"', "SUCCEEDED"),
    ]
    h.succeed(t.task_id, "{}")
    assert h.types[4:] == ["MapRunSucceeded", "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]  # fmt: skip
    assert json.loads(h.closing()["executionSucceededEventDetails"]["output"]) == {
        "MapRunArn": run_arn,
        "ResultWriterDetails": {"Bucket": "out", "Key": f"jobs/{run_id}/manifest.json"},
    }


def test_result_writer_failure_and_preview() -> None:
    h = Harness(dist_map(ResultWriter=WRITER))
    h.start("[1]")
    h.fail(h.pending_tasks()[0].task_id, "States.ResultWriterFailed", "AccessDenied")
    assert h.types[4:] == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]
    preview = Harness(dist_map(ResultWriter={"WriterConfig": {"Transformation": "FLATTEN"}}))
    preview.start("[[1, 2], [3]]")
    assert preview.closing()["executionSucceededEventDetails"]["output"] == "[1,2,3]"
