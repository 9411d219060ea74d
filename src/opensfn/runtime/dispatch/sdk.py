"""AWS service integrations through boto3: ``aws-sdk:<service>:<action>`` for any service
boto3 knows, and the optimized integrations (``sqs:sendMessage``, ``sns:publish``,
``dynamodb:*Item``, ``events:putEvents``, ...).

Parameters are the API's own (PascalCase), as on AWS; a JSON object or other non-string
value given for a string or blob member is sent as its JSON text (so ``MessageBody`` may
be an object). Answers as AWS shapes them: aws-sdk outputs are the API response with
timestamps as ISO-8601 text and bodies as text; optimized outputs add
``SdkHttpMetadata`` / ``SdkResponseMetadata`` where AWS does, and their timestamps are
epoch milliseconds (the Java 1.x SDK's). Errors are named by ``errors.py``.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from typing import Any

import orjson
from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from botocore.response import StreamingBody

from opensfn.engine.protocol import ScheduleTask
from opensfn.runtime.dispatch import host as h
from opensfn.runtime.dispatch import jobs
from opensfn.runtime.dispatch.errors import OPTIMIZED, client_name, optimized_error, sdk_error
from opensfn.runtime.dispatch.metadata import service_metadata

# Optimized integration (resource service) -> (boto3 service, metadata protocol or "").
# Rules: a protocol means AWS adds SdkHttpMetadata to the output; "" means it does not.
_OPTIMIZED_SERVICES: dict[str, tuple[str, str]] = {
    "sqs": ("sqs", "json"),
    "sns": ("sns", "query"),
    "dynamodb": ("dynamodb", "dynamodb"),
    "events": ("events", ""),
    "states": ("stepfunctions", "json"),
    "batch": ("batch", ""),
    "ecs": ("ecs", "json-1.1"),  # recorded against AWS: ECS answers carry the metadata
    "glue": ("glue", ""),
    "athena": ("athena", ""),
    "codebuild": ("codebuild", ""),
    "sagemaker": ("sagemaker", ""),
    "eks": ("eks", ""),
    "elasticmapreduce": ("emr", ""),
    "apigateway": ("apigateway", ""),
    "bedrock": ("bedrock-runtime", ""),
}

# aws-sdk service names (the Java 2.x client ids) that differ from boto3's names. Rules:
# names not here are tried as boto3 names, then matched against every serviceId.
_SDK_NAMES: dict[str, str] = {
    "sfn": "stepfunctions",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
    "cloudwatchevents": "events",
    "elasticloadbalancingv2": "elbv2",
    "databasemigration": "dms",
    "costexplorer": "ce",
    "cognitoidentityprovider": "cognito-idp",
    "sesv2": "sesv2",
    "lexruntimev2": "lexv2-runtime",
    "bedrockruntime": "bedrock-runtime",
    "apigatewayv2": "apigatewayv2",
}
_SERVICE_IDS: dict[str, str] = {}


def split_resource(resource: str) -> tuple[str, str, str, str]:
    """(region, service, action, pattern) of a service integration ARN; ``pattern`` is
    ``""``, ``sync``, ``sync:2`` or ``waitForTaskToken``; an aws-sdk service keeps its
    ``aws-sdk:`` prefix."""
    parts = resource.split(":")
    region = parts[3] if len(parts) > 3 else ""
    rest = ":".join(parts[5:])
    pattern = ""
    for suffix in (".sync:2", ".sync", ".waitForTaskToken"):
        if rest.endswith(suffix):
            rest, pattern = rest[: -len(suffix)], suffix[1:]
            break
    service, _, action = rest.rpartition(":")
    return region, service, action, pattern


def boto_service(sdk_service: str) -> str:
    """The boto3 service name of an aws-sdk integration's service name."""
    name = _SDK_NAMES.get(sdk_service)
    if name:
        return name
    import boto3

    session = boto3.session.Session()
    available = session.get_available_services()
    if sdk_service in available:
        return sdk_service
    if not _SERVICE_IDS:
        loader = session._session.get_component("data_loader")
        for svc in available:
            model = loader.load_service_model(svc, "service-2")
            sid = model["metadata"].get("serviceId", svc)
            _SERVICE_IDS[sid.replace(" ", "").replace("-", "").lower()] = svc
    return _SERVICE_IDS.get(sdk_service, sdk_service)


def _member(members: Any, key: str) -> str | None:
    # aws-sdk parameters are PascalCase even where the API's members are camelCase
    # (Step Functions' ``taskToken``), as the Java 2.x SDK names them.
    if key in members:
        return key
    lowered = key[:1].lower() + key[1:]
    return lowered if lowered in members else None


