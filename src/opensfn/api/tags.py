"""Tags on state machines and activities: TagResource, UntagResource, ListTagsForResource.

AWS's limits: 50 tags per resource (TooManyTags); key 1-128 and value 0-256
characters (checked against the service model as ValidationException).
"""

from __future__ import annotations

from typing import Any

from opensfn.api import arns
from opensfn.api.context import RequestContext
from opensfn.errors import InvalidArn, ResourceNotFound, TooManyTags
from opensfn.store import writes

MAX_TAGS = 50


def tag_pairs(tags: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    """A request's ``tags`` list as (key, value) pairs; a later duplicate key wins."""
    merged: dict[str, str] = {}
    for tag in tags or ():
        merged[str(tag.get("key", ""))] = str(tag.get("value", ""))
    return list(merged.items())


def check_tag_count(arn: str, count: int) -> None:
    """TooManyTags when a resource would carry more than 50 tags."""
    if count > MAX_TAGS:
        exc = TooManyTags(
            f"Too many tags: the resource '{arn}' would have {count} tags; the limit is {MAX_TAGS}"
        )
        exc.fields = {"resourceName": arn}  # type: ignore[attr-defined]
        raise exc


def _resource(ctx: RequestContext, arn: str) -> None:
    parsed = arns.parse(arn)
    if parsed.kind == "stateMachine":
        found = ctx.store.get_machine(arn) is not None
    elif parsed.kind == "activity":
        found = ctx.store.get_activity(arn) is not None
    else:
        raise InvalidArn(f"Invalid Arn: 'Resource type not valid in this context: {parsed.kind}'")
    if not found:
        raise ResourceNotFound(f"Resource not found: '{arn}'")


async def tag_resource(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """TagResource: add or overwrite tags."""
    arn = p["resourceArn"]
    _resource(ctx, arn)
    new = tag_pairs(p.get("tags"))
    keys = {k for k, _ in ctx.store.get_tags(arn)} | {k for k, _ in new}
    check_tag_count(arn, len(keys))
    await ctx.store.submit(writes.put_tags(arn, new))
    return {}


async def untag_resource(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """UntagResource: remove tags by key."""
    arn = p["resourceArn"]
    _resource(ctx, arn)
    await ctx.store.submit(writes.delete_tags(arn, list(p.get("tagKeys") or ())))
    return {}


async def list_tags_for_resource(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
    """ListTagsForResource."""
    arn = p["resourceArn"]
    _resource(ctx, arn)
    return {"tags": [{"key": k, "value": v} for k, v in ctx.store.get_tags(arn)]}
