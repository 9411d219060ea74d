"""HTTP Task: ``arn:aws:states:::http:invoke`` with real HTTP (httpx, async).

Parameters as AWS takes them: ``ApiEndpoint``, ``Method``, ``Headers``,
``QueryParameters``, ``RequestBody``, ``Transform`` (``RequestBodyEncoding``:
``URL_ENCODED`` with ``RequestEncodingOptions.ArrayFormat`` INDICES / REPEAT / COMMAS /
BRACKETS) and ``Authentication.ConnectionArn``. Connections are configured locally
(``--http-connections FILE``: connection ARN → ``{"Authorization": {"Basic": {...}} |
{"ApiKey": {"Key", "Value"}} | {"Bearer": token} | {"OAuth": {...}}, "Headers": ...,
"QueryParameters": ..., "Body": ...}``), merged under the Task's own values as EventBridge
connections are.

``OAuth`` takes EventBridge's OAuth parameters — ``AuthorizationEndpoint``, ``HttpMethod``,
``ClientParameters`` (``ClientID``, ``ClientSecret``) and ``OAuthHttpParameters``
(``HeaderParameters``, ``QueryStringParameters``, ``BodyParameters``, lists of
``{"Key", "Value"}``) — and does the client-credentials exchange EventBridge does for such
a connection: the endpoint is called with the client's id and secret as HTTP Basic
credentials and those parameters (the body form-encoded), its ``access_token`` is sent as
``Authorization: Bearer`` and renewed when it has less than a minute left or the API
answers 401 or 407 (then once, and the call is made again), as EventBridge's guide says.
A failed exchange fails the Task with ``States.Http.StatusCode.<code>`` (or
``States.Http.Socket``) and the endpoint's answer.

The output is ``{Headers (name → [values]), ResponseBody (parsed JSON when it is JSON),
StatusCode, StatusText}``; a status outside 2xx fails with
``States.Http.StatusCode.<code>`` and that output as cause; a network failure with
``States.Http.Socket``.
"""

from __future__ import annotations

import base64
import json
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from opensfn.engine.protocol import ScheduleTask
from opensfn.runtime.dispatch import host as h

TIMEOUT_SECONDS = 60.0  # AWS's limit on one HTTP Task request


def _flatten(name: str, value: Any, array_format: str) -> list[tuple[str, str]]:
    """``name=value`` pairs of one (possibly nested) value, as AWS URL-encodes them."""
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out += _flatten(f"{name}[{k}]", v, array_format)
        return out
    if isinstance(value, list):
        if array_format == "COMMAS":
            return [(name, ",".join(_text(v) for v in value))]
        if array_format == "REPEAT":
            return [(name, _text(v)) for v in value]
        if array_format == "BRACKETS":
            return [(f"{name}[]", _text(v)) for v in value]
        return [p for i, v in enumerate(value) for p in _flatten(f"{name}[{i}]", v, array_format)]
    return [(name, _text(value))]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def url_encode(data: dict[str, Any], array_format: str = "INDICES") -> str:
    """``data`` as an ``application/x-www-form-urlencoded`` string."""
    pairs = [p for k, v in data.items() for p in _flatten(k, v, array_format)]
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def _connection(state: h.Integrations, arn: str | None) -> dict[str, Any]:
    if not arn or not state.settings.http_connections:
        return {}
    with open(state.settings.http_connections, "rb") as f:
        table = orjson.loads(f.read())
    found = table.get(arn, {}) if isinstance(table, dict) else {}
    return found if isinstance(found, dict) else {}


