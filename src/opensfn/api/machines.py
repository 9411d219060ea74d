"""State machine operations: Create, Describe, Update, Delete, List, DescribeForExecution,
ValidateStateMachineDefinition."""

from __future__ import annotations

import time
import uuid
from functools import lru_cache
from typing import Any

import orjson

from opensfn.api import arns, encryption, map_runs, pagination
from opensfn.api.context import RequestContext
from opensfn.api.tags import check_tag_count, tag_pairs
from opensfn.asl import references, validate
from opensfn.errors import (
    DefinitionError,
    ExecutionDoesNotExist,
    InternalFailure,
    InvalidDefinition,
    InvalidLoggingConfiguration,
    MissingRequiredParameter,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    ValidationException,
)
from opensfn.runtime import engine_link
from opensfn.store import writes
from opensfn.store.records import MachineRecord, RevisionRecord

_DEFAULT_TRACING = {"enabled": False}


def check_definition(definition: str, machine_type: str) -> Any:
    """The compiled machine, or InvalidDefinition with AWS's message for ERROR diagnostics."""
    diagnostics = validate.validate_definition(definition, machine_type)
    if any(d.severity == "ERROR" for d in diagnostics):
        raise InvalidDefinition(validate.invalid_definition_message(definition, diagnostics))
    try:
        return engine_link.load_machine(definition)
    except DefinitionError as exc:  # the validator should have said it; keep AWS's shape anyway
        raise InvalidDefinition(
            f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {exc.message} at {exc.pointer}'"
        ) from None


def _logging(config: dict[str, Any] | None) -> dict[str, Any]:
    config = dict(config or {})
    level = config.get("level") or "OFF"
    destinations = config.get("destinations") or []
    if len(destinations) > 1 or (level != "OFF" and not destinations):
        raise InvalidLoggingConfiguration(
            "Invalid Logging Configuration: Must specify exactly one Log Destination."
        )
    out: dict[str, Any] = {
        "level": level,
        "includeExecutionData": bool(config.get("includeExecutionData", False)),
    }
    if destinations:
        out["destinations"] = destinations
    return out


def _tracing(config: dict[str, Any] | None) -> dict[str, Any]:
    return {"enabled": bool((config or {}).get("enabled", False))}


def get_machine(ctx: RequestContext, arn: str) -> MachineRecord:
    """The state machine ``arn`` or StateMachineDoesNotExist / InvalidArn."""
    arns.state_machine(arn)
    m = ctx.store.get_machine(arn)
    if m is None:
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
    return m


def current_revision(ctx: RequestContext, m: MachineRecord) -> RevisionRecord:
    """The revision a new execution of ``m`` runs."""
    revision = ctx.store.get_revision(m.arn, m.revision_id)
    if revision is None:
        raise InternalFailure(f"revision {m.revision_id} of {m.arn} is missing")
    return revision


