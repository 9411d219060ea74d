"""TagResource, UntagResource, ListTagsForResource on state machines and activities."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import PASS_MACHINE, ROLE


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def test_tags_on_a_state_machine(sfn: Any, unique: Callable[[str], str]) -> None:
    arn = sfn.create_state_machine(
        name=unique("tagged"), definition=json.dumps(PASS_MACHINE), roleArn=ROLE,
        tags=[{"key": "team", "value": "a"}],
    )["stateMachineArn"]  # fmt: skip
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "a"}]
    sfn.tag_resource(
        resourceArn=arn, tags=[{"key": "team", "value": "b"}, {"key": "env", "value": ""}]
    )
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"key": "env", "value": ""},
        {"key": "team", "value": "b"},
    ]
    sfn.untag_resource(resourceArn=arn, tagKeys=["team", "absent"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": ""}]


def test_tags_on_an_activity(sfn: Any, unique: Callable[[str], str]) -> None:
    arn = sfn.create_activity(name=unique("tagged"), tags=[{"key": "k", "value": "v"}])[
        "activityArn"
    ]
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "k", "value": "v"}]
    sfn.untag_resource(resourceArn=arn, tagKeys=["k"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_tag_limits(sfn: Any, unique: Callable[[str], str]) -> None:
    arn = sfn.create_activity(name=unique("limits"))["activityArn"]
    fifty = [{"key": f"k{i}", "value": "v"} for i in range(50)]
    sfn.tag_resource(resourceArn=arn, tags=fifty)
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "k0", "value": "overwrite"}])  # still 50
    with pytest.raises(ClientError) as exc:
        sfn.tag_resource(resourceArn=arn, tags=[{"key": "one-more", "value": "v"}])
    assert error_of(exc)[0] == "TooManyTags"
    assert exc.value.response.get("resourceName", arn) == arn
    assert len(sfn.list_tags_for_resource(resourceArn=arn)["tags"]) == 50
    with pytest.raises(ClientError) as exc:
        sfn.create_activity(
            name=unique("many"), tags=[{"key": f"k{i}", "value": "v"} for i in range(51)]
        )
    assert error_of(exc)[0] == "TooManyTags"
    with pytest.raises(ClientError) as exc:
        sfn.tag_resource(resourceArn=arn, tags=[{"key": "k" * 129, "value": "v"}])
    assert error_of(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sfn.tag_resource(resourceArn=arn, tags=[{"key": "k", "value": "v" * 257}])
    assert error_of(exc)[0] == "ValidationException"


def test_tag_errors(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:never-created"
    for call in (
        lambda: sfn.tag_resource(resourceArn=missing, tags=[{"key": "k", "value": "v"}]),
        lambda: sfn.untag_resource(resourceArn=missing, tagKeys=["k"]),
        lambda: sfn.list_tags_for_resource(resourceArn=missing),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == ("ResourceNotFound", f"Resource not found: '{missing}'")
    with pytest.raises(ClientError) as exc:
        sfn.list_tags_for_resource(resourceArn="nonsense")
    assert error_of(exc)[0] == "InvalidArn"
