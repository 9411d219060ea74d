"""Task tokens: what GetActivityTask hands out and SendTask* brings back.

A token is ``base64url(payload) "." base64url(hmac)``, where the payload is
``account \\x1f execution ARN \\x1f task id`` and the HMAC-SHA256 key is the server's
secret (generated once, kept in the meta table). So a token survives restarts, cannot
be forged or edited, and is refused by any other account. Tokens carry no expiry:
whether the task still waits is the execution's state, asked of the engine.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

_SEP = "\x1f"


@dataclass(frozen=True)
class TokenTarget:
    """What a valid token points at."""

    execution_arn: str
    task_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: bytes, account: str, execution_arn: str, task_id: str) -> str:
    """The token of one task of one execution."""
    payload = _SEP.join((account, execution_arn, task_id)).encode()
    mac = hmac.digest(secret, payload, hashlib.sha256)  # the one-shot C path
    return f"{_b64(payload)}.{_b64(mac)}"


def read_token(secret: bytes, account: str, token: str) -> TokenTarget | None:
    """The task a token names, or ``None`` if it is not a token of this server and account."""
    head, dot, tail = token.partition(".")
    if not dot:
        return None
    try:
        payload, mac = _unb64(head), _unb64(tail)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(mac, hmac.digest(secret, payload, hashlib.sha256)):
        return None
    parts = payload.decode("utf-8", "replace").split(_SEP)
    if len(parts) != 3 or parts[0] != account:
        return None
    return TokenTarget(parts[1], parts[2])
