"""The request log (one line per API call) and request ids, both on the hot path.

Going through :mod:`logging` costs a LogRecord, a caller lookup and a formatted time
for every call: about 15% of a cheap request's CPU (py-spy). The line written here
looks the same as the other log lines (``%(asctime)s %(levelname)s %(name)s: ...``),
is only written when ``opensfn.api`` logs at INFO, and goes to the stream of the
root logger's first stream handler (stderr unless logging was configured otherwise).
"""

from __future__ import annotations

import itertools
import logging
import random
import sys
import time
from typing import TextIO

LOG_NAME = "opensfn.api"
_LOG = logging.getLogger(LOG_NAME)
# Request ids: a random version-4 UUID per process whose last 48 bits count requests, so
# every id is unique without drawing 128 random bits and formatting them per call.
_seed = f"{random.SystemRandom().getrandbits(128):032x}"
_PREFIX = (
    f"{_seed[:8]}-{_seed[8:12]}-4{_seed[13:16]}-{'89ab'[int(_seed[16], 16) & 3]}{_seed[17:20]}-"
)
_count = itertools.count(int(_seed[20:], 16))


def request_id() -> bytes:
    """A unique version-4 UUID for ``x-amzn-RequestId``."""
    return f"{_PREFIX}{next(_count) & 0xFFFFFFFFFFFF:012x}".encode()


class AccessLog:
    """Writes ``<time> INFO opensfn.api: <Operation> <status> <ms>ms`` per request."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def enabled(self) -> bool:
        """Whether request lines are written (``--log-level warning`` turns them off)."""
        return _LOG.isEnabledFor(logging.INFO)

    def write(self, op: str, status: int, millis: float) -> None:
        """One request line, timestamped like :mod:`logging`'s default ``asctime``."""
        now = time.time()
        second = int(now)
        if second != self._second:  # the date part changes once a second
            self._second = second
            self._prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        msec = int((now - second) * 1000)
        _stream().write(
            f"{self._prefix},{msec:03d} INFO {LOG_NAME}: {op} {status} {millis:.2f}ms\n"
        )


def _stream() -> TextIO:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            stream: TextIO = handler.stream
            return stream
    return sys.stderr
