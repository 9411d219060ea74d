"""Service errors named as AWS names them in a Task's ``error`` and ``cause``.

AWS runs optimized integrations (``sqs:sendMessage``, ``lambda:invoke``, ...) with the
AWS SDK for Java 1.x and ``aws-sdk:*`` integrations with the 2.x SDK, and the two name
errors differently:

- optimized: ``<Prefix>.<ExceptionClass>``, e.g. ``SNS.NotFoundException``, with the
  cause ``<message> (Service: AmazonSNS; Status Code: 404; Error Code: NotFound;
  Request ID: <id>; Proxy: null)``; an error the service model does not declare is the
  service's base class (``DynamoDB.AmazonDynamoDBException``);
- aws-sdk: ``<ClientName>.<Shape>Exception``, e.g. ``DynamoDb.ResourceNotFoundException``
  or ``S3.NoSuchKeyException``, with the cause ``<message> (Service: DynamoDb, Status
  Code: 400, Request ID: <id>)``; undeclared errors are ``<ClientName>Exception``.

Connection failures are ``<Prefix>.SdkClientException`` with ``Unable to execute HTTP
request: <reason>``, as the SDK reports them.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

# boto3 service name -> (error prefix, Java 1.x service name, Java 1.x base exception) of
# the optimized integrations. Rules: services absent here use the aws-sdk naming.
OPTIMIZED: dict[str, tuple[str, str, str]] = {
    "lambda": ("Lambda", "AWSLambda", "AWSLambdaException"),
    "sqs": ("SQS", "AmazonSQS", "AmazonSQSException"),
    "sns": ("SNS", "AmazonSNS", "AmazonSNSException"),
    "dynamodb": ("DynamoDB", "AmazonDynamoDBv2", "AmazonDynamoDBException"),
    "events": ("EventBridge", "AmazonEventBridge", "AmazonEventBridgeException"),
    "stepfunctions": ("StepFunctions", "AWSStepFunctions", "AWSStepFunctionsException"),
    "batch": ("Batch", "AWSBatch", "AWSBatchException"),
    "ecs": ("ECS", "AmazonECS", "AmazonECSException"),
    "glue": ("Glue", "AWSGlue", "AWSGlueException"),
    "sagemaker": ("SageMaker", "AmazonSageMaker", "AmazonSageMakerException"),
    "athena": ("Athena", "AmazonAthena", "AmazonAthenaException"),
    "codebuild": ("CodeBuild", "AWSCodeBuild", "AWSCodeBuildException"),
    "eks": ("EKS", "AmazonEKS", "AmazonEKSException"),
    "emr": ("EMR", "AmazonElasticMapReduce", "AmazonElasticMapReduceException"),
    "apigateway": ("ApiGateway", "AmazonApiGateway", "AmazonApiGatewayException"),
    "s3": ("S3", "Amazon S3", "AmazonS3Exception"),
}


def client_name(service_id: str) -> str:
    """The Java 2.x client name of a botocore ``serviceId`` ("DynamoDB" → "DynamoDb",
    "SFN" → "Sfn", "Secrets Manager" → "SecretsManager")."""
    out = []
    for word in re.split(r"[\s\-_]+", service_id):
        if not word:
            continue
        # A run of capitals becomes Capitalised ("DB" -> "Db"), keeping the letter that
        # starts the next word ("SNSTopic" -> "SnsTopic").
        word = re.sub(
            r"[A-Z]{2,}(?=[A-Z][a-z]|$|\d)", lambda m: m.group(0)[0] + m.group(0)[1:].lower(), word
        )
        out.append(word[0].upper() + word[1:])
    return "".join(out)


def _shape_for_code(client: Any, code: str) -> str | None:
    """The modeled exception shape whose error code is ``code``."""
    model = client.meta.service_model
    for name in model.error_shapes if hasattr(model, "error_shapes") else []:
        shape = name if not isinstance(name, str) else model.shape_for(name)
        meta = shape.metadata.get("error", {})
        if shape.name == code or meta.get("code") == code:
            return str(shape.name)
    return None


def _request_id(err: ClientError) -> str:
    meta = err.response.get("ResponseMetadata", {})
    return str(meta.get("RequestId") or meta.get("HTTPHeaders", {}).get("x-amzn-requestid", ""))


def optimized_error(service: str, client: Any, exc: Exception) -> tuple[str, str]:
    """(error, cause) of a failed optimized-integration call."""
    prefix, java_service, base = OPTIMIZED.get(service, (service.capitalize(), service, ""))
    if not isinstance(exc, ClientError):
        return f"{prefix}.SdkClientException", _connection_cause(exc)
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
    shape = _shape_for_code(client, code)
    name = shape if shape else (base or f"{prefix}Exception")
    if shape and not name.endswith("Exception"):
        name += "Exception"
    cause = (
        f"{message} (Service: {java_service}; Status Code: {status}; Error Code: {code}; "
        f"Request ID: {_request_id(exc)}; Proxy: null)"
    )
    return f"{prefix}.{name}", cause


def sdk_error(client: Any, exc: Exception) -> tuple[str, str]:
    """(error, cause) of a failed ``aws-sdk:*`` call."""
    service = client_name(client.meta.service_model.service_id)
    if not isinstance(exc, ClientError):
        return f"{service}.SdkClientException", _connection_cause(exc)
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
    shape = _shape_for_code(client, code)
    if shape is None:
        name = f"{service}Exception"
    else:
        name = shape if shape.endswith("Exception") else shape + "Exception"
    cause = f"{message} (Service: {service}, Status Code: {status}, Request ID: {_request_id(exc)})"
    return f"{service}.{name}", cause


def _connection_cause(exc: Exception) -> str:
    if isinstance(exc, EndpointConnectionError):
        return f"Unable to execute HTTP request: {exc.kwargs.get('endpoint_url', '')}"
    if isinstance(exc, BotoCoreError):
        return f"Unable to execute HTTP request: {exc}"
    return f"Unable to execute HTTP request: {exc}"
