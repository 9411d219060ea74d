"""What TestState refuses, with AWS's messages: the request, the context object it
gives, and a mocked result (its form, and for a Task its fit to the service's output).

A mocked Task result is checked against the botocore-modelled output of the API the
resource calls (``fieldValidationMode``):

- ``STRICT`` (the default): every field present must have the modelled type and
  constraints, and the structure's required fields must be present;
- ``PRESENT``: only the fields present are checked;
- ``NONE``: nothing is checked.

Fields the model does not know are ignored in every mode (``SdkHttpMetadata`` and the
like). Step Functions names the service's fields with a capital first letter
(``executionArn`` → ``ExecutionArn``), so a field is looked up by that name. Only
request-response integrations are checked: the result of ``.sync`` and
``.waitForTaskToken`` is not the API's output. A resource whose service or action
botocore does not model is not checked.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import botocore.session
import orjson
from botocore.model import Shape

from opensfn.asl.payload import MAX_DEPTH, too_deep

# Step Functions' service names (optimized and aws-sdk integrations) → botocore's, where
# they differ. Rule: only names botocore spells differently are listed.
_SERVICE_ALIASES = {
    "states": "stepfunctions",
    "sfn": "stepfunctions",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
    "elasticloadbalancingv2": "elbv2",
    "elasticloadbalancing": "elb",
    "bedrock": "bedrock-runtime",
    "elasticmapreduce": "emr",
    "emrcontainers": "emr-containers",
    "emrserverless": "emr-serverless",
    "sagemakerruntime": "sagemaker-runtime",
}

# Members Step Functions decodes from a blob into any JSON value, per (service, action):
# the checks of their modelled type do not apply.
_JSON_MEMBERS = {("lambda", "Invoke"): frozenset({"Payload"})}

DEFAULT_STATE_NAME = "StateName"  # what AWS calls a state tested without ``stateName``
_NO_MOCK_TYPES = ("Pass", "Fail", "Succeed", "Choice", "Wait")

# The context object a request may give: allowed fields per top-level field.
_CONTEXT_FIELDS = {
    "Execution": frozenset({"Id", "Input", "Name", "RoleArn", "StartTime", "RedriveCount"}),
    "State": frozenset({"EnteredTime", "Name", "RetryCount"}),
    "StateMachine": frozenset({"Id", "Name"}),
    "Task": frozenset({"Token"}),
    "Map": frozenset({"Item"}),
}


class TestStateError(Exception):
    """A request TestState refuses (the API maps it to ValidationException)."""


class TestStateDefinitionError(Exception):
    """A definition TestState cannot run (the API maps it to InvalidDefinition)."""


@dataclass(frozen=True)
class Request:
    """The TestState parameters the runner needs."""

    definition: str
    input: str
    state_name: str | None
    mock: dict[str, Any] | None
    retrier_retry_count: int
    map_iteration_failure_count: int | None
    region: str
    account: str
    role_arn: str | None
    context: str | None = None
    variables: str | None = None
    reveal_secrets: bool = False
    inspection_level: str = "INFO"


@functools.lru_cache(maxsize=1)
def _session() -> Any:
    return botocore.session.get_session()


@functools.lru_cache(maxsize=256)
def _output_shape(service: str, operation: str) -> Shape | None:
    session = _session()
    if service not in session.get_available_services():
        return None
    model = session.get_service_model(service)
    if operation not in model.operation_names:
        return None
    shape: Shape | None = model.operation_model(operation).output_shape
    return shape


def _target(resource: str) -> tuple[str, str] | None:
    """(botocore service, operation) a request-response Task resource calls."""
    parts = resource.split(":")
    if len(parts) < 7 or parts[2] != "states" or parts[5] == "activity":
        return None
    rest = parts[5:]
    if rest[0] == "aws-sdk":
        rest = rest[1:]
    if len(rest) != 2 or not rest[1] or "." in rest[1]:
        return None  # .sync / .waitForTaskToken / unknown shape
    service = _SERVICE_ALIASES.get(rest[0], rest[0])
    return service, rest[1][0].upper() + rest[1][1:]


def _name(member: str) -> str:
    return member[:1].upper() + member[1:]


def _fail(field: str, what: str) -> TestStateError:
    return TestStateError(f"Mock result schema validation error: Field '{field}' {what}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_length(shape: Shape, field: str, size: int) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if isinstance(low, int) and size < low:
        raise _fail(field, "is smaller than the minimum length")
    if isinstance(high, int) and size > high:
        raise _fail(field, "is larger than the maximum length")


def _check_range(shape: Shape, field: str, value: float) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if _is_number(low) and value < low:
        raise _fail(field, "is less than the minimum value")
    if _is_number(high) and value > high:
        raise _fail(field, "exceeds the maximum value")


def _check_structure(
    shape: Any, value: Any, field: str, strict: bool, loose: frozenset[str]
) -> None:
    if not isinstance(value, dict):
        raise _fail(field, "must be an object")
    members = {_name(k): (k, m) for k, m in shape.members.items()}
    if strict:
        for required in shape.required_members:
            if _name(required) not in value:
                raise TestStateError(
                    f"Mock result schema validation error: Required field '{_name(required)}' "
                    "is missing"
                )
    for key, item in value.items():
        found = members.get(key)
        if found is None or key in loose:
            continue
        _check(found[1], item, key, strict)


def _check(shape: Any, value: Any, field: str, strict: bool) -> None:
    """Raise MockShapeError unless ``value`` fits ``shape`` (``field`` names it)."""
    kind = shape.type_name
    if kind == "structure":
        _check_structure(shape, value, field, strict, frozenset())
    elif kind == "list":
        if not isinstance(value, list):
            raise _fail(field, "must be an array")
        for item in value:
            _check(shape.member, item, field, strict)
    elif kind == "map":
        if not isinstance(value, dict):
            raise _fail(field, "must be an object")
        for item in value.values():
            _check(shape.value, item, field, strict)
    elif kind in ("string", "blob"):
        if not isinstance(value, str):
            raise _fail(field, "must be a string")
        if shape.metadata.get("enum") and value not in shape.metadata["enum"]:
            raise _fail(field, "is not an expected value")
        _check_length(shape, field, len(value))
    elif kind in ("integer", "long", "float", "double"):
        if not _is_number(value):
            raise _fail(field, "must be a number")
        _check_range(shape, field, value)
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise _fail(field, "must be a boolean")
    elif kind == "timestamp" and not isinstance(value, str) and not _is_number(value):
        raise _fail(field, "must be a string")


def _validate_result(resource: str, result: Any, mode: str) -> None:
    """Check a Task's mocked ``result`` (a JSON value) as ``fieldValidationMode`` says."""
    if mode == "NONE":
        return
    target = _target(resource)
    if target is None:
        return
    shape = _output_shape(*target)
    if shape is None or not isinstance(result, dict):
        return
    loose = _JSON_MEMBERS.get(target, frozenset())
    _check_structure(shape, result, "", mode != "PRESENT", loose)


