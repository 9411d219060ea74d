"""Lambda: bare function ARNs and ``arn:aws:states:::lambda:invoke``.

A function runs either as a local Python handler (``--lambda NAME=module:function``,
called ``(event, context)`` in the thread pool, like the Lambda Python runtime) or on a
Lambda-compatible endpoint (``--lambda-endpoint`` / ``LAMBDA_ENDPOINT``) through boto3.
Local handlers win for the names they map.

Results as AWS records them: a bare ARN's output is the function's payload; ``invoke``
answers ``{ExecutedVersion, Payload (parsed when it is JSON), SdkHttpMetadata,
SdkResponseMetadata, StatusCode}``. A function error is named by its ``errorType``
(``Lambda.Unknown`` when it has none) with the error payload as cause; service errors
are ``Lambda.<Exception>``.
"""

from __future__ import annotations

import base64
import importlib
import json
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from opensfn.engine.protocol import ScheduleTask
from opensfn.runtime.dispatch import host as h
from opensfn.runtime.dispatch.errors import optimized_error
from opensfn.runtime.dispatch.metadata import http_metadata

_HANDLERS: dict[str, Any] = {}


@dataclass(frozen=True)
class Invocation:
    """One function invocation's result, however it ran."""

    status: int
    payload: bytes
    function_error: str | None
    version: str
    request_id: str
    log_result: str | None = None


class FunctionNotFound(Exception):
    """No local handler and no endpoint knows the function."""


def function_name(value: str) -> tuple[str, str | None]:
    """(name, qualifier) of a FunctionName: a name, a full or partial ARN, maybe qualified."""
    parts = value.split(":")
    if value.startswith("arn:") and len(parts) >= 7:
        return parts[6], parts[7] if len(parts) > 7 else None
    if len(parts) >= 3 and parts[1] == "function":  # 123456789012:function:name[:qual]
        return parts[2], parts[3] if len(parts) > 3 else None
    if len(parts) == 2:
        return parts[0], parts[1]
    return value, None


def _handler(target: str) -> Any:
    found = _HANDLERS.get(target)
    if found is None:
        module, _, attr = target.partition(":")
        found = getattr(importlib.import_module(module), attr or "handler")
        _HANDLERS[target] = found
    return found


@dataclass(frozen=True)
class LambdaContext:
    """The ``context`` argument a Python Lambda handler receives."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: str
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's (nominal 15-minute) timeout."""
        return max(0, int((self.deadline - time.time()) * 1000))


def _run_local(target: str, arn: str, name: str, body: bytes, log_type: str | None) -> Invocation:
    request_id = str(uuid.uuid4())
    context = LambdaContext(
        name, "$LATEST", arn, "128", request_id, f"/aws/lambda/{name}",
        time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex, time.time() + 900,
    )  # fmt: skip
    started = time.perf_counter()
    try:
        event = json.loads(body) if body.strip() else {}
    except ValueError as exc:
        return _error_invocation(request_id, "Runtime.UserCodeSyntaxError", str(exc), [])
    try:
        result = _handler(target)(event, context)
    except Exception as exc:
        frames = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
        return _error_invocation(request_id, type(exc).__name__, str(exc), frames)
    if isinstance(result, bytes | bytearray):
        payload = bytes(result)
    else:
        try:
            payload = json.dumps(result).encode()  # the Python runtime's own serialisation
        except (TypeError, ValueError) as exc:
            return _error_invocation(
                request_id, "Runtime.MarshalError", f"Unable to marshal response: {exc}", []
            )
    log = None
    if log_type == "Tail":
        millis = (time.perf_counter() - started) * 1000
        text = (
            f"START RequestId: {request_id} Version: $LATEST\nEND RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {millis:.2f} ms\n"
        )
        log = base64.b64encode(text.encode()).decode()
    return Invocation(200, payload, None, "$LATEST", request_id, log)


def _error_invocation(request_id: str, kind: str, message: str, frames: list[str]) -> Invocation:
    body = {
        "errorMessage": message,
        "errorType": kind,
        "requestId": request_id,
        "stackTrace": frames,
    }
    return Invocation(200, json.dumps(body).encode(), "Unhandled", "$LATEST", request_id)


def _run_endpoint(client: Any, params: dict[str, Any]) -> tuple[Invocation, dict[str, str]]:
    resp = client.invoke(**params)
    meta = resp.get("ResponseMetadata", {})
    return (
        Invocation(
            int(resp.get("StatusCode", 200)),
            resp["Payload"].read() if resp.get("Payload") is not None else b"",
            resp.get("FunctionError"),
            str(resp.get("ExecutedVersion", "$LATEST")),
            str(meta.get("RequestId", "")),
            resp.get("LogResult"),
        ),
        dict(meta.get("HTTPHeaders", {})),
    )


