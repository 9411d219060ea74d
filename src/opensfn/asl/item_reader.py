"""A Distributed Map's item source and result sink, pure: what ItemReader data becomes
(items), how ItemBatcher groups them, and what ResultWriter writes.

The S3 calls themselves are the runtime's (``runtime/dispatch/itemio.py``): the engine
schedules an internal task whose answer is the object's text (``s3:getObject``) or the
listing (``s3:listObjectsV2``), and everything after that happens here, so the same
bytes always give the same items. Errors are AWS's: ``States.ItemReaderFailed`` with
the cause AWS records.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import orjson

# The internal tasks a Distributed Map schedules. They look like service ARNs so the
# dispatch table can key them ("opensfn:itemReader"); no Task state can name them
# (validation only accepts the s3 resources in ItemReader / ResultWriter).
READER_RESOURCE = "arn:aws:states:::opensfn:itemReader"
WRITER_RESOURCE = "arn:aws:states:::opensfn:resultWriter"

# AWS stops reading past this many items, whatever MaxItems says.
MAX_ITEMS_LIMIT = 100_000_000
READER_FAILED = "States.ItemReaderFailed"
WRITER_FAILED = "States.ResultWriterFailed"

# CSVDelimiter value -> the character. Rules: AWS's enumeration; COMMA is the default.
DELIMITERS: dict[str, str] = {
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "SPACE": " ",
    "TAB": "\t",
}


class ItemReaderError(Exception):
    """The data cannot become items; ``cause`` is AWS's text."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def max_items(value: Any) -> int | None:
    """The effective MaxItems (None: no limit). 0 means no limit; above AWS's limit the
    limit applies; anything else but a non-negative integer is refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ItemReaderError("field MaxItems must be positive")
    number = int(value)
    if number < 0:
        raise ItemReaderError("field MaxItems must be positive")
    if number == 0:
        return None
    return min(number, MAX_ITEMS_LIMIT)


def parse_items(resource: str, config: dict[str, Any], data: Any) -> list[Any]:
    """The items of the data the reader task returned.

    ``resource`` is the ItemReader's ``Resource``; ``config`` its evaluated
    ``ReaderConfig``; ``data`` the task's answer: the object's text for
    ``s3:getObject``, the list of object descriptions for ``s3:listObjectsV2``.
    """
    limit = max_items(config.get("MaxItems"))
    if resource.endswith(":listObjectsV2"):
        if not isinstance(data, list):
            raise ItemReaderError("The listObjectsV2 answer is not a list of objects.")
        return data[:limit] if limit is not None else data
    if not isinstance(data, str):
        raise ItemReaderError("The object's content could not be read.")
    kind = config.get("InputType") or "JSON"
    if kind == "JSON":
        items = _json_items(data, config.get("ItemsPointer"))
    elif kind == "JSONL":
        items = _jsonl_items(data, limit)
    elif kind == "CSV":
        items = _csv_items(data, config, limit)
    else:
        raise ItemReaderError(f"opensfn does not read InputType {kind} yet.")
    return items[:limit] if limit is not None else items


def _json_items(text: str, pointer: Any) -> list[Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ItemReaderError(f"The object is not valid JSON: {exc}") from None
    if isinstance(pointer, str) and pointer:
        value = _pointer(value, pointer)
    if not isinstance(value, list):
        raise ItemReaderError("Attempting to map over non-iterable node.")
    return value


def _pointer(value: Any, pointer: str) -> Any:
    """RFC 6901: ``/a/0/b``, with ``~1`` for ``/`` and ``~0`` for ``~``."""
    if not pointer.startswith("/"):
        raise ItemReaderError(f"Invalid ItemsPointer: {pointer}")
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            raise ItemReaderError(f"ItemsPointer {pointer} does not reference a value.")
    return value


def _jsonl_items(text: str, limit: int | None) -> list[Any]:
    out: list[Any] = []
    for n, line in enumerate(text.splitlines(), 1):
        if limit is not None and len(out) >= limit:
            break
        if not line.strip():
            continue
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            raise ItemReaderError(f"Line {n} of the JSONL object is not valid JSON.") from None
    return out


def _csv_items(text: str, config: dict[str, Any], limit: int | None) -> list[dict[str, str]]:
    delimiter = DELIMITERS.get(str(config.get("CSVDelimiter") or "COMMA"), ",")
    rows: Iterable[list[str]] = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = iter(rows)
    if config.get("CSVHeaderLocation") == "GIVEN":
        given = config.get("CSVHeaders")
        if not isinstance(given, list) or not all(isinstance(h, str) for h in given):
            raise ItemReaderError("CSVHeaders must be an array of strings.")
        headers: list[str] = given
    else:
        headers = next((r for r in rows if r), [])
    if len(set(headers)) != len(headers):
        raise ItemReaderError("CSV headers cannot contain duplicates.")
    # Recorded: AWS builds each record in a Java HashMap, so the fields come out in
    # that map's iteration order, not the file's (it shows in the output text).
    order = java_hash_order(headers)
    out: list[dict[str, str]] = []
    for row in rows:
        if limit is not None and len(out) >= limit:
            break
        if not row:  # a blank line is no record
            continue
        # Recorded: fields beyond the headers are dropped, missing ones are "".
        out.append({headers[i]: (row[i] if i < len(row) else "") for i in order})
    return out


def _java_string_hash(text: str) -> int:
    """Java's ``String.hashCode`` (over UTF-16 code units, 32-bit wrap-around)."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h


