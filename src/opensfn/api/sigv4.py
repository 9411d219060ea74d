"""AWS Signature Version 4 verification of API requests, with AWS's error answers.

Checks run in the order AWS runs them, so a request with several faults gets the answer AWS
would give first:

1. no ``Authorization`` header                   -> MissingAuthenticationToken
2. unsupported algorithm, a part without ``=``,
   missing Credential/Signature/SignedHeaders or
   no ``X-Amz-Date``/``Date`` header              -> IncompleteSignature
3. ``host`` not among the signed headers          -> InvalidSignatureException
4. a date that is not ISO-8601 basic format       -> IncompleteSignature
5. a date more than 5 minutes off the clock       -> InvalidSignatureException (expired / not yet current)
6. a credential without 5 ``/``-separated parts   -> IncompleteSignature
7. a scope with the wrong service, terminator or
   date (any region is accepted: self-hosted)     -> InvalidSignatureException
8. an access key nobody knows                     -> UnrecognizedClientException
9. a signature that does not match                -> InvalidSignatureException

The payload hash is always computed from the body received, so a signed
``x-amz-content-sha256`` header that lies about the body makes the signature fail.
``x-amz-security-token`` is accepted (and verified like any header when signed).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote

from opensfn.errors import (
    IncompleteSignature,
    InvalidSignatureException,
    MissingAuthenticationToken,
    UnrecognizedClientException,
)

__all__ = [
    "SERVICE",
    "Credentials",
    "ParsedAuth",
    "credential_scope",
    "parse_authorization",
    "verify",
]

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "states"
"""The signing name of Step Functions: the service part of every credential scope."""
TERMINATOR = "aws4_request"
MAX_SKEW = timedelta(minutes=5)
_BASIC_FORMAT = "%Y%m%dT%H%M%SZ"
_BASIC_RE = re.compile(r"\d{8}T\d{6}Z")
_SEPARATORS = re.compile(r"[,\s]+")

_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


@dataclass(frozen=True)
class Credentials:
    """A known access key: its secret and the account its requests act in."""

    access_key: str
    secret_key: str
    account_id: str


@dataclass(frozen=True)
class ParsedAuth:
    """The parts of a SigV4 ``Authorization`` header."""

    access_key: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        """The credential scope, ``date/region/service/aws4_request``."""
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


# ----------------------------------------------------------------------------- parsing


def _fields(header: str) -> dict[str, str]:
    """The ``key=value`` parts of an Authorization header, raising IncompleteSignature."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM and algorithm.startswith("AWS"):
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}'.")
    fields: dict[str, str] = {}
    for part in _SEPARATORS.split(rest):
        if not part:
            continue
        key, equal, value = part.partition("=")
        if not equal:
            raise IncompleteSignature(
                f"'{part}' not a valid key=value pair (missing equal-sign) "
                f"in Authorization header: '{header}'."
            )
        fields[key] = value
    return fields


def parse_authorization(header: str | None) -> ParsedAuth | None:
    """The parts of a SigV4 ``Authorization`` header, or None if absent or malformed."""
    if not header:
        return None
    try:
        fields = _fields(header)
    except IncompleteSignature:
        return None
    credential = fields.get("Credential")
    signed = fields.get("SignedHeaders")
    signature = fields.get("Signature")
    if credential is None or signed is None or signature is None:
        return None
    parts = credential.split("/")
    if len(parts) != 5:
        return None
    access_key, date, region, service, terminator = parts
    return ParsedAuth(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        terminator=terminator,
        signed_headers=tuple(signed.split(";")),
        signature=signature,
    )


_CREDENTIAL = re.compile(r"Credential=([^,\s]*)")


def credential_scope(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """``(access key, region)`` named by the Authorization header, without verifying anything.

    Cheap and never raises: it runs on every request, auth on or off, to pick the account
    and region of ARNs. ``headers`` has lower-case names.
    """
    header = headers.get("authorization")
    if not header:
        return None, None
    found = _CREDENTIAL.search(header)
    if found is None:
        return None, None
    parts = found.group(1).split("/")
    access_key = parts[0] or None
    region = parts[2] if len(parts) > 2 and parts[2] else None
    return access_key, region


# ----------------------------------------------------------------------------- canonical request


def _canonical_path(path: str) -> str:
    """The path as SigV4 signs it for non-S3 services: dot segments removed, encoded again."""
    if not path:
        return "/"
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    normalized = ("/" if path.startswith("/") else "") + "/".join(kept)
    if path.endswith("/") and kept:
        normalized += "/"
    return quote(normalized or "/", safe="/~")


def _canonical_query(query: str) -> str:
    """Query parameters decoded, re-encoded per RFC 3986 and sorted by name then value."""
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    body: bytes,
) -> str:
    canonical_headers = "".join(
        f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed_headers
    )
    return "\n".join(
        (
            method.upper(),
            _canonical_path(path),
            _canonical_query(query),
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        )
    )