def _body(payload: Any) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, str):  # a string is the request body itself, as the SDK sends it
        return payload.encode()
    return orjson.dumps(payload)


def _invoke(host: h.DispatchHost, fn: str, body: bytes, extra: dict[str, Any]) -> Invocation:
    state = h.integrations_of(host)
    name, qualifier = function_name(fn)
    settings = state.settings
    arn = f"arn:aws:lambda:{settings.region}:{settings.account_id}:function:{name}"
    target = state.handlers.get(name)
    if target is not None:
        return _run_local(target, arn, name, body, extra.get("LogType"))
    if not state.clients.has_endpoint("lambda"):
        raise FunctionNotFound(f"{arn}:{qualifier or '$LATEST'}")
    params: dict[str, Any] = {"FunctionName": fn, **extra}
    if body:
        params["Payload"] = body
    return _run_endpoint(state.clients.client("lambda"), params)[0]


def _not_found(arn: str) -> h.Outcome:
    rid = str(uuid.uuid4())
    return h.Outcome(
        error="Lambda.ResourceNotFoundException",
        cause=(
            f"Function not found: {arn} (Service: AWSLambda; Status Code: 404; Error Code: "
            f"ResourceNotFoundException; Request ID: {rid}; Proxy: null)"
        ),
    )


def _failure(inv: Invocation, compact: bool = False) -> h.Outcome:
    """A function error: named by its ``errorType``. Through ``lambda:invoke`` AWS
    re-serialises the error payload compactly; a bare function ARN passes it as sent."""
    text = inv.payload.decode("utf-8", "replace")
    try:
        body = json.loads(text)
        error_type = body.get("errorType")
        if compact:
            text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    except (ValueError, AttributeError):
        error_type = None
    return h.Outcome(error=str(error_type) if error_type else "Lambda.Unknown", cause=text)


async def _call(host: h.DispatchHost, fn: str, body: bytes, extra: dict[str, Any]) -> Any:
    """An Invocation, or an Outcome when the service refused the call."""
    try:
        return await h.in_thread(host, _invoke, host, fn, body, extra)
    except FunctionNotFound as exc:
        return _not_found(str(exc))
    except Exception as exc:
        client = h.integrations_of(host).clients.client("lambda")
        error, cause = optimized_error("lambda", client, exc)
        return h.Outcome(error=error, cause=cause)


def bare(host: h.DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    """A Task whose resource is a function ARN: the payload is the state's result."""

    async def work() -> h.Outcome:
        got = await _call(host, cmd.resource, orjson.dumps(cmd.parameters), {})
        if isinstance(got, h.Outcome):
            return got
        if got.function_error:
            return _failure(got)
        text = got.payload.decode("utf-8", "replace")
        if not text.strip():
            return h.Outcome(output="null")
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError:
            text = orjson.dumps(text).decode()  # not JSON: the payload is a string
        return h.Outcome(output=text)

    h.start(host, execution_arn, cmd, work)


# lambda:invoke parameters passed on to Invoke besides FunctionName and Payload.
_INVOKE_EXTRA = ("InvocationType", "Qualifier", "ClientContext", "LogType")


def invoke(host: h.DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    """``arn:aws:states:::lambda:invoke[.waitForTaskToken]``: the full Invoke response."""
    params = cmd.parameters if isinstance(cmd.parameters, dict) else {}

    async def work() -> h.Outcome:
        extra = {k: params[k] for k in _INVOKE_EXTRA if params.get(k) is not None}
        got = await _call(
            host, str(params.get("FunctionName", "")), _body(params.get("Payload")), extra
        )
        if isinstance(got, h.Outcome):
            return got
        if got.function_error:
            return _failure(got, compact=True)
        return h.Outcome(output=orjson.dumps(_response(got)).decode())

    h.start(host, execution_arn, cmd, work)


def _response(inv: Invocation) -> dict[str, Any]:
    text = inv.payload.decode("utf-8", "replace")
    payload: Any
    try:
        payload = json.loads(text) if text else ""
    except ValueError:
        payload = text
    headers: dict[str, str] = {}
    if inv.log_result:
        headers["X-Amz-Log-Result"] = inv.log_result
    headers.update(
        {
            "X-Amz-Executed-Version": inv.version,
            "x-amzn-Remapped-Content-Length": "0",
            "Connection": "keep-alive",
            "x-amzn-RequestId": inv.request_id,
            "Content-Length": str(len(inv.payload)),
            "Date": "",
            "X-Amzn-Trace-Id": f"root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};sampled=0",
            "Content-Type": "application/json",
        }
    )
    out: dict[str, Any] = {"ExecutedVersion": inv.version}
    if inv.log_result:
        out["LogResult"] = inv.log_result
    out["Payload"] = payload
    out.update(http_metadata(headers, inv.status, inv.request_id))
    out["StatusCode"] = inv.status
    return out
