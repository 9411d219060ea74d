"""Which Task ``Resource`` values Step Functions recognises, statically.

AWS rejects a Task whose resource is not a known integration when the state machine
is created ("The resource provided ... is not recognized"), and rejects ``.sync`` /
``.waitForTaskToken`` integrations in EXPRESS machines. Bare Lambda function ARNs
and activity ARNs are recognised by shape; ``aws-sdk:<service>:<action>`` by shape
too (AWS checks the service model, which we do not ship).
"""

from __future__ import annotations

import re

# Integration-pattern suffixes a resource may carry: "" is request-response.
_R = frozenset({""})
_RT = frozenset({"", ".waitForTaskToken"})
_RS = frozenset({"", ".sync"})
_RST = frozenset({"", ".sync", ".waitForTaskToken"})
_ALL = frozenset({"", ".sync", ".sync:2", ".waitForTaskToken"})

# Optimized integrations ``arn:<partition>:states:::<service>:<action><suffix>``.
# Rules: service -> action -> the suffixes AWS accepts for it. A service or action
# missing here is "not recognized" (e.g. ``dynamodb:query`` exists only via aws-sdk).
# When unsure about a pattern we allow it: a false rejection is worse than a miss.
OPTIMIZED: dict[str, dict[str, frozenset[str]]] = {
    "lambda": {"invoke": _RT},
    "states": {"startExecution": _ALL},
    "sns": {"publish": _RT},
    "sqs": {"sendMessage": _RT},
    "dynamodb": {a: _R for a in ("getItem", "putItem", "updateItem", "deleteItem")},
    "events": {"putEvents": _RT},
    "apigateway": {"invoke": _RT},
    "http": {"invoke": _R},
    "batch": {"submitJob": _RST},
    "ecs": {"runTask": _RST},
    "glue": {"startJobRun": _RST},
    "databrew": {"startJobRun": _RS},
    "codebuild": {
        a: _RST
        for a in (
            "startBuild",
            "stopBuild",
            "batchDeleteBuilds",
            "batchGetReports",
            "startBuildBatch",
            "stopBuildBatch",
            "retryBuildBatch",
            "deleteBuildBatch",
            "retryBuild",
        )
    },
    "athena": {
        a: _RST
        for a in (
            "startQueryExecution",
            "stopQueryExecution",
            "getQueryExecution",
            "getQueryResults",
        )
    },
    "elasticmapreduce": {
        a: _RS
        for a in (
            "createCluster",
            "terminateCluster",
            "addStep",
            "cancelStep",
            "setClusterTerminationProtection",
            "modifyInstanceFleetByName",
            "modifyInstanceGroupByName",
        )
    },
    "emr-containers": {
        a: _RS for a in ("startJobRun", "createVirtualCluster", "deleteVirtualCluster")
    },
    "emr-serverless": {
        a: _RS
        for a in (
            "createApplication",
            "startApplication",
            "stopApplication",
            "deleteApplication",
            "startJobRun",
            "cancelJobRun",
        )
    },
    "eks": {
        a: _RST
        for a in (
            "createCluster",
            "deleteCluster",
            "createFargateProfile",
            "deleteFargateProfile",
            "createNodegroup",
            "deleteNodegroup",
            "runJob",
            "call",
        )
    },
    "sagemaker": {
        a: _RST
        for a in (
            "createTrainingJob",
            "createTransformJob",
            "createEndpoint",
            "createEndpointConfig",
            "createHyperParameterTuningJob",
            "createLabelingJob",
            "createModel",
            "createProcessingJob",
            "updateEndpoint",
        )
    },
    "bedrock": {a: _RST for a in ("invokeModel", "createModelCustomizationJob")},
    "mediaconvert": {"createJob": _RS},
}

_PARTITIONS = r"aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b"
_OPTIMIZED = re.compile(rf"^arn:(?:{_PARTITIONS}):states:::([a-z0-9-]+):([A-Za-z0-9]+)(.*)$")
_AWS_SDK = re.compile(
    rf"^arn:(?:{_PARTITIONS}):states:::aws-sdk:[a-z0-9.-]+:[a-z][A-Za-z0-9]*(\.waitForTaskToken)?$"
)
_LAMBDA = re.compile(
    rf"^arn:(?:{_PARTITIONS}):lambda:[a-z0-9-]+:\d{{12}}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$"
)
_ACTIVITY = re.compile(rf"^arn:(?:{_PARTITIONS}):states:[a-z0-9-]+:\d{{12}}:activity:[^:]+$")


def resource_problem(resource: str) -> str | None:
    """Why AWS refuses ``resource`` in a Task state, or None when it is recognised."""
    if not resource.startswith("arn:"):
        return "Value is not a valid resource ARN"
    if _LAMBDA.match(resource) or _ACTIVITY.match(resource) or _AWS_SDK.match(resource):
        return None
    match = _OPTIMIZED.match(resource)
    if match:
        service, action, suffix = match.groups()
        allowed = OPTIMIZED.get(service, {}).get(action)
        if allowed is not None and suffix in allowed:
            return None
    return (
        f"The resource provided {resource} is not recognized. The value is not a valid "
        "resource ARN, or the resource is not available in this region."
    )


def express_problem(resource: str) -> str | None:
    """Why an EXPRESS machine refuses ``resource`` (an activity, a .sync or callback
    pattern: Express workflows run none of them), or None."""
    if _ACTIVITY.match(resource):
        return "Express state machine does not support Activity ARN"
    if resource.endswith(".waitForTaskToken"):
        # AWS's message really ends with a space before " at /States/...".
        return "Express state machine does not support '.waitForTaskToken' service integration "
    if re.search(r"\.sync(:\d+)?$", resource):
        return "Express state machine does not support '.sync' service integration"
    return None
