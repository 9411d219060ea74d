"""``encryptionConfiguration`` of state machines and activities.

AWS encrypts a state machine's definition and its executions' data, or an activity's
task inputs, with an AWS owned key or with a customer managed KMS key the request names.
opensfn keeps its data on its own disk or database and holds no KMS keys: the
configuration is checked as AWS checks it without calling KMS, kept with the state machine
revision or the activity, and described back, so that tools which set it and read it back
(CloudFormation, CDK, Terraform) see what they set. Without one, AWS uses its own key and
describes ``{"type": "AWS_OWNED_KEY"}``; that default is what is kept as nothing.
"""

from __future__ import annotations

from typing import Any

import orjson

from opensfn.errors import InvalidEncryptionConfiguration

CUSTOMER_KEY = "CUSTOMER_MANAGED_KMS_KEY"
AWS_OWNED = {"type": "AWS_OWNED_KEY"}
DEFAULT_REUSE_SECONDS = 300
"""How long AWS reuses a data key of a customer managed key when the request does not say."""


def kept(config: dict[str, Any] | None) -> str | None:
    """The configuration to store (JSON), or None when the request gave none.

    ``type`` and the bounds of ``kmsDataKeyReusePeriodSeconds`` (60-900) were checked with
    the request against the service model; a customer managed key needs its ``kmsKeyId``."""
    if config is None or config == AWS_OWNED:
        return None
    out = dict(config)
    if out["type"] == CUSTOMER_KEY:
        if not out.get("kmsKeyId"):
            raise InvalidEncryptionConfiguration(
                "Invalid Encryption Configuration: kmsKeyId must be specified when the "
                f"type is {CUSTOMER_KEY}"
            )
        out.setdefault("kmsDataKeyReusePeriodSeconds", DEFAULT_REUSE_SECONDS)
    return orjson.dumps(out).decode()


def same(a: str | None, b: str | None) -> bool:
    """Are two kept configurations the same (AWS's own key however it was kept)?"""
    return _shown(a) == _shown(b)


def described(out: dict[str, Any], stored: str | None) -> dict[str, Any]:
    """``out`` with its ``encryptionConfiguration``: the one kept, else AWS's own key."""
    out["encryptionConfiguration"] = _shown(stored)
    return out


def _shown(stored: str | None) -> dict[str, Any]:
    return dict(AWS_OWNED) if stored is None else dict(orjson.loads(stored))