# --------------------------------------------------------------------------- requests


def _find(states: Any, name: str) -> dict[str, Any] | None:
    """The state called ``name`` at any depth (Parallel branches, Map processors)."""
    if not isinstance(states, dict):
        return None
    if isinstance(states.get(name), dict):
        found: dict[str, Any] = states[name]
        return found
    for state in states.values():
        if not isinstance(state, dict):
            continue
        scopes = list(state.get("Branches") or ())
        scopes += [state.get("ItemProcessor"), state.get("Iterator")]
        for scope in scopes:
            if isinstance(scope, dict):
                inner = _find(scope.get("States"), name)
                if inner is not None:
                    return inner
    return None


def select(req: Request) -> tuple[str, dict[str, Any], str | None]:
    """(name, state, machine-level QueryLanguage) of the state under test."""
    try:
        document = orjson.loads(req.definition)
    except orjson.JSONDecodeError as exc:
        raise TestStateDefinitionError(f"Invalid State Machine Definition: '{exc}'") from None
    if not isinstance(document, dict):
        raise TestStateDefinitionError("The definition must be a JSON object")
    if req.state_name is None:
        return DEFAULT_STATE_NAME, document, None
    state = _find(document.get("States"), req.state_name)
    if state is None:
        raise TestStateError("State not found in definition")
    return req.state_name, state, document.get("QueryLanguage")


