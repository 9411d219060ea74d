"""``SdkHttpMetadata`` / ``SdkResponseMetadata``: what optimized integrations add to a
service's answer on AWS (the Java SDK's view of the HTTP response).

The headers are the ones the AWS service sends for that protocol (one table), with the
length of the answer's body as AWS encodes it, so a local stand-in (moto, a Lambda
handler) yields the same shape as the real service.
"""

from __future__ import annotations

import uuid
import zlib
from email.utils import formatdate
from typing import Any

import orjson

# protocol -> (connection header name, content type). Rules: the JSON protocols answer
# ``application/x-amz-json-1.0`` with a lower-case ``connection`` header as AWS's load
# balancers send it; query protocols (SNS) answer XML.
_PROTOCOL_HEADERS: dict[str, tuple[str, str]] = {
    "json": ("connection", "application/x-amz-json-1.0"),
    "json-1.1": ("", "application/x-amz-json-1.1"),  # ECS: no connection header
    "query": ("connection", "text/xml"),
    "rest-json": ("Connection", "application/json"),
    "dynamodb": ("Connection", "application/x-amz-json-1.0"),
}


def http_metadata(headers: dict[str, str], status: int, request_id: str) -> dict[str, Any]:
    """The two metadata members, from the response headers (a ``Date`` is filled in)."""
    headers = dict(headers)
    if not headers.get("Date"):
        headers["Date"] = formatdate(usegmt=True)
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": dict(headers),
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    }


def service_metadata(
    protocol: str,
    body: dict[str, Any],
    *,
    operation: str = "",
    service: str = "",
    raw: bytes | None = None,
) -> dict[str, Any]:
    """Metadata for a service answer ``body`` sent with ``protocol`` (``json``, ``query``
    or ``dynamodb``, whose front end adds ``Server`` and a CRC32 of the body); ``raw`` is
    the body as the service wrote it, when known."""
    request_id = str(uuid.uuid4())
    if raw is not None:
        pass
    elif protocol == "query":
        raw = _query_xml(operation, service, body, request_id)
    else:
        raw = orjson.dumps(body)
    connection, content_type = _PROTOCOL_HEADERS.get(protocol, _PROTOCOL_HEADERS["json"])
    headers: dict[str, str] = {}
    if protocol == "dynamodb":
        headers["Server"] = "Server"
        connection = "Connection"
    headers["x-amzn-RequestId"] = request_id
    if protocol == "dynamodb":
        headers["x-amz-crc32"] = str(zlib.crc32(raw))
    if connection:
        headers[connection] = "keep-alive"
    headers.update({"Content-Length": str(len(raw)), "Date": "", "Content-Type": content_type})
    return http_metadata(headers, 200, request_id)


def _query_xml(operation: str, service: str, body: dict[str, Any], request_id: str) -> bytes:
    # The query protocol's XML document as AWS writes it (two-space indent, a final
    # newline); botocore does not keep the raw body, so it is rebuilt from the members.
    lines = [f'<{operation}Response xmlns="http://{service}.amazonaws.com/doc/2010-03-31/">']
    lines.append(f"  <{operation}Result>")
    lines += [f"    <{k}>{v}</{k}>" for k, v in body.items() if not isinstance(v, dict | list)]
    lines += [f"  </{operation}Result>", "  <ResponseMetadata>"]
    lines += [f"    <RequestId>{request_id}</RequestId>", "  </ResponseMetadata>"]
    lines.append(f"</{operation}Response>")
    return ("\n".join(lines) + "\n").encode()