@lru_cache(maxsize=256)
def _signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


# ----------------------------------------------------------------------------- verification


def _request_time(headers: Mapping[str, str]) -> tuple[datetime, str]:
    """The request's signing time and its ISO-8601 basic form, from X-Amz-Date or Date."""
    amz_date = headers.get("x-amz-date")
    raw = amz_date if amz_date is not None else headers.get("date", "")
    if _BASIC_RE.fullmatch(raw):
        try:
            when = datetime.strptime(raw, _BASIC_FORMAT).replace(tzinfo=UTC)
            return when, raw
        except ValueError:
            pass
    elif amz_date is None:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            pass
        else:
            when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
            return when, when.strftime(_BASIC_FORMAT)
    raise IncompleteSignature(
        f"Date must be in ISO-8601 'basic format'. Got '{raw}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _check_clock(when: datetime, now: datetime) -> None:
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    stamp, earliest, latest = when, now - MAX_SKEW, now + MAX_SKEW
    minutes = int(MAX_SKEW.total_seconds() // 60)
    if stamp < earliest:
        raise InvalidSignatureException(
            f"Signature expired: {stamp:{_BASIC_FORMAT}} is now earlier than "
            f"{earliest:{_BASIC_FORMAT}} ({now:{_BASIC_FORMAT}} - {minutes} min.)"
        )
    if stamp > latest:
        raise InvalidSignatureException(
            f"Signature not yet current: {stamp:{_BASIC_FORMAT}} is still later than "
            f"{latest:{_BASIC_FORMAT}} ({now:{_BASIC_FORMAT}} + {minutes} min.)"
        )


def _check_scope(parts: list[str], basic_time: str) -> None:
    _, date, region, service, terminator = parts
    problems = []
    if not region:
        problems.append(f"Credential should be scoped to a valid region, not '{region}'.")
    if service != SERVICE:
        problems.append(f"Credential should be scoped to correct service: '{SERVICE}'.")
    if terminator != TERMINATOR:
        problems.append(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
        )
    if date != basic_time[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{date}' != '{basic_time[:8]}', from '{basic_time}'."
        )
    if problems:
        raise InvalidSignatureException(" ".join(problems))


def verify(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    lookup: Callable[[str], Credentials | None],
    now: datetime,
) -> Credentials:
    """Verify the SigV4 signature of a request and return the caller's credentials.

    ``path`` and ``query`` are as sent on the wire (still percent-encoded, e.g. ASGI's
    ``raw_path``), ``headers`` has lower-case names (repeated headers joined with ``,``),
    ``lookup`` maps an access key to its credentials (None if unknown), ``now`` is the
    server's clock. Raises MissingAuthenticationToken, IncompleteSignature,
    InvalidSignatureException or UnrecognizedClientException with AWS's messages.
    """
    header = headers.get("authorization")
    if not header:
        raise MissingAuthenticationToken("Request is missing Authentication Token")
    fields = _fields(header)
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if "x-amz-date" not in headers and "date" not in headers:
        missing.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if missing:
        raise IncompleteSignature(" ".join(missing) + f" Authorization={header}")
    signed_headers = tuple(fields["SignedHeaders"].split(";"))
    if "host" not in signed_headers and ":authority" not in signed_headers:
        raise InvalidSignatureException(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    when, basic_time = _request_time(headers)
    _check_clock(when, now)
    credential = fields["Credential"]
    parts = credential.split("/")
    if len(parts) != 5:
        raise IncompleteSignature(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'"
        )
    _check_scope(parts, basic_time)
    credentials = lookup(parts[0])
    if credentials is None:
        raise UnrecognizedClientException("The security token included in the request is invalid.")
    canonical = _canonical_request(method, path, query, headers, signed_headers, body)
    scope = "/".join(parts[1:])
    string_to_sign = "\n".join(
        (ALGORITHM, basic_time, scope, hashlib.sha256(canonical.encode()).hexdigest())
    )
    key = _signing_key(credentials.secret_key, parts[1], parts[2], parts[3])
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), fields["Signature"].encode()):
        # AWS shows what it signed, which is what a client author needs to find the fault.
        raise InvalidSignatureException(
            f"{_MISMATCH}\n\nThe Canonical String for this request should have been\n"
            f"'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
        )
    return credentials
