"""Fresh PostgreSQL databases for tests, on the machine's server (trust auth on 127.0.0.1;
``OPENSFN_TEST_PG`` names another administrative URL). Without a reachable server the
PostgreSQL tests are skipped, except in CI (``CI`` set), where they fail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from opensfn.testing import postgres_database

ADMIN = os.environ.get("OPENSFN_TEST_PG", "postgresql://127.0.0.1:5432/postgres")


def require() -> None:
    """Skip (fail in CI) when no PostgreSQL server answers at :data:`ADMIN`."""
    try:
        psycopg.connect(ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {ADMIN}: {exc}")
        pytest.skip(f"PostgreSQL is not reachable at {ADMIN} (set OPENSFN_TEST_PG)")


@contextmanager
def database() -> Iterator[str]:
    """A new, empty database for one test (dropped afterwards); yields its URL."""
    require()
    with postgres_database(ADMIN) as url:
        yield url