def java_hash_order(keys: list[str]) -> list[int]:
    """The positions of distinct ``keys`` in the iteration order of a default
    ``java.util.HashMap`` they were put into in this order: by bucket of the spread
    hash (``h ^ h >>> 16``) in the final table (16 buckets, doubled past 3/4 full),
    then by insertion."""
    capacity = 16
    while len(keys) > capacity * 3 // 4:
        capacity *= 2

    def bucket(i: int) -> int:
        h = _java_string_hash(keys[i])
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(range(len(keys)), key=lambda i: (bucket(i), i))


# ---------------------------------------------------------------------- ItemBatcher


def batch(
    items: list[Any],
    max_per_batch: int | None,
    max_bytes: int | None,
    batch_input: Any = None,
    *,
    has_batch_input: bool = False,
) -> list[dict[str, Any]]:
    """Group ``items`` into child inputs ``{"BatchInput"?, "Items": [...]}``.

    A batch closes when it holds ``max_per_batch`` items or when the next item would
    make the batch's JSON text longer than ``max_bytes``; an item too large alone still
    gets its own batch (AWS then fails the child, not the reader).
    """
    base = len(orjson.dumps(_batch([], batch_input, has_batch_input)))
    out: list[dict[str, Any]] = []
    current: list[Any] = []
    size = base
    for item in items:
        item_size = len(orjson.dumps(item)) + (1 if current else 0)
        full = max_per_batch is not None and len(current) >= max_per_batch
        too_big = max_bytes is not None and current and size + item_size > max_bytes
        if full or too_big:
            out.append(_batch(current, batch_input, has_batch_input))
            current, size = [], base
            item_size -= 1
        current.append(item)
        size += item_size
    if current:
        out.append(_batch(current, batch_input, has_batch_input))
    return out


def _batch(items: list[Any], batch_input: Any, has_batch_input: bool) -> dict[str, Any]:
    if has_batch_input:
        return {"BatchInput": batch_input, "Items": items}
    return {"Items": items}


# ---------------------------------------------------------------------- ResultWriter


def transform(records: list[dict[str, Any]], transformation: str) -> list[Any]:
    """Child results as ``WriterConfig.Transformation`` shapes them: ``NONE`` keeps the
    execution records; ``COMPACT`` keeps the outputs; ``FLATTEN`` also spreads outputs
    that are arrays. A failed child's record stays whole whatever the transformation."""
    if transformation == "NONE":
        return records
    out: list[Any] = []
    for record in records:
        if record.get("Status") != "SUCCEEDED":
            out.append(record)
            continue
        value = orjson.loads(record["Output"])
        if transformation == "FLATTEN" and isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)
    return out


def _encode(values: list[Any], output_type: str) -> str:
    if output_type == "JSONL":
        return "".join(orjson.dumps(v).decode() + "\n" for v in values)
    return orjson.dumps(values).decode()


def result_files(
    bucket: str,
    folder: str,
    map_run_arn: str,
    records: list[dict[str, Any]],
    writer_config: dict[str, Any],
) -> list[dict[str, str]]:
    """The objects ResultWriter puts under ``folder`` (``<Prefix>/<map run id>``): one
    file per child status with results (``SUCCEEDED_0.json``, ``FAILED_0.json``), then
    ``manifest.json`` listing them. Each is ``{"Key", "Body"}``."""
    transformation = str(writer_config.get("Transformation") or "NONE")
    output_type = str(writer_config.get("OutputType") or "JSON")
    files: list[dict[str, str]] = []
    listed: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status in ("SUCCEEDED", "FAILED"):
        chosen = [r for r in records if (r.get("Status") == "SUCCEEDED") == (status == "SUCCEEDED")]
        if not chosen:
            continue
        key = f"{folder}/{status}_0.json"
        body = _encode(transform(chosen, transformation), output_type)
        files.append({"Key": key, "Body": body})
        listed[status].append({"Key": key, "Size": len(body.encode())})
    manifest = {"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": listed}
    files.append({"Key": f"{folder}/manifest.json", "Body": orjson.dumps(manifest).decode()})
    return files
