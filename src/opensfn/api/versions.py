"""State machine versions and aliases, and resolving the ARN an execution starts from.

A version (``…:stateMachine:<name>:<n>``) pins one revision; numbers only grow. An
alias (``…:stateMachine:<name>:<alias>``) routes each new execution to one of one or
two versions by weight. StartExecution and StartSyncExecution accept all three ARN
forms (:func:`resolve`).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import orjson

from opensfn.api import arns, pagination
from opensfn.api.context import RequestContext
from opensfn.api.machines import current_revision, get_machine
from opensfn.errors import (
    ConflictException,
    InternalFailure,
    InvalidArn,
    ResourceNotFound,
    ServiceQuotaExceededException,
    StateMachineDoesNotExist,
    ValidationException,
)
from opensfn.store import versions as vstore
from opensfn.store.records import MachineRecord, RevisionRecord

MAX_VERSIONS = 1000  # per state machine (AWS quota)
MAX_ALIASES = 100  # per state machine (AWS quota)


@dataclass(frozen=True)
class Target:
    """What an execution runs: the machine, the revision, and how it was reached."""

    machine: MachineRecord
    revision: RevisionRecord
    version_arn: str | None = None
    alias_arn: str | None = None


def split_qualified(arn: str) -> tuple[str, str | None]:
    """(unqualified machine ARN, qualifier or None); InvalidArn for other ARNs."""
    parsed = arns.parse(arn)
    if parsed.kind != "stateMachine":
        raise InvalidArn(f"Invalid Arn: 'Resource type not valid in this context: {parsed.kind}'")
    if len(parsed.parts) not in (1, 2) or not all(parsed.parts):
        raise InvalidArn(f"Invalid Arn: 'Invalid ARN resource: {arn}'")
    base = arns.make(parsed.region, parsed.account, "stateMachine", parsed.parts[0])
    if parsed.partition != "aws":
        base = base.replace("arn:aws:", f"arn:{parsed.partition}:", 1)
    return base, parsed.parts[1] if len(parsed.parts) == 2 else None


def _version_number(qualifier: str) -> int | None:
    return int(qualifier) if qualifier.isdigit() else None


def get_version(ctx: RequestContext, arn: str) -> vstore.VersionRecord:
    """The version ``arn`` or StateMachineDoesNotExist / InvalidArn."""
    base, qualifier = split_qualified(arn)
    number = None if qualifier is None else _version_number(qualifier)
    if number is None:
        raise InvalidArn(f"Invalid Arn: 'Invalid ARN resource: {arn}'")
    version = vstore.get_version(ctx.store, base, number)
    if version is None:
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
    return version


def get_alias(ctx: RequestContext, arn: str) -> vstore.AliasRecord:
    """The alias ``arn`` or ResourceNotFound / InvalidArn."""
    _, qualifier = split_qualified(arn)
    if qualifier is None or _version_number(qualifier) is not None:
        raise InvalidArn(f"Invalid Arn: 'Invalid ARN resource: {arn}'")
    alias = vstore.get_alias(ctx.store, arn)
    if alias is None:
        raise ResourceNotFound(f"Resource not found: '{arn}'")
    return alias


def revision_of(ctx: RequestContext, version: vstore.VersionRecord) -> RevisionRecord:
    """The revision a version pins."""
    revision = ctx.store.get_revision(version.machine_arn, version.revision_id)
    if revision is None:
        raise InternalFailure(f"revision {version.revision_id} of {version.machine_arn} is missing")
    return revision


def resolve(ctx: RequestContext, arn: str) -> Target:
    """The target of an unqualified, version or alias state machine ARN."""
    base, qualifier = split_qualified(arn)
    if qualifier is None:
        m = get_machine(ctx, arn)
        return Target(m, current_revision(ctx, m))
    found = ctx.store.get_machine(base)
    if found is None:
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
    if _version_number(qualifier) is not None:
        version = get_version(ctx, arn)
        return Target(found, revision_of(ctx, version), version.arn)
    alias = vstore.get_alias(ctx.store, arn)
    if alias is None:
        raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
    routes = orjson.loads(alias.routing)
    chosen = random.choices(
        [r["stateMachineVersionArn"] for r in routes], [r["weight"] for r in routes]
    )[0]
    version = get_version(ctx, chosen)
    return Target(found, revision_of(ctx, version), version.arn, alias.arn)


async def remember_source(ctx: RequestContext, target: Target, execution_arn: str) -> None:
    """Record the version/alias of a new execution (before the execution row commits)."""
    if target.version_arn is None:
        return
    if execution_arn in ctx.runtime.open or ctx.store.get_execution(execution_arn) is not None:
        return  # an idempotent restart or a name clash: the first start's record stands
    source = vstore.SourceRecord(
        execution_arn, target.machine.arn, target.version_arn, target.alias_arn
    )
    await ctx.store.submit(vstore.record_source(ctx.store, source))


# ----------------------------------------------------------------------------- versions


async def publish(
    ctx: RequestContext, m: MachineRecord, revision_id: str, description: str | None
) -> vstore.VersionRecord:
    """A version of ``revision_id`` (the existing one when that revision is published)."""
    existing = vstore.version_of_revision(ctx.store, m.arn, revision_id)
    if existing is not None:
        if description is not None and description != existing.description:
            raise ConflictException(
                "Failed to publish the State Machine version due to a conflict. "
                f"A version with the same revision already exists: '{existing.arn}'"
            )
        return existing
    if vstore.count_versions(ctx.store, m.arn) >= MAX_VERSIONS:
        raise ServiceQuotaExceededException(
            f"The maximum number of versions ({MAX_VERSIONS}) for the state machine has been reached."
        )
    number = vstore.last_number(ctx.store, m.arn) + 1
    version = vstore.VersionRecord(m.arn, number, revision_id, description, time.time())
    await ctx.store.submit(vstore.publish_version(version))
    return version


async def publish_state_machine_version(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """PublishStateMachineVersion (idempotent on the current revision)."""
    m = get_machine(ctx, p["stateMachineArn"])
    expected = p.get("revisionId")
    if expected is not None:
        current = m.revision_id if m.updated else "INITIAL"
        if expected != current:
            raise ConflictException(
                f"Failed to publish the State Machine version due to a conflict. "
                f"Provided revisionId '{expected}' does not match the current revisionId "
                f"'{current}'."
            )
    version = await publish(ctx, m, m.revision_id, p.get("description"))
    return {"creationDate": version.creation_date, "stateMachineVersionArn": version.arn}


async def list_state_machine_versions(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """ListStateMachineVersions, newest first."""
    m = get_machine(ctx, p["stateMachineArn"])
    below = pagination.decode("ListStateMachineVersions", p.get("nextToken"))
    size = pagination.page_size(p)
    rows = vstore.list_versions(ctx.store, m.arn, 2**62 if below is None else int(below), size + 1)
    out: dict[str, Any] = {
        "stateMachineVersions": [
            {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in rows[:size]
        ]
    }
    if len(rows) > size:
        out["nextToken"] = pagination.encode("ListStateMachineVersions", rows[size - 1].version)
    return out


async def delete_state_machine_version(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """DeleteStateMachineVersion: refused while an alias routes to it; absent is fine."""
    arn = p["stateMachineVersionArn"]
    base, qualifier = split_qualified(arn)
    number = None if qualifier is None else _version_number(qualifier)
    if number is None:
        raise InvalidArn(f"Invalid Arn: 'Invalid ARN resource: {arn}'")
    holders = vstore.aliases_of_version(ctx.store, arn)
    if holders:
        names = ", ".join(h.rsplit(":", 1)[-1] for h in holders)
        raise ConflictException(
            "Version to be deleted must not be referenced by an alias. "
            f"Current list of aliases referencing this version: [{names}]"
        )
    await ctx.store.submit(vstore.delete_version(base, number))
    return {}


# ----------------------------------------------------------------------------- aliases


def _routing(ctx: RequestContext, machine_arn: str, routes: list[dict[str, Any]]) -> str:
    """The routing configuration as stored, after AWS's checks."""
    seen: set[str] = set()
    for route in routes:
        version_arn = route["stateMachineVersionArn"]
        base, qualifier = split_qualified(version_arn)
        if qualifier is None or _version_number(qualifier) is None:
            raise ValidationException(
                f"Routing configuration must contain state machine version ARNs: '{version_arn}'"
            )
        if base != machine_arn:
            raise ValidationException(
                "Routing configuration must contain state machine version ARNs "
                "of the same state machine."
            )
        if version_arn in seen:
            raise ValidationException(
                "Routing configuration must contain distinct state machine version ARNs."
            )
        seen.add(version_arn)
        get_version(ctx, version_arn)
    if sum(int(r["weight"]) for r in routes) != 100:
        raise ValidationException("Sum of routing configuration weights must be equal to 100.")
    return orjson.dumps(
        [
            {"stateMachineVersionArn": r["stateMachineVersionArn"], "weight": r["weight"]}
            for r in routes
        ]
    ).decode()


