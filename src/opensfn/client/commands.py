"""The connector's commands, registered on the ``opensfn`` group when imported.

``opensfn.client.cli`` imports this module last; each module below defines its
commands on that group with ``@cli.command()``.
"""

from __future__ import annotations

from opensfn.client import browse, call, run, validation, work

__all__ = ["browse", "call", "run", "validation", "work"]
