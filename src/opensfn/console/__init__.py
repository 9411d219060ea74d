"""The web console: a read-only view of state machines, executions and their histories.

Three static files (``static/``) make a page that calls the server's own API from the
browser (``POST /`` with ``X-Amz-Target``, as any SDK does), so the console shows
exactly what the API answers and needs no endpoint of its own. ``opensfn serve``
serves it under ``/console/``. With ``--auth`` the API refuses the browser's unsigned
requests, and the page says so.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]

_TYPES = {
    "html": b"text/html; charset=utf-8",
    "js": b"text/javascript; charset=utf-8",
    "css": b"text/css; charset=utf-8",
}
_FILES = frozenset({"index.html", "app.js", "style.css"})
_NOT_FOUND: Answer = (404, [(b"content-type", b"text/plain; charset=utf-8")], b"Not Found")
PREFIX = "/console/"


@cache
def _read(name: str) -> bytes:
    return resources.files("opensfn.console").joinpath("static", name).read_bytes()


def serve(path: str) -> Answer:
    """The answer to ``GET path`` (a path under :data:`PREFIX`, or the prefix without
    its slash, which is redirected)."""
    if path == PREFIX.rstrip("/"):
        return 308, [(b"location", PREFIX.encode())], b""
    name = path[len(PREFIX) :] or "index.html"
    if name not in _FILES:  # only these: no path is ever joined from the request
        return _NOT_FOUND
    headers = [
        (b"content-type", _TYPES[name.rsplit(".", 1)[1]]),
        (b"cache-control", b"no-cache"),
        (b"x-content-type-options", b"nosniff"),
    ]
    return 200, headers, _read(name)