class TokenError(Exception):
    """The OAuth token endpoint did not give a token: the Task's outcome says why."""

    def __init__(self, outcome: h.Outcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


def _pairs(params: dict[str, Any], key: str) -> dict[str, str]:
    return {
        str(p.get("Key")): _text(p.get("Value"))
        for p in params.get(key) or ()
        if isinstance(p, dict) and p.get("Key") is not None
    }


async def _oauth_token(
    state: h.Integrations, client: httpx.AsyncClient, oauth: dict[str, Any], *, fresh: bool
) -> str:
    """An access token for an OAuth connection (cached until it expires)."""
    import time

    endpoint = str(oauth.get("AuthorizationEndpoint", ""))
    credentials = oauth.get("ClientParameters") or {}
    client_id = str(credentials.get("ClientID", ""))
    key = f"{endpoint}\x1f{client_id}"
    cached = state.oauth_tokens.get(key)
    if cached is not None and not fresh and cached[1] > time.monotonic():
        return cached[0]
    extra = oauth.get("OAuthHttpParameters") or {}
    headers = _pairs(extra, "HeaderParameters")
    secret = f"{client_id}:{credentials.get('ClientSecret', '')}".encode()
    headers["Authorization"] = "Basic " + base64.b64encode(secret).decode()
    query = _pairs(extra, "QueryStringParameters")
    url = endpoint + (("&" if "?" in endpoint else "?") + url_encode(query) if query else "")
    body = _pairs(extra, "BodyParameters")
    content = url_encode(body).encode() if body else None
    if content is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    method = str(oauth.get("HttpMethod", "POST")).upper()
    try:
        response = await client.request(method, url, headers=headers, content=content)
    except httpx.HTTPError as exc:
        cause = str(exc) or type(exc).__name__
        raise TokenError(h.Outcome(error="States.Http.Socket", cause=cause)) from exc
    token: Any = None
    expires: Any = None
    if 200 <= response.status_code < 300:
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if isinstance(answer, dict):
            token, expires = answer.get("access_token"), answer.get("expires_in")
    if not isinstance(token, str) or not token:
        out = orjson.dumps(shape(response)).decode()
        raise TokenError(
            h.Outcome(error=f"States.Http.StatusCode.{response.status_code}", cause=out)
        )
    lifetime = float(expires) if isinstance(expires, int | float) and expires > 0 else 3600.0
    # Renewed once it has less than a minute left, as EventBridge does.
    state.oauth_tokens[key] = (token, time.monotonic() + lifetime - 60.0)
    return token


def _auth_headers(conn: dict[str, Any]) -> dict[str, str]:
    auth = conn.get("Authorization") or {}
    if "Basic" in auth:
        basic = auth["Basic"]
        raw = f"{basic.get('Username', '')}:{basic.get('Password', '')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    if "ApiKey" in auth:
        return {str(auth["ApiKey"]["Key"]): str(auth["ApiKey"]["Value"])}
    if "Bearer" in auth:
        return {"Authorization": f"Bearer {auth['Bearer']}"}
    return {}


def build_request(params: dict[str, Any], conn: dict[str, Any]) -> httpx.Request:
    """The HTTP request an http:invoke Task sends."""
    headers = {**{k: _text(v) for k, v in (conn.get("Headers") or {}).items()}}
    headers.update(_auth_headers(conn))
    headers.update({k: _text(v) for k, v in (params.get("Headers") or {}).items()})
    query = {**(conn.get("QueryParameters") or {}), **(params.get("QueryParameters") or {})}
    transform = params.get("Transform") or {}
    array_format = (transform.get("RequestEncodingOptions") or {}).get("ArrayFormat", "INDICES")
    url = str(params.get("ApiEndpoint", ""))
    if query:
        url += ("&" if "?" in url else "?") + url_encode(query, array_format)
    body = params.get("RequestBody")
    if isinstance(body, dict) and isinstance(conn.get("Body"), dict):
        body = {**conn["Body"], **body}
    content: bytes | None = None
    if body is not None:
        if transform.get("RequestBodyEncoding") == "URL_ENCODED" and isinstance(body, dict):
            content = url_encode(body, array_format).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(body, str):
            content = body.encode()
        else:
            content = orjson.dumps(body)
            headers.setdefault("Content-Type", "application/json")
    method = str(params.get("Method", "GET")).upper()
    return httpx.Request(method, url, headers=headers, content=content)


def shape(response: httpx.Response) -> dict[str, Any]:
    """An HTTP response as the Task reports it."""
    headers: dict[str, list[str]] = {}
    for key, value in response.headers.multi_items():
        headers.setdefault(key, []).append(value)
    text = response.text
    body: Any = text
    if text:
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    try:
        status_text = HTTPStatus(response.status_code).phrase
    except ValueError:
        status_text = response.reason_phrase
    return {
        "Headers": headers,
        "ResponseBody": body,
        "StatusCode": response.status_code,
        "StatusText": status_text,
    }


def invoke(host: h.DispatchHost, execution_arn: str, cmd: ScheduleTask) -> None:
    """Dispatch an ``http:invoke`` Task."""
    params = cmd.parameters if isinstance(cmd.parameters, dict) else {}
    state = h.integrations_of(host)

    async def work() -> h.Outcome:
        auth = params.get("Authentication") or {}
        conn = _connection(state, auth.get("ConnectionArn"))
        oauth = (conn.get("Authorization") or {}).get("OAuth")
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
                request = build_request(params, conn)
                if isinstance(oauth, dict):
                    token = await _oauth_token(state, client, oauth, fresh=False)
                    request.headers["Authorization"] = f"Bearer {token}"
                response = await client.send(request)
                if isinstance(oauth, dict) and response.status_code in (401, 407):
                    token = await _oauth_token(state, client, oauth, fresh=True)
                    request = build_request(params, conn)
                    request.headers["Authorization"] = f"Bearer {token}"
                    response = await client.send(request)
        except TokenError as exc:
            return exc.outcome
        except httpx.HTTPError as exc:
            return h.Outcome(error="States.Http.Socket", cause=str(exc) or type(exc).__name__)
        out = orjson.dumps(shape(response)).decode()
        if not 200 <= response.status_code < 300:
            return h.Outcome(error=f"States.Http.StatusCode.{response.status_code}", cause=out)
        return h.Outcome(output=out)

    h.start(host, execution_arn, cmd, work)
