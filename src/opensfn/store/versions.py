"""Versions, aliases and execution sources: records, reads and write batches.

Reads take the :class:`~opensfn.store.database.Store` and see committed data only; write
functions return batches for ``Store.submit`` (all-or-nothing, like ``store.writes``).
"""

from __future__ import annotations

from dataclasses import dataclass

from opensfn.store.database import Batch, Connection, Store


@dataclass(frozen=True)
class VersionRecord:
    """One published version of a state machine."""

    machine_arn: str
    version: int
    revision_id: str
    description: str | None
    creation_date: float

    @property
    def arn(self) -> str:
        """``…:stateMachine:<name>:<version>``."""
        return f"{self.machine_arn}:{self.version}"


@dataclass(frozen=True)
class AliasRecord:
    """One alias: a name routing executions to one or two versions by weight."""

    arn: str
    machine_arn: str
    name: str
    description: str | None
    routing: str  # JSON list of {"stateMachineVersionArn", "weight"}
    creation_date: float
    update_date: float


@dataclass(frozen=True)
class SourceRecord:
    """The version and alias an execution was started through (when it was)."""

    execution_arn: str
    machine_arn: str
    version_arn: str | None
    alias_arn: str | None


_VERSION_COLS = "machine_arn, version, revision_id, description, creation_date"
_ALIAS_COLS = "arn, machine_arn, name, description, routing, creation_date, update_date"


# ----------------------------------------------------------------------------- reads


def get_version(store: Store, machine_arn: str, version: int) -> VersionRecord | None:
    """Version ``version`` of a machine, if it exists."""
    rows = store.rows(
        f"SELECT {_VERSION_COLS} FROM machine_versions WHERE machine_arn = ? AND version = ?",
        (machine_arn, version),
    )
    return VersionRecord(*rows[0]) if rows else None


def list_versions(store: Store, machine_arn: str, below: int, limit: int) -> list[VersionRecord]:
    """Versions numbered below ``below``, newest first."""
    rows = store.rows(
        f"SELECT {_VERSION_COLS} FROM machine_versions WHERE machine_arn = ? AND version < ? "
        "ORDER BY version DESC LIMIT ?",
        (machine_arn, below, limit),
    )
    return [VersionRecord(*r) for r in rows]


def version_of_revision(store: Store, machine_arn: str, revision_id: str) -> VersionRecord | None:
    """The newest version published from ``revision_id``."""
    rows = store.rows(
        f"SELECT {_VERSION_COLS} FROM machine_versions WHERE machine_arn = ? AND revision_id = ? "
        "ORDER BY version DESC LIMIT 1",
        (machine_arn, revision_id),
    )
    return VersionRecord(*rows[0]) if rows else None


def last_number(store: Store, machine_arn: str) -> int:
    """The last version number ever handed out for a machine (0: none)."""
    rows = store.rows("SELECT last FROM version_counters WHERE machine_arn = ?", (machine_arn,))
    return int(rows[0][0]) if rows else 0


def count_versions(store: Store, machine_arn: str) -> int:
    """How many versions a machine has now."""
    rows = store.rows("SELECT COUNT(*) FROM machine_versions WHERE machine_arn = ?", (machine_arn,))
    return int(rows[0][0])


def get_alias(store: Store, arn: str) -> AliasRecord | None:
    """The alias ``arn``, if it exists."""
    rows = store.rows(f"SELECT {_ALIAS_COLS} FROM machine_aliases WHERE arn = ?", (arn,))
    return AliasRecord(*rows[0]) if rows else None


def list_aliases(store: Store, machine_arn: str, after: str, limit: int) -> list[AliasRecord]:
    """Aliases of a machine by name, after ``after``."""
    rows = store.rows(
        f"SELECT {_ALIAS_COLS} FROM machine_aliases WHERE machine_arn = ? AND name > ? "
        "ORDER BY name LIMIT ?",
        (machine_arn, after, limit),
    )
    return [AliasRecord(*r) for r in rows]