def _coerce(shape: Any, value: Any) -> Any:
    """``value`` fitted to ``shape``: member names matched as the Java SDK does; JSON values
    given for strings become their text, and blobs are always the JSON text of the value
    (AWS sends ``"text"`` with its quotes)."""
    kind = getattr(shape, "type_name", "")
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        out = {}
        for k, v in value.items():
            name = _member(members, k)
            out[name or k] = _coerce(members[name], v) if name else v
        return out
    if kind == "list" and isinstance(value, list):
        return [_coerce(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _coerce(shape.value, v) for k, v in value.items()}
    if kind == "string" and not isinstance(value, str):
        return orjson.dumps(value).decode()
    if kind == "blob" and not isinstance(value, bytes):
        return orjson.dumps(value)
    return value


def _pascal(shape: Any, value: Any) -> Any:
    """An aws-sdk output with its structure members PascalCased (map keys are data)."""
    kind = getattr(shape, "type_name", "")
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {
            k[:1].upper() + k[1:]: _pascal(members[k], v) if k in members else v
            for k, v in value.items()
        }
    if kind == "list" and isinstance(value, list):
        return [_pascal(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _pascal(shape.value, v) for k, v in value.items()}
    return value


def _plain(value: Any, sdk: bool) -> Any:
    """A botocore response value as the JSON AWS records."""
    if isinstance(value, dict):
        return {k: _plain(v, sdk) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_plain(v, sdk) for v in value]
    if isinstance(value, dt.datetime):
        if sdk:
            text = value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
            return text
        return int(value.timestamp() * 1000)
    if isinstance(value, StreamingBody):
        value = value.read()
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode()
    return value


def _run(state: h.Integrations, region: str, service: str, action: str, params: Any) -> h.Outcome:
    sdk = service.startswith("aws-sdk:")
    if sdk:
        boto_name, protocol = boto_service(service.split(":", 1)[1]), ""
    else:
        boto_name, protocol = _OPTIMIZED_SERVICES.get(service, (service, ""))
    client = state.clients.client(boto_name, region or None)
    operation = action[:1].upper() + action[1:]
    model = client.meta.service_model
    if operation not in model.operation_names:
        return h.Outcome(
            error="States.Runtime",
            cause=f"The resource provided {service}:{action} is not recognized.",
        )
    args = params if isinstance(params, dict) else {}
    input_shape = model.operation_model(operation).input_shape
    if input_shape is not None:
        args = _coerce(input_shape, args)
    try:
        response = getattr(client, xform_name(operation))(**args)
    except ParamValidationError as exc:
        return _invalid(client, boto_name, sdk, str(exc))
    except (ClientError, BotoCoreError) as exc:
        error, cause = sdk_error(client, exc) if sdk else optimized_error(boto_name, client, exc)
        if sdk and isinstance(exc, ClientError):
            cause += " (SDK Attempt Count: 1)"
        return h.Outcome(error=error, cause=cause)
    out = _plain(response, sdk)
    raw = orjson.dumps(out)  # the body as the service wrote it (member names as sent)
    output_shape = model.operation_model(operation).output_shape
    if output_shape is not None:  # AWS names members PascalCase, whatever the API's case
        out = _pascal(output_shape, out)
    if boto_name == "glue" and operation == "StartJobRun" and not sdk and isinstance(args, dict):
        # "The JobName field is extracted from the request and inserted into the response"
        # (AWS's guide to the optimized Glue integration).
        out = {"JobName": args.get("JobName"), **out}
    if boto_name == "events" and not sdk and out.get("FailedEntryCount", 0) > 0:
        return h.Outcome(error="EventBridge.FailedEntry", cause=orjson.dumps(out).decode())
    if protocol:
        out.update(
            service_metadata(
                protocol,
                dict(out),
                operation=operation,
                service=boto_name,
                raw=raw if protocol == "json-1.1" else None,  # the others rebuild it as sent
            )
        )
    return h.Outcome(output=orjson.dumps(out).decode())


def _invalid(client: Any, boto_name: str, sdk: bool, message: str) -> h.Outcome:
    # botocore checks parameters before sending; AWS's SDK lets the service refuse them
    # with a ValidationException, which is what the error is named after.
    message = " ".join(message.split())
    if sdk:
        name = client_name(client.meta.service_model.service_id)
        return h.Outcome(
            error=f"{name}.{name}Exception",
            cause=f"{message} (Service: {name}, Status Code: 400, Request ID: null)",
        )
    prefix, java, base = OPTIMIZED.get(boto_name, (boto_name.capitalize(), boto_name, "Exception"))
    return h.Outcome(
        error=f"{prefix}.{base}",
        cause=(
            f"{message} (Service: {java}; Status Code: 400; Error Code: ValidationException; "
            "Request ID: null; Proxy: null)"
        ),
    )


def call(host: h.DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    """Dispatch an aws-sdk or optimized service Task (``.sync`` jobs: ``dispatch.jobs``)."""
    region, service, action, pattern = split_resource(cmd.resource)
    state = h.integrations_of(host)
    if pattern == "sync" and f"{service}:{action}" in jobs.JOBS:
        start = functools.partial(_run, state, region, service, action, cmd.parameters)
        key = f"{service}:{action}"
        jobs.run_job(host, execution_arn, cmd, key, region, start, functools.partial(_run, state))
        return

    async def work() -> h.Outcome:
        return await h.in_thread(host, _run, state, region, service, action, cmd.parameters)

    h.start(host, execution_arn, cmd, work)


def reattach(host: h.DispatchHost, execution_arn: str, tasks: dict[str, Any]) -> None:
    """After a restart: ``.sync`` jobs whose Tasks still wait are followed again."""
    jobs.reattach(host, execution_arn, tasks, functools.partial(_run, h.integrations_of(host)))
