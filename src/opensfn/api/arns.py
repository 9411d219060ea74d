"""ARNs and resource names: building them and checking them with AWS's messages.

Formats: ``arn:aws:states:<region>:<account>:stateMachine:<name>``,
``…:execution:<machine name>:<execution name>``, ``…:activity:<name>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opensfn.errors import InvalidArn, InvalidName

# Characters AWS refuses in state machine, execution and activity names: white space,
# brackets, wildcards, special characters and control characters (U+0000-001F, U+007F-009F).
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Arn:
    """A parsed Step Functions ARN."""

    partition: str
    region: str
    account: str
    kind: str  # stateMachine | execution | activity | express | mapRun | ...
    parts: tuple[str, ...]  # what follows the kind


def check_name(name: str) -> str:
    """``name`` if AWS accepts it as a resource name, else InvalidName."""
    if not name or len(name) > 80 or _BAD_NAME.search(name):
        raise InvalidName(f"Invalid Name: '{name}'")
    return name


def parse(arn: str) -> Arn:
    """Split a Step Functions ARN; InvalidArn when it is not one."""
    fields = arn.split(":")
    if len(fields) < 7 or fields[0] != "arn" or fields[2] != "states" or not fields[1]:
        raise InvalidArn(f"Invalid Arn: 'Invalid ARN prefix: {arn}'")
    return Arn(fields[1], fields[3], fields[4], fields[5], tuple(fields[6:]))


def _of_kind(arn: str, kind: str, size: int) -> Arn:
    parsed = parse(arn)
    if parsed.kind != kind:
        raise InvalidArn(f"Invalid Arn: 'Resource type not valid in this context: {parsed.kind}'")
    if len(parsed.parts) != size or not all(parsed.parts):
        raise InvalidArn(f"Invalid Arn: 'Invalid ARN resource: {arn}'")
    return parsed


def state_machine(arn: str) -> Arn:
    """A state machine ARN (unqualified)."""
    return _of_kind(arn, "stateMachine", 1)


def execution(arn: str) -> Arn:
    """A standard execution ARN."""
    return _of_kind(arn, "execution", 2)


def activity(arn: str) -> Arn:
    """An activity ARN."""
    return _of_kind(arn, "activity", 1)


def make(region: str, account: str, kind: str, *names: str) -> str:
    """Build an ARN of this server's partition."""
    return ":".join(("arn", "aws", "states", region, account, kind, *names))


def execution_of(machine_arn: str, name: str) -> str:
    """The ARN of execution ``name`` of the state machine ``machine_arn``."""
    prefix, _, machine_name = machine_arn.rpartition(":stateMachine:")
    return f"{prefix}:execution:{machine_name}:{name}"


def machine_of(execution_arn: str) -> str:
    """The state machine ARN an execution ARN belongs to."""
    prefix, _, rest = execution_arn.rpartition(":execution:")
    return f"{prefix}:stateMachine:{rest.split(':', 1)[0]}"
