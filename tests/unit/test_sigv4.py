"""SigV4 verification against signatures made by botocore's own signer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import botocore.credentials
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from opensfn.api.sigv4 import Credentials, credential_scope, parse_authorization, verify
from opensfn.errors import (
    IncompleteSignature,
    InvalidSignatureException,
    MissingAuthenticationToken,
    UnrecognizedClientException,
)

ALICE = Credentials("AKIDALICE", "alice-secret/with+chars", "111111111111")
BOB = Credentials("AKIDBOB", "bob-secret", "222222222222")
KEYS = {c.access_key: c for c in (ALICE, BOB)}
BODY = b'{"stateMachineArn": "arn:aws:states:us-east-1:111111111111:stateMachine:m"}'
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


@dataclass(frozen=True)
class Signed:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    now: datetime

    def verify(self, **changes: object) -> Credentials:
        args = {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "lookup": KEYS.get,
            "now": self.now,
        }
        args.update(changes)
        return verify(**args)  # type: ignore[arg-type]

    def with_headers(self, **headers: str | None) -> dict[str, str]:
        merged = dict(self.headers)
        for name, value in headers.items():
            key = name.replace("_", "-")
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged


def sign(
    creds: Credentials = ALICE,
    *,
    body: bytes = BODY,
    url: str = "http://127.0.0.1:8083/",
    service: str = "states",
    region: str = "eu-west-3",
    token: str | None = None,
    extra: dict[str, str] | None = None,
    context: dict[str, object] | None = None,
) -> Signed:
    """Sign a Step Functions-style request with botocore, as boto3 does."""
    parts = urlsplit(url)
    headers = {
        "Host": parts.netloc,
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AWSStepFunctions.StartExecution",
        **(extra or {}),
    }
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    request.context.update(context or {})
    signer_creds = botocore.credentials.Credentials(creds.access_key, creds.secret_key, token)
    SigV4Auth(signer_creds, service, region).add_auth(request)
    wire = {k.lower(): v for k, v in request.headers.items()}
    if "x-amz-date" in wire:
        now = datetime.strptime(wire["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    else:
        now = parsedate_to_datetime(wire["date"]).replace(tzinfo=UTC)
    return Signed("POST", parts.path or "/", parts.query, wire, body, now)


# ----------------------------------------------------------------------------- accepted


def test_a_botocore_signature_verifies_and_names_the_caller() -> None:
    assert sign().verify() == ALICE
    assert sign(BOB).verify() == BOB


def test_session_tokens_are_signed_and_accepted() -> None:
    signed = sign(token="FwoGZXIvYXdzEB0aDExample//token+=")
    assert "x-amz-security-token" in signed.headers["authorization"]
    assert signed.verify() == ALICE
    changed = signed.with_headers(x_amz_security_token="another-token")
    with pytest.raises(InvalidSignatureException):
        signed.verify(headers=changed)


def test_the_date_header_can_replace_x_amz_date() -> None:
    signed = sign(extra={"Date": "set by the signer"})
    assert "x-amz-date" not in signed.headers
    assert signed.verify() == ALICE


def test_an_honest_content_sha256_header_is_accepted() -> None:
    digest = hashlib.sha256(BODY).hexdigest()
    signed = sign(extra={"X-Amz-Content-SHA256": digest})
    assert "x-amz-content-sha256" in signed.headers["authorization"]
    assert signed.verify() == ALICE


def test_paths_and_query_strings_are_canonicalised_like_botocore() -> None:
    url = "http://localhost:8083/a/./b/../c%20d/?b=2&a=x%2Fy&a=1&empty="
    assert sign(url=url).verify() == ALICE


def test_clock_skew_within_five_minutes_is_accepted() -> None:
    signed = sign()
    assert signed.verify(now=signed.now + timedelta(minutes=5)) == ALICE
    assert signed.verify(now=signed.now - timedelta(minutes=5)) == ALICE


# ----------------------------------------------------------------------------- tampering


@pytest.mark.parametrize(
    "change",
    [
        {"body": BODY.replace(b"stateMachine:m", b"stateMachine:n")},
        {"method": "PUT"},
        {"path": "/other"},
        {"query": "x=1"},
    ],
)
def test_a_tampered_request_fails_with_aws_message(change: dict[str, object]) -> None:
    with pytest.raises(InvalidSignatureException) as raised:
        sign().verify(**change)
    assert raised.value.message.startswith(MISMATCH + "\n\nThe Canonical String")
    assert "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n" in raised.value.message
    assert raised.value.status == 403


def test_a_tampered_signed_header_fails() -> None:
    signed = sign()
    headers = signed.with_headers(x_amz_target="AWSStepFunctions.StopExecution")
    with pytest.raises(InvalidSignatureException, match="does not match"):
        signed.verify(headers=headers)


def test_a_wrong_secret_fails() -> None:
    forged = sign(Credentials(ALICE.access_key, "guessed", ALICE.account_id))
    with pytest.raises(InvalidSignatureException, match="does not match"):
        forged.verify()


def test_a_lying_content_sha256_header_fails() -> None:
    lie = hashlib.sha256(b"{}").hexdigest()
    signed = sign(extra={"X-Amz-Content-SHA256": lie})
    with pytest.raises(InvalidSignatureException, match="does not match"):
        signed.verify()


def test_unsigned_payload_is_refused() -> None:
    signed = sign(context={"payload_signing_enabled": False})
    assert signed.headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    with pytest.raises(InvalidSignatureException, match="does not match"):
        signed.verify()


# ----------------------------------------------------------------------------- AWS's answers


def test_no_authorization_is_a_missing_token() -> None:
    signed = sign()
    with pytest.raises(MissingAuthenticationToken) as raised:
        signed.verify(headers=signed.with_headers(authorization=None))
    assert raised.value.message == "Request is missing Authentication Token"


def test_an_unknown_access_key_is_unrecognized() -> None:
    stranger = sign(Credentials("AKIDNOBODY", "x", "333333333333"))
    with pytest.raises(UnrecognizedClientException) as raised:
        stranger.verify()
    assert raised.value.message == "The security token included in the request is invalid."


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        ("AWS5-HMAC-SHA256 Credential=a", "Unsupported AWS 'algorithm': 'AWS5-HMAC-SHA256'."),
        (
            "AWS4-HMAC-SHA256 FooBar, BazBurp",
            "'FooBar' not a valid key=value pair (missing equal-sign) "
            "in Authorization header: 'AWS4-HMAC-SHA256 FooBar, BazBurp'.",
        ),
        (
            "Bearer abc.def",
            "'abc.def' not a valid key=value pair (missing equal-sign) "
            "in Authorization header: 'Bearer abc.def'.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDALICE",
            "Authorization header requires 'Signature' parameter. "
            "Authorization header requires 'SignedHeaders' parameter. "
            "Authorization=AWS4-HMAC-SHA256 Credential=AKIDALICE",
        ),
        (
            "AWS4-HMAC-SHA256",
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'Signature' parameter. "
            "Authorization header requires 'SignedHeaders' parameter. "
            "Authorization=AWS4-HMAC-SHA256",
        ),
    ],
)
def test_malformed_authorization_is_an_incomplete_signature(
    authorization: str, message: str
) -> None:
    signed = sign()
    with pytest.raises(IncompleteSignature) as raised:
        signed.verify(headers=signed.with_headers(authorization=authorization))
    assert raised.value.message == message


def test_no_date_header_is_an_incomplete_signature() -> None:
    signed = sign()
    headers = signed.with_headers(x_amz_date=None)
    with pytest.raises(IncompleteSignature) as raised:
        signed.verify(headers=headers)
    assert raised.value.message == (
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={signed.headers['authorization']}"
    )


def test_a_date_not_in_basic_format_is_an_incomplete_signature() -> None:
    signed = sign()
    headers = signed.with_headers(x_amz_date="2015-08-30T12:36:00Z")
    with pytest.raises(IncompleteSignature) as raised:
        signed.verify(headers=headers)
    assert raised.value.message == (
        "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def at(stamp: str, **headers: str) -> dict[str, str]:
    """Headers of a request signed at ``stamp`` (the clock is checked before the signature)."""
    authorization = (
        f"AWS4-HMAC-SHA256 Credential=AKIDALICE/{stamp[:8]}/us-east-1/states/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00"
    )
    return {"authorization": authorization, "host": "localhost", "x-amz-date": stamp, **headers}


def check_clock(headers: dict[str, str], now: datetime) -> None:
    verify("POST", "/", "", headers, b"{}", KEYS.get, now)


def test_an_old_signature_has_expired() -> None:
    with pytest.raises(InvalidSignatureException) as raised:
        check_clock(at("20141106T010406Z"), datetime(2014, 11, 6, 1, 17, 52, tzinfo=UTC))
    assert raised.value.message == (
        "Signature expired: 20141106T010406Z is now earlier than 20141106T011252Z "
        "(20141106T011752Z - 5 min.)"
    )


def test_a_future_signature_is_not_yet_current() -> None:
    now = datetime(2017, 4, 24, 1, 33, 32)  # naive: read as UTC
    with pytest.raises(InvalidSignatureException) as raised:
        check_clock(at("20170424T013926Z"), now)
    assert raised.value.message == (
        "Signature not yet current: 20170424T013926Z is still later than 20170424T013832Z "
        "(20170424T013332Z + 5 min.)"
    )


def test_an_rfc_1123_date_header_is_read_for_the_clock() -> None:
    headers = at("20141106T010406Z", date="Thu, 06 Nov 2014 01:04:06 GMT")
    del headers["x-amz-date"]
    with pytest.raises(InvalidSignatureException, match=r"^Signature expired: 20141106T010406Z"):
        check_clock(headers, datetime(2014, 11, 6, 2, 0, tzinfo=UTC))
    with pytest.raises(InvalidSignatureException, match="does not match"):
        check_clock(headers, datetime(2014, 11, 6, 1, 5, tzinfo=UTC))


def test_a_credential_for_another_service_is_refused() -> None:
    with pytest.raises(InvalidSignatureException) as raised:
        sign(service="lambda").verify()
    assert raised.value.message == "Credential should be scoped to correct service: 'states'."


def test_scope_problems_are_reported_together() -> None:
    signed = sign()
    authorization = signed.headers["authorization"].replace(
        f"/{signed.now:%Y%m%d}/eu-west-3/states/aws4_request",
        "/19990101/eu-west-3/sqs/aws5_request",
    )
    with pytest.raises(InvalidSignatureException) as raised:
        signed.verify(headers=signed.with_headers(authorization=authorization))
    basic = signed.headers["x-amz-date"]
    assert raised.value.message == (
        "Credential should be scoped to correct service: 'states'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        f"HTTP: '19990101' != '{basic[:8]}', from '{basic}'."
    )


def test_a_credential_without_five_parts_is_incomplete() -> None:
    signed = sign()
    authorization = "AWS4-HMAC-SHA256 Credential=AKIDALICE, SignedHeaders=host, Signature=ab"
    with pytest.raises(IncompleteSignature) as raised:
        signed.verify(headers=signed.with_headers(authorization=authorization))
    assert raised.value.message == (
        "Credential must have exactly 5 slash-delimited elements, "
        "e.g. keyid/date/region/service/term, got 'AKIDALICE'"
    )


def test_the_host_header_must_be_signed() -> None:
    signed = sign()
    authorization = signed.headers["authorization"].replace("SignedHeaders=", "SignedHeaders=x;")
    authorization = authorization.replace(";host;", ";")
    with pytest.raises(InvalidSignatureException) as raised:
        signed.verify(headers=signed.with_headers(authorization=authorization))
    assert raised.value.message == (
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    )


# ----------------------------------------------------------------------------- parsing


def test_parse_authorization_reads_every_part() -> None:
    signed = sign(region="ap-south-2")
    parsed = parse_authorization(signed.headers["authorization"])
    assert parsed is not None
    assert parsed.access_key == "AKIDALICE"
    assert parsed.date == signed.headers["x-amz-date"][:8]
    assert (parsed.region, parsed.service, parsed.terminator) == (
        "ap-south-2",
        "states",
        "aws4_request",
    )
    assert parsed.signed_headers == ("content-type", "host", "x-amz-date", "x-amz-target")
    assert len(parsed.signature) == 64
    assert parsed.scope == f"{parsed.date}/ap-south-2/states/aws4_request"


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer x", "AWS4-HMAC-SHA256 Credential=a/b/c, Signature=x, SignedHeaders=host"],
)
def test_parse_authorization_gives_none_for_what_it_cannot_read(header: str | None) -> None:
    assert parse_authorization(header) is None


def test_credential_scope_names_key_and_region_without_verifying() -> None:
    signed = sign(region="us-west-2")
    assert credential_scope(signed.headers) == ("AKIDALICE", "us-west-2")
    forged = {"authorization": "AWS4-HMAC-SHA256 Credential=KEY/20240101/eu-north-1/states/x"}
    assert credential_scope(forged) == ("KEY", "eu-north-1")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": ""},
        {"authorization": "Bearer token"},
        {"authorization": "x Credential="},
    ],
)
def test_credential_scope_without_a_credential_is_empty(headers: dict[str, str]) -> None:
    assert credential_scope(headers) == (None, None)


def test_credential_scope_with_a_short_credential_gives_the_key_only() -> None:
    assert credential_scope({"authorization": "AWS4-HMAC-SHA256 Credential=KEY,"}) == ("KEY", None)
