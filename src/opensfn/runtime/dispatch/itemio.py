"""A Distributed Map's S3 I/O: the internal tasks the engine schedules for ItemReader
and ResultWriter (``asl.item_reader.READER_RESOURCE`` / ``WRITER_RESOURCE``).

The reader answers with the raw data only: the object's text for ``s3:getObject``
(a JSON string), every object description of the listing for ``s3:listObjectsV2``
(all pages, as AWS's items: ``Etag``, ``Key``, ``LastModified``, ``Size``,
``StorageClass``). Parsing into items is the engine's. The writer puts the files the
engine composed. The data is not a state's payload, so the 256 KiB result limit does
not apply; failures are ``States.ItemReaderFailed`` / ``States.ResultWriterFailed``
with the S3 error as the cause.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from botocore.exceptions import BotoCoreError, ClientError

from opensfn.asl import item_reader
from opensfn.engine.protocol import ScheduleTask, TaskFailed, TaskSucceeded
from opensfn.runtime.dispatch import host as h
from opensfn.runtime.dispatch.errors import optimized_error


def _region(resource: str) -> str | None:
    parts = resource.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None


def _s3(state: h.Integrations, resource: str) -> Any:
    return state.clients.client("s3", _region(resource))


def _failure(error: str, client: Any, exc: Exception) -> h.Outcome:
    _name, cause = optimized_error("s3", client, exc)
    return h.Outcome(error=error, cause=cause)


def _listing_item(entry: dict[str, Any]) -> dict[str, Any]:
    modified = entry.get("LastModified")
    if isinstance(modified, dt.datetime):
        modified = modified.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return {
        "Etag": entry.get("ETag"),
        "Key": entry.get("Key"),
        "LastModified": modified,
        "Size": entry.get("Size"),
        "StorageClass": entry.get("StorageClass"),
    }


def _read(state: h.Integrations, params: dict[str, Any]) -> h.Outcome:
    resource = str(params.get("Resource") or "")
    args = params.get("Parameters")
    args = dict(args) if isinstance(args, dict) else {}
    client = _s3(state, resource)
    try:
        if resource.endswith(":listObjectsV2"):
            items: list[Any] = []
            for page in client.get_paginator("list_objects_v2").paginate(**args):
                items.extend(_listing_item(e) for e in page.get("Contents") or ())
            return h.Outcome(output=orjson.dumps(items).decode())
        body = client.get_object(**args)["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        return _failure(item_reader.READER_FAILED, client, exc)
    except (TypeError, ValueError) as exc:  # parameters boto3 refuses
        return h.Outcome(error=item_reader.READER_FAILED, cause=str(exc))
    text = bytes(body).decode("utf-8", errors="replace").removeprefix("\ufeff")
    return h.Outcome(output=orjson.dumps(text).decode())


def _write(state: h.Integrations, params: dict[str, Any]) -> h.Outcome:
    resource = str(params.get("Resource") or "")
    bucket = str(params.get("Bucket") or "")
    client = _s3(state, resource)
    try:
        for f in params.get("Files") or ():
            client.put_object(Bucket=bucket, Key=f["Key"], Body=f["Body"].encode())
    except (ClientError, BotoCoreError) as exc:
        return _failure(item_reader.WRITER_FAILED, client, exc)
    except (TypeError, ValueError) as exc:
        return h.Outcome(error=item_reader.WRITER_FAILED, cause=str(exc))
    return h.Outcome(output="{}")


def _deliver(host: h.DispatchHost, execution_arn: str, cmd: ScheduleTask, out: h.Outcome) -> None:
    # Not h.answer: the reader's data may exceed the 256 KiB limit of a task result.
    if out.output is None:
        host.deliver(execution_arn, TaskFailed(cmd.task_id, out.error, out.cause))
    else:
        host.deliver(execution_arn, TaskSucceeded(cmd.task_id, out.output))


def read(host: h.DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    """Fetch an ItemReader's data."""
    state = h.integrations_of(host)
    params = cmd.parameters if isinstance(cmd.parameters, dict) else {}

    async def work() -> h.Outcome:
        return await h.in_thread(host, _read, state, params)

    h.start(host, execution_arn, cmd, work, finish=_deliver)


def write(host: h.DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    """Put a ResultWriter's files."""
    state = h.integrations_of(host)
    params = cmd.parameters if isinstance(cmd.parameters, dict) else {}

    async def work() -> h.Outcome:
        return await h.in_thread(host, _write, state, params)

    h.start(host, execution_arn, cmd, work, finish=_deliver)
