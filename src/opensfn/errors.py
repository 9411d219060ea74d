"""Every error opensfn raises, declared once.

Hierarchy::

    OpensfnError
    ├── ApiError                 an answer to an API call: AWS code (``__type``) + HTTP status
    │   ├── ValidationException, InvalidArn, InvalidName, InvalidDefinition, ...
    ├── WorkflowError            a workflow-level failure while evaluating a state (error, cause);
    │                            the engine turns it into a value, never lets it escape ``step``
    └── DefinitionError          a state machine definition that cannot be loaded (JSON Pointer)

API errors carry the code AWS returns in ``__type`` and the HTTP status; the class name
is the code, so ``raise InvalidArn("Invalid Arn: ...")`` gives ``{"__type": "InvalidArn"}``.
"""

from __future__ import annotations


class OpensfnError(Exception):
    """Root of every opensfn error."""


# --------------------------------------------------------------------------- API errors


class ApiError(OpensfnError):
    """An error answer of the Step Functions API.

    ``code`` is what AWS puts in ``__type``; ``status`` the HTTP status (400 unless said).
    """

    code: str = "InternalFailure"
    status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _api(code: str, status: int = 400) -> type[ApiError]:
    return type(code, (ApiError,), {"code": code, "status": status, "__doc__": f"AWS `{code}`."})


# The API's error shapes (botocore model ``stepfunctions``), plus the protocol-level
# ones every AWS JSON service answers (UnknownOperationException, SerializationException,
# InvalidSignatureException, ...).
ValidationException = _api("ValidationException")
InvalidArn = _api("InvalidArn")
InvalidName = _api("InvalidName")
InvalidDefinition = _api("InvalidDefinition")
InvalidExecutionInput = _api("InvalidExecutionInput")
InvalidOutput = _api("InvalidOutput")
InvalidToken = _api("InvalidToken")
InvalidLoggingConfiguration = _api("InvalidLoggingConfiguration")
InvalidTracingConfiguration = _api("InvalidTracingConfiguration")
InvalidEncryptionConfiguration = _api("InvalidEncryptionConfiguration")
StateMachineDoesNotExist = _api("StateMachineDoesNotExist")
StateMachineAlreadyExists = _api("StateMachineAlreadyExists")
StateMachineDeleting = _api("StateMachineDeleting")
StateMachineLimitExceeded = _api("StateMachineLimitExceeded")
StateMachineTypeNotSupported = _api("StateMachineTypeNotSupported")
ExecutionDoesNotExist = _api("ExecutionDoesNotExist")
ExecutionAlreadyExists = _api("ExecutionAlreadyExists")
ExecutionLimitExceeded = _api("ExecutionLimitExceeded")
ExecutionNotRedrivable = _api("ExecutionNotRedrivable")
ActivityDoesNotExist = _api("ActivityDoesNotExist")
ActivityAlreadyExists = _api("ActivityAlreadyExists")
ActivityLimitExceeded = _api("ActivityLimitExceeded")
ActivityWorkerLimitExceeded = _api("ActivityWorkerLimitExceeded")
TaskDoesNotExist = _api("TaskDoesNotExist")
TaskTimedOut = _api("TaskTimedOut")
TooManyTags = _api("TooManyTags")
ResourceNotFound = _api("ResourceNotFound")
ConflictException = _api("ConflictException")
ServiceQuotaExceededException = _api("ServiceQuotaExceededException")
MissingRequiredParameter = _api("MissingRequiredParameter")
UnknownOperationException = _api("UnknownOperationException")
SerializationException = _api("SerializationException")
InvalidSignatureException = _api("InvalidSignatureException", 403)
IncompleteSignature = _api("IncompleteSignature", 403)
MissingAuthenticationToken = _api("MissingAuthenticationToken", 403)
UnrecognizedClientException = _api("UnrecognizedClientException", 403)
RequestEntityTooLarge = _api("RequestEntityTooLargeException", 413)
InternalFailure = _api("InternalFailure", 500)


# --------------------------------------------------------------------------- workflow errors


class WorkflowError(OpensfnError):
    """A failure of the running workflow: ``error`` (e.g. ``States.Runtime``) and ``cause``.

    Raised by the pure ``asl`` evaluators; the engine catches it and turns it into a
    failure value handled by Retry/Catch. When ``state_prefix`` is true the engine puts
    AWS's ``An error occurred while executing the state 'X' (entered at the event id #N). ``
    in front of ``cause``, as AWS does for runtime errors.
    """

    def __init__(
        self,
        error: str,
        cause: str | None = None,
        *,
        state_prefix: bool = True,
        location: str | None = None,
    ) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause
        self.state_prefix = state_prefix
        self.location = location  # the field at fault, for ``EvaluationFailed`` events


class DefinitionError(OpensfnError):
    """A definition that does not load; ``pointer`` is a JSON Pointer (``/States/A/Next``)."""

    def __init__(self, message: str, pointer: str = "/") -> None:
        super().__init__(f"{message} at {pointer}")
        self.message = message
        self.pointer = pointer
