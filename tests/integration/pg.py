"""Fresh PostgreSQL databases for tests, on the machine's server (trust auth on 127.0.0.1;
``OPENSFN_TEST_PG`` names another administrative URL). Without a reachable server the
PostgreSQL tests are skipped, except in CI (``CI`` set), where they fail."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg
import pytest

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
    name = f"opensfn_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield urlsplit(ADMIN)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