def _machine_of_routes(routes: list[dict[str, Any]]) -> str:
    return split_qualified(routes[0]["stateMachineVersionArn"])[0]


async def create_state_machine_alias(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """CreateStateMachineAlias (idempotent on name, description and routing)."""
    name = arns.check_name(p["name"])
    machine_arn = _machine_of_routes(p["routingConfiguration"])
    if ctx.store.get_machine(machine_arn) is None:
        raise ResourceNotFound(f"Resource not found: '{machine_arn}'")
    routing = _routing(ctx, machine_arn, p["routingConfiguration"])
    arn = f"{machine_arn}:{name}"
    existing = vstore.get_alias(ctx.store, arn)
    if existing is not None:
        if existing.routing != routing or existing.description != p.get("description"):
            raise ConflictException(
                f"Failed to create alias because an alias with the same name and a different "
                f"configuration already exists: '{arn}'"
            )
        return {"stateMachineAliasArn": arn, "creationDate": existing.creation_date}
    if len(vstore.list_aliases(ctx.store, machine_arn, "", MAX_ALIASES + 1)) >= MAX_ALIASES:
        raise ServiceQuotaExceededException(
            f"The maximum number of aliases ({MAX_ALIASES}) for the state machine has been reached."
        )
    now = time.time()
    alias = vstore.AliasRecord(arn, machine_arn, name, p.get("description"), routing, now, now)
    await ctx.store.submit(vstore.put_alias(alias))
    return {"stateMachineAliasArn": arn, "creationDate": now}


def _describe_alias(a: vstore.AliasRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"stateMachineAliasArn": a.arn, "name": a.name}
    if a.description is not None:
        out["description"] = a.description
    out["routingConfiguration"] = orjson.loads(a.routing)
    out["creationDate"] = a.creation_date
    out["updateDate"] = a.update_date
    return out


async def describe_state_machine_alias(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """DescribeStateMachineAlias."""
    return _describe_alias(get_alias(ctx, p["stateMachineAliasArn"]))


async def update_state_machine_alias(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """UpdateStateMachineAlias: description and/or routing."""
    alias = get_alias(ctx, p["stateMachineAliasArn"])
    if p.get("description") is None and p.get("routingConfiguration") is None:
        raise ValidationException(
            "Either the description or the RoutingConfiguration must be specified"
        )
    routing = alias.routing
    if p.get("routingConfiguration") is not None:
        routing = _routing(ctx, alias.machine_arn, p["routingConfiguration"])
    description = p.get("description", alias.description)
    now = time.time()
    updated = vstore.AliasRecord(
        alias.arn, alias.machine_arn, alias.name, description, routing, alias.creation_date, now
    )
    await ctx.store.submit(vstore.put_alias(updated))
    return {"updateDate": now}


async def delete_state_machine_alias(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """DeleteStateMachineAlias (executions started through it go on)."""
    alias = get_alias(ctx, p["stateMachineAliasArn"])
    await ctx.store.submit(vstore.delete_alias(alias.arn))
    return {}


async def list_state_machine_aliases(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """ListStateMachineAliases, by name."""
    m = get_machine(ctx, p["stateMachineArn"])
    after = pagination.decode("ListStateMachineAliases", p.get("nextToken")) or ""
    size = pagination.page_size(p)
    rows = vstore.list_aliases(ctx.store, m.arn, str(after), size + 1)
    out: dict[str, Any] = {
        "stateMachineAliases": [
            {"stateMachineAliasArn": a.arn, "creationDate": a.creation_date} for a in rows[:size]
        ]
    }
    if len(rows) > size:
        out["nextToken"] = pagination.encode("ListStateMachineAliases", rows[size - 1].name)
    return out