def aliases_of_version(store: Store, version_arn: str) -> list[str]:
    """ARNs of the aliases that route to ``version_arn``."""
    machine_arn = version_arn.rsplit(":", 1)[0]
    rows = store.rows(
        "SELECT arn, routing FROM machine_aliases WHERE machine_arn = ? ORDER BY name",
        (machine_arn,),
    )
    needle = f'"{version_arn}"'
    return [str(arn) for arn, routing in rows if needle in str(routing)]


def get_source(store: Store, execution_arn: str) -> SourceRecord | None:
    """The version/alias ``execution_arn`` started through, if any."""
    if not store.sources_seen:
        return None
    rows = store.rows(
        "SELECT execution_arn, machine_arn, version_arn, alias_arn FROM execution_sources "
        "WHERE execution_arn = ?",
        (execution_arn,),
    )
    return SourceRecord(*rows[0]) if rows else None


def executions_through(store: Store, qualified_arn: str) -> set[str]:
    """ARNs of the executions started through a version or an alias ARN."""
    rows = store.rows(
        "SELECT execution_arn FROM execution_sources WHERE version_arn = ? OR alias_arn = ?",
        (qualified_arn, qualified_arn),
    )
    return {str(r[0]) for r in rows}


# ----------------------------------------------------------------------------- writes


def publish_version(v: VersionRecord) -> Batch:
    """A new version; its number becomes the machine's last one."""

    def run(conn: Connection) -> None:
        conn.execute(
            f"INSERT INTO machine_versions ({_VERSION_COLS}) VALUES (?, ?, ?, ?, ?)",
            (v.machine_arn, v.version, v.revision_id, v.description, v.creation_date),
        )
        conn.execute(
            "INSERT INTO version_counters (machine_arn, last) VALUES (?, ?) "
            "ON CONFLICT (machine_arn) DO UPDATE SET last = excluded.last",
            (v.machine_arn, v.version),
        )

    return run


def delete_version(machine_arn: str, version: int) -> Batch:
    """Remove one version (its number is not reused)."""

    def run(conn: Connection) -> None:
        conn.execute(
            "DELETE FROM machine_versions WHERE machine_arn = ? AND version = ?",
            (machine_arn, version),
        )

    return run


def put_alias(a: AliasRecord) -> Batch:
    """Create or replace an alias."""

    def run(conn: Connection) -> None:
        conn.execute(
            f"INSERT INTO machine_aliases ({_ALIAS_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (arn) DO UPDATE SET machine_arn = excluded.machine_arn, "
            "name = excluded.name, description = excluded.description, "
            "routing = excluded.routing, creation_date = excluded.creation_date, "
            "update_date = excluded.update_date",
            (a.arn, a.machine_arn, a.name, a.description, a.routing, a.creation_date,
             a.update_date),
        )  # fmt: skip

    return run


def delete_alias(arn: str) -> Batch:
    """Remove an alias."""

    def run(conn: Connection) -> None:
        conn.execute("DELETE FROM machine_aliases WHERE arn = ?", (arn,))
        conn.execute("DELETE FROM tags WHERE resource_arn = ?", (arn,))

    return run


def record_source(store: Store, s: SourceRecord) -> Batch:
    """Remember the version/alias of a new execution (the first record wins)."""
    store.sources_seen = True  # before the commit: reads look for sources from now on

    def run(conn: Connection) -> None:
        conn.execute(
            "INSERT INTO execution_sources (execution_arn, machine_arn, version_arn, "
            "alias_arn) VALUES (?, ?, ?, ?) ON CONFLICT (execution_arn) DO NOTHING",
            (s.execution_arn, s.machine_arn, s.version_arn, s.alias_arn),
        )

    return run


def delete_machine_extras(machine_arn: str) -> Batch:
    """A deleted machine's versions and aliases go with it (its version counter too)."""

    def run(conn: Connection) -> None:
        for table in ("machine_versions", "machine_aliases", "version_counters"):
            conn.execute(f"DELETE FROM {table} WHERE machine_arn = ?", (machine_arn,))

    return run