def json_param(text: str, message: str) -> Any:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise TestStateError(message) from None
    if too_deep(text, value):
        raise TestStateError(
            f"{message}: arrays and objects nest deeper than {MAX_DEPTH} levels, "
            "the most opensfn supports"
        )
    return value


def check_context(context: Any, state: dict[str, Any]) -> None:
    bad = "Invalid Context object provided: "
    if not isinstance(context, dict):
        raise TestStateError(bad + "the context must be a JSON object")
    for key, value in context.items():
        allowed = _CONTEXT_FIELDS.get(key)
        if allowed is None:
            raise TestStateError(bad + f"Field '{key}' is not allowed")
        for inner in value if isinstance(value, dict) else ():
            if inner not in allowed:
                raise TestStateError(bad + f"Field '{inner}' is not allowed")
    resource = state.get("Resource")
    if "Task" in context and not (
        state.get("Type") == "Task"
        and isinstance(resource, str)
        and (".sync" in resource or resource.endswith(".waitForTaskToken"))
    ):
        raise TestStateError(
            bad + "Context object contains 'Task' when state is not a Task state with a "
            "'.sync' or '.waitForTaskToken' service integration pattern"
        )


def check_mock(req: Request, state: dict[str, Any]) -> Any:
    """The mocked result as a JSON value (None without one); raise what AWS refuses."""
    mock = req.mock or {}
    if "result" in mock and "errorOutput" in mock:
        raise TestStateError(
            "A test mock should have only one of the following fields: [result, errorOutput]."
        )
    if "result" not in mock:
        return None
    result = json_param(mock["result"], "Mocked result must be valid JSON")
    kind = state.get("Type")
    if kind in ("Map", "Parallel") and "ResultWriter" not in state:
        if not isinstance(result, list):
            raise TestStateError("Mocked result must be an array.")
        branches = state.get("Branches")
        if kind == "Parallel" and isinstance(branches, list) and len(result) != len(branches):
            raise TestStateError(
                "Mocked result must contain the same number of items as number of Parallel "
                "branches."
            )
    if kind == "Task" and isinstance(state.get("Resource"), str):
        _validate_result(state["Resource"], result, mock.get("fieldValidationMode") or "STRICT")
    return result


def _waits_for_others(resource: Any) -> bool:
    """Is the Task's answer someone else's to give (an activity worker, a task token's
    holder, a job it started)?"""
    if not isinstance(resource, str):
        return False
    parts = resource.split(":")
    activity = len(parts) >= 7 and parts[2] == "states" and parts[5] == "activity"
    return activity or ".sync" in resource or resource.endswith(".waitForTaskToken")


def check_request(req: Request, state: dict[str, Any]) -> None:
    kind = state.get("Type")
    if req.mock is None:
        if req.context is not None:
            raise TestStateError(
                "The context field may only be specified if a mock is specified in the same request"
            )
        if req.map_iteration_failure_count is not None:
            raise TestStateError(
                "TestState does not support MapIterationFailureCount when a mock is not specified."
            )
        if kind in ("Map", "Parallel"):
            raise TestStateDefinitionError(
                "TestState API does not support Map or Parallel states. Supported state types "
                "include: [Task, Wait, Pass, Succeed, Fail, Choice]"
            )
        if kind == "Task" and _waits_for_others(state.get("Resource")):
            # AWS documents the limit ("TestState doesn't support Activity tasks, .sync or
            # .waitForTaskToken service integration patterns"); the wording is opensfn's.
            raise TestStateDefinitionError(
                "TestState API does not support Activity tasks, .sync or .waitForTaskToken "
                "service integration patterns unless a mock is specified."
            )
        return
    if req.reveal_secrets:
        raise TestStateError("TestState does not support RevealSecrets when a mock is specified.")
    if kind in _NO_MOCK_TYPES:
        raise TestStateError(f"State type '{kind}' is not supported when a mock is specified")
