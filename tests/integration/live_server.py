"""The integration tests' server: ``opensfn.testing.LocalServer`` (what users get too)."""

from __future__ import annotations

from opensfn.testing import CREDENTIALS, free_port
from opensfn.testing import LocalServer as Server

__all__ = ["CREDENTIALS", "Server", "free_port"]
