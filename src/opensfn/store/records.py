"""The rows the store hands out: frozen records, one per table.

Field order follows the ``SELECT`` column lists in ``store.database`` so a row tuple maps
onto its record with ``Record(*row)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class MachineRecord:
    """A state machine and its current revision."""

    arn: str
    region: str
    account: str
    name: str
    type: str
    revision_id: str
    updated: bool
    status: str
    creation_date: float
    seq: int


@dataclass(frozen=True)
class RevisionRecord:
    """One revision of a state machine's definition and configuration."""

    machine_arn: str
    revision_id: str
    definition: str
    role_arn: str
    logging: str  # JSON
    tracing: str  # JSON
    update_date: float
    encryption: str | None = None  # JSON: the encryptionConfiguration given, if any


@dataclass(frozen=True)
class ActivityRecord:
    """An activity."""

    arn: str
    region: str
    account: str
    name: str
    creation_date: float
    seq: int
    encryption: str | None = None  # JSON: the encryptionConfiguration given, if any


class ExecutionRecord(NamedTuple):
    """An execution (without its engine state, see ``Store.running_executions``).

    A named tuple: built from every row ListExecutions and DescribeExecution read, where a
    frozen dataclass's ``__init__`` cost 5 µs per row (16 ``object.__setattr__`` calls)."""

    id: int
    arn: str
    machine_arn: str
    revision_id: str
    name: str
    role_arn: str
    status: str
    input: str
    output: str | None
    error: str | None
    cause: str | None
    start_date: float
    stop_date: float | None
    redrive_count: int = 0
    redrive_date: float | None = None
    test_case: str | None = None  # the mock test case it was started with, if any
    map_run_arn: str | None = None  # a Distributed Map's child execution: its Map Run
    item_count: int | None = None  # and the items it processed
    trace_header: str | None = None  # the X-Ray trace header passed to StartExecution


@dataclass(frozen=True)
class Closing:
    """How an execution closed: written with its last events."""

    status: str
    stop_date: float
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    map_runs: bool = True
    """The execution may have Distributed Map runs still RUNNING to close with it (False
    skips that query: the machine has no Distributed Map state)."""