async def create_state_machine(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """CreateStateMachine (idempotent on name, definition, type, logging, tracing and
    encryption configuration).

    With ``publish`` the first revision is published as version 1 at once.
    """
    _check_publish(p)
    name = arns.check_name(p["name"])
    machine_type = p.get("type") or "STANDARD"
    logging = _logging(p.get("loggingConfiguration"))
    tracing = _tracing(p.get("tracingConfiguration"))
    encrypted = encryption.kept(p.get("encryptionConfiguration"))
    arn = arns.make(ctx.region, ctx.account, "stateMachine", name)
    existing = ctx.store.get_machine(arn)
    if existing is not None:
        revision = current_revision(ctx, existing)
        same = (
            revision.definition == p["definition"]
            and existing.type == machine_type
            and orjson.loads(revision.logging) == logging
            and orjson.loads(revision.tracing) == tracing
            and encryption.same(revision.encryption, encrypted)
        )
        if not same:
            raise StateMachineAlreadyExists(f"State Machine Already Exists: '{arn}'")
        out = {"stateMachineArn": arn, "creationDate": existing.creation_date}
        return await _maybe_publish(ctx, existing, existing.revision_id, p, out)
    tags = tag_pairs(p.get("tags"))
    check_tag_count(arn, len({k for k, _ in tags}))
    compiled = check_definition(p["definition"], machine_type)
    now = time.time()
    revision_id = str(uuid.uuid4())
    record = MachineRecord(
        arn,
        ctx.region,
        ctx.account,
        name,
        machine_type,
        revision_id,
        False,
        "ACTIVE",
        now,
        ctx.store.new_seq(),
    )
    revision = RevisionRecord(
        arn, revision_id, p["definition"], p["roleArn"], orjson.dumps(logging).decode(),
        orjson.dumps(tracing).decode(), now, encrypted,
    )  # fmt: skip
    try:
        await ctx.store.submit(writes.create_machine(record, revision, tags))
    except Exception as exc:  # a concurrent create of the same name won the race
        if ctx.store.get_machine(arn) is not None:
            raise StateMachineAlreadyExists(f"State Machine Already Exists: '{arn}'") from exc
        raise
    ctx.runtime.remember_machine(arn, revision_id, compiled)
    return await _maybe_publish(
        ctx, record, revision_id, p, {"stateMachineArn": arn, "creationDate": now}
    )


def _check_publish(p: dict[str, Any]) -> None:
    if p.get("versionDescription") is not None and not p.get("publish"):
        raise ValidationException("Version description can only be set when publish is true")


async def _maybe_publish(
    ctx: RequestContext, m: MachineRecord, revision_id: str, p: dict[str, Any], out: dict[str, Any]
) -> dict[str, Any]:
    """``out`` plus ``stateMachineVersionArn`` when the request asked to publish."""
    if p.get("publish"):
        from opensfn.api.versions import publish  # versions builds on this module

        version = await publish(ctx, m, revision_id, p.get("versionDescription"))
        out["stateMachineVersionArn"] = version.arn
    return out


def _describe(m: MachineRecord, revision: RevisionRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stateMachineArn": m.arn,
        "name": m.name,
        "status": m.status,
        "definition": revision.definition,
        "roleArn": revision.role_arn,
        "type": m.type,
        "creationDate": m.creation_date,
        "loggingConfiguration": orjson.loads(revision.logging),
        "tracingConfiguration": orjson.loads(revision.tracing),
    }
    if m.updated:
        out["revisionId"] = m.revision_id
    return _references(encryption.described(out, revision.encryption))


def _references(out: dict[str, Any]) -> dict[str, Any]:
    """``out`` with ``variableReferences`` of its definition, when a state reads one."""
    found = _references_of(out["definition"])
    if found:
        out["variableReferences"] = {state: list(names) for state, names in found}
    return out


@lru_cache(maxsize=256)
def _references_of(definition: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    try:
        parsed = orjson.loads(definition)
    except orjson.JSONDecodeError:
        return ()
    return tuple((s, tuple(n)) for s, n in references.variable_references(parsed).items())


async def describe_state_machine(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """DescribeStateMachine of a machine or of one of its versions (``…:name:<n>``).

    ``includedData`` METADATA_ONLY: the definition is ``{}``, as AWS answers it (not for a
    Distributed Map's labelled ARN, whose answer is made of the definition)."""
    arn = p["stateMachineArn"]
    parsed = arns.parse(arn)
    if parsed.kind == "stateMachine" and len(parsed.parts) == 1 and "/" in parsed.parts[0]:
        return _describe_map_state(ctx, arn, parsed.parts[0])
    if parsed.kind == "stateMachine" and len(parsed.parts) == 2 and parsed.parts[1].isdigit():
        from opensfn.api import versions  # versions builds on this module

        version = versions.get_version(ctx, arn)
        m = get_machine(ctx, version.machine_arn)
        out = _describe(m, versions.revision_of(ctx, version))
        out["stateMachineArn"] = version.arn
        out["revisionId"] = version.revision_id
        if version.description is not None:
            out["description"] = version.description
        out["creationDate"] = version.creation_date
    else:
        m = get_machine(ctx, arn)
        out = _describe(m, current_revision(ctx, m))
    if p.get("includedData") == "METADATA_ONLY":  # what the definition says stays out
        out["definition"] = "{}"
        out.pop("variableReferences", None)
    return out


def _describe_map_state(ctx: RequestContext, arn: str, qualified: str) -> dict[str, Any]:
    """DescribeStateMachine of ``…:stateMachine:<machine>/<map label>``: the Distributed
    Map state's child workflow (its item processor), with its ``label``."""
    machine_name, _, label = qualified.partition("/")
    m = get_machine(ctx, arn.rsplit(":", 1)[0] + ":" + machine_name)
    revision = current_revision(ctx, m)
    processor = map_runs.processor_of(revision.definition, label)
    if processor is None:
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
    out = _describe(m, revision)
    out.update(
        {
            "stateMachineArn": arn,
            "name": qualified,
            "definition": orjson.dumps(processor).decode(),
            "label": label,
        }
    )
    out.pop("variableReferences", None)
    return _references(out)


async def update_state_machine(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """UpdateStateMachine: a new revision; running executions keep theirs."""
    _check_publish(p)
    m = get_machine(ctx, p["stateMachineArn"])
    keys = (
        "definition", "roleArn", "loggingConfiguration", "tracingConfiguration",
        "encryptionConfiguration",
    )  # fmt: skip
    if all(p.get(k) is None for k in keys):
        raise MissingRequiredParameter(
            "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified"
        )
    old = current_revision(ctx, m)
    definition = p.get("definition") or old.definition
    compiled = None if p.get("definition") is None else check_definition(definition, m.type)
    logging = (
        orjson.loads(old.logging)
        if p.get("loggingConfiguration") is None
        else _logging(p["loggingConfiguration"])
    )
    tracing = (
        orjson.loads(old.tracing)
        if p.get("tracingConfiguration") is None
        else _tracing(p["tracingConfiguration"])
    )
    config = p.get("encryptionConfiguration")
    encrypted = old.encryption if config is None else encryption.kept(config)
    now = time.time()
    revision = RevisionRecord(
        m.arn, str(uuid.uuid4()), definition, p.get("roleArn") or old.role_arn,
        orjson.dumps(logging).decode(), orjson.dumps(tracing).decode(), now, encrypted,
    )  # fmt: skip
    await ctx.store.submit(writes.update_machine(revision))
    if compiled is not None:
        ctx.runtime.remember_machine(m.arn, revision.revision_id, compiled)
    out = {"updateDate": now, "revisionId": revision.revision_id}
    return await _maybe_publish(ctx, m, revision.revision_id, p, out)


async def delete_state_machine(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """DeleteStateMachine, as AWS: the machine (with its versions and aliases) goes at
    once when nothing runs; otherwise it is DELETING, each running execution fails at its
    next transition ("State machine <name> has been deleted."), and the machine goes
    when the last one has ended."""
    arn = p["stateMachineArn"]
    parsed = arns.parse(arn)
    if parsed.kind == "stateMachine" and len(parsed.parts) == 2:
        raise ValidationException(
            "Unable to delete a state machine version or alias with DeleteStateMachine. "
            "Use DeleteStateMachineVersion or DeleteStateMachineAlias instead."
        )
    arns.state_machine(arn)
    if ctx.store.get_machine(arn) is None:
        return {}
    await ctx.runtime.delete_machine(arn)
    return {}


async def list_state_machines(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """ListStateMachines in creation order."""
    after = pagination.decode("ListStateMachines", p.get("nextToken")) or 0
    size = pagination.page_size(p)
    rows = ctx.store.list_machines(ctx.account, ctx.region, int(after), size + 1)
    out: dict[str, Any] = {
        "stateMachines": [
            {
                "stateMachineArn": m.arn,
                "name": m.name,
                "type": m.type,
                "creationDate": m.creation_date,
            }
            for m in rows[:size]
        ]
    }
    if len(rows) > size:
        out["nextToken"] = pagination.encode("ListStateMachines", rows[size - 1].seq)
    return out


async def describe_state_machine_for_execution(
    ctx: RequestContext, p: dict[str, Any]
) -> dict[str, Any]:
    """DescribeStateMachineForExecution: the revision the execution runs."""
    arn = p["executionArn"]
    arns.execution(arn)
    rec = ctx.store.get_execution(arn)
    if rec is None:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
    if rec.map_run_arn is not None:  # a Distributed Map's child: its item processor
        label, definition, parent = map_runs.child_machine(ctx, rec.map_run_arn)
        child = {
            "stateMachineArn": rec.machine_arn,
            "name": rec.machine_arn.rsplit(":", 1)[-1],
            "definition": orjson.dumps(definition).decode(),
            "roleArn": parent.role_arn,
            "updateDate": parent.update_date,
            "loggingConfiguration": orjson.loads(parent.logging),
            "tracingConfiguration": orjson.loads(parent.tracing),
            "mapRunArn": rec.map_run_arn,
            "label": label,
        }
        return _references(encryption.described(child, parent.encryption))
    revision = ctx.store.get_revision(rec.machine_arn, rec.revision_id)
    if revision is None:
        raise InternalFailure(f"revision {rec.revision_id} of {rec.machine_arn} is missing")
    m = ctx.store.get_machine(rec.machine_arn)
    out = {
        "stateMachineArn": rec.machine_arn,
        "name": rec.machine_arn.rsplit(":", 1)[-1],
        "definition": revision.definition,
        "roleArn": revision.role_arn,
        "updateDate": revision.update_date,
        "loggingConfiguration": orjson.loads(revision.logging),
        "tracingConfiguration": orjson.loads(revision.tracing),
    }
    if m is not None and m.updated:
        out["revisionId"] = rec.revision_id
    return _references(encryption.described(out, revision.encryption))


async def validate_state_machine_definition(
    ctx: RequestContext, p: dict[str, Any]
) -> dict[str, Any]:
    """ValidateStateMachineDefinition (answered by ``asl.validate``)."""
    result: dict[str, Any] = validate.validate_response(
        p["definition"],
        p.get("type") or "STANDARD",
        p.get("severity") or "ERROR",
        p.get("maxResults") or 100,
    )
    return result
