"""Key-based authentication: the credentials file and verifying one request.

With ``--auth`` every request must carry a valid AWS Signature V4 made with one of the
access keys of ``--credentials``; the key's account is the account the request acts in
(its ARNs, its resources). The file holds one key per line::

    # access key id        secret access key                          account id
    AKIDEXAMPLE            wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY   123456789012

Blank lines and lines starting with ``#`` are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from opensfn.api.sigv4 import Credentials, verify
from opensfn.config import ConfigError

_ACCOUNT_DIGITS = 12


def parse_credentials(text: str, source: str = "credentials") -> dict[str, Credentials]:
    """Access key -> credentials, from the file format above (ConfigError when malformed)."""
    keys: dict[str, Credentials] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3:
            raise ConfigError(
                f"{source}:{number}: expected 'ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID'"
            )
        key, secret, account = fields
        if not (account.isdigit() and len(account) == _ACCOUNT_DIGITS):
            raise ConfigError(f"{source}:{number}: the account id must be 12 digits")
        keys[key] = Credentials(key, secret, account)
    return keys


def load_credentials(path: str) -> dict[str, Credentials]:
    """The keys of the ``--credentials`` file (ConfigError when it is missing or malformed)."""
    if not path:
        raise ConfigError("--auth needs --credentials FILE (OPENSFN_CREDENTIALS)")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--credentials {path}: {exc.strerror or exc}") from None
    keys = parse_credentials(text, path)
    if not keys:
        raise ConfigError(f"--credentials {path}: no access keys")
    return keys


def authenticate(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, Credentials],
) -> Credentials:
    """The credentials that signed the request, or the SigV4 error AWS would answer.
    ``path`` and ``query`` as sent (not decoded); ``headers`` by lower-case name, a
    repeated header's values joined with ``,`` (as SigV4 does)."""
    return verify(method, path, query, headers, body, keys.get, datetime.now(UTC))
