"""Which layout a keyspace holds, and the schema version it records.

The layouts share the same table names, so a keyspace written by the coodie demo (or by this
project before schema v2) is adopted in place by `registry adopt`:
- v2: `registry_meta` says ('schema_version', '2');
- v2 unfinished: a creation of v2 that stopped part-way (a timeout, a crash): some of the v2
  tables, each with every v2 column and no index v2 does not make, no version, and not one row
  (creation writes none before the version). Creation is resumed, never adopted;
- this project's v1: registrations keyed by the canonical name, profiles with `writer_id`,
  e-mail claims, no meta;
- the demo's: registrations keyed by the name as typed, profiles without `writer_id`, no
  claims, no meta;
- fresh: none of these tables: v2 is created directly.
Tables with these names but another shape (another application's) are refused outright: the
registry writes nothing into tables it does not understand.

Reads work on every layout; writes only on v2 (see `refuse_unless_adopted`), because the v1 and
demo layouts cannot keep the v2 promise (one identity per name in any case, per e-mail).
"""

from __future__ import annotations

import asyncio
import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cassandra import InvalidRequest
from coodie.aio import create_keyspace

from registry_tui.core.errors import DatabaseUnavailable, is_unavailable_error, one_line
from registry_tui.core.validation import ValidationError

if TYPE_CHECKING:  # the store imports this module to prepare a connection's keyspace
    from registry_tui.core.store import Connection

SCHEMA_VERSION = "2"
SCHEMA_VERSION_KEY = "schema_version"

REGISTRATIONS = "user_registrations"
PROFILES = "user_profiles"
CLAIMS = "email_claims"
META = "registry_meta"
TABLES = (REGISTRATIONS, PROFILES, CLAIMS, META)  # every table the registry reads or writes

# The columns (and CQL types) each layout needs; a table may hold more (an index, a column a
# later version adds), never fewer or of another type.
_KEYS = {REGISTRATIONS: "username", PROFILES: "user_id", CLAIMS: "email", META: "key"}
_REQUIRED: dict[str, dict[str, str]] = {
    REGISTRATIONS: {
        "username": "text",
        "email": "text",
        "display_name": "text",
        "dimension": "text",
        "registered_at": "timestamp",
        "user_id": "uuid",
    },
    PROFILES: {
        "user_id": "uuid",
        "username": "text",
        "bio": "text",
        "status": "text",
        "version": "int",
        "updated_at": "timestamp",
    },
    CLAIMS: {
        "email": "text",
        "user_id": "uuid",
        "username": "text",
        "claimed_at": "timestamp",
    },
    META: {"key": "text", "value": "text"},
}
# Columns only some layouts have; when present they must have this type. v2 creates every
# column of both maps, each table in one CREATE TABLE.
_OPTIONAL: dict[str, dict[str, str]] = {
    REGISTRATIONS: {"username_typed": "text"},
    PROFILES: {"writer_id": "uuid"},
    CLAIMS: {"state": "text", "email_typed": "text"},
    META: {},
}
# The columns v2's secondary indexes target (the models' Indexed fields). The demo also
# indexes user_registrations.email: a mark no creation of v2 leaves, which an adoption keeps.
_INDEXED: dict[str, frozenset[str]] = {
    REGISTRATIONS: frozenset({"dimension"}),
    PROFILES: frozenset(),
    CLAIMS: frozenset(),
    META: frozenset(),
}


class Kind(enum.Enum):
    FRESH = "fresh"
    UNFINISHED = "this registry's own, unfinished"
    V2 = "v2"
    V1 = "this project's v1"
    DEMO = "the coodie demo's"
    MISSING = "missing"  # the keyspace itself does not exist


@dataclass(frozen=True)
class Layout:
    kind: Kind
    keyspace: str

    @property
    def needs_adoption(self) -> bool:
        return self.kind in (Kind.V1, Kind.DEMO)

    def describe(self) -> str:
        if self.kind is Kind.V2:
            return f"keyspace {self.keyspace} is at schema version {SCHEMA_VERSION}"
        if self.kind is Kind.MISSING:
            return f"keyspace {self.keyspace} does not exist"
        if self.kind is Kind.FRESH:
            return f"keyspace {self.keyspace} holds no registry tables yet"
        if self.kind is Kind.UNFINISHED:
            return f"keyspace {self.keyspace} is this registry's own, its creation unfinished"
        return f"keyspace {self.keyspace} has {self.kind.value} layout"


class ForeignSchema(ValidationError):
    """The keyspace holds tables with the registry's names but another shape, or a schema
    version this registry does not know. Nothing is written (exit code 2, as a bad setting)."""

    def __init__(self, message: str) -> None:
        super().__init__("keyspace", message)


class NeedsAdoption(Exception):
    """A write was asked of a keyspace that still has the v1 or the demo's layout."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.message = (
            f"{layout.describe()}: run `registry adopt` before writing (nothing was written)"
        )
        super().__init__(self.message)


@dataclass(frozen=True)
class _Table:
    columns: dict[str, str]  # column -> cql type
    key: str  # the primary key's columns, comma-separated
    indexed: frozenset[str]  # the columns its secondary indexes target


def _index_target(options: dict[str, str]) -> str:
    """The column of an index's 'target' option: 'email', '"email"', 'values(tags)'."""
    target = str(options.get("target", ""))
    match = re.fullmatch(r"\w+\((.*)\)", target)
    return (match.group(1) if match else target).strip('"')


def _table_columns(connection: Connection) -> dict[str, _Table] | None:
    """The registry's table names present in the keyspace, as the driver's schema metadata
    knows them; None when the keyspace does not exist."""
    keyspace = connection.cluster.metadata.keyspaces.get(connection.settings.keyspace)
    if keyspace is None:
        return None
    found: dict[str, _Table] = {}
    for name in _REQUIRED:
        table = keyspace.tables.get(name)
        if table is None:
            continue
        keys = [c.name for c in table.partition_key] + [c.name for c in table.clustering_key]
        found[name] = _Table(
            columns={c.name: str(c.cql_type) for c in table.columns.values()},
            key=",".join(keys),
            indexed=frozenset(_index_target(i.index_options) for i in table.indexes.values()),
        )
    return found


def _check_shape(name: str, table: _Table, keyspace: str) -> None:
    where = f"{keyspace}.{name}"
    if table.key != _KEYS[name]:
        raise ForeignSchema(
            f"table {where} is keyed by ({table.key}), not ({_KEYS[name]}): "
            "another application's table? the registry will not write into it"
        )
    expected = {**_REQUIRED[name], **_OPTIONAL[name]}
    for column, cql_type in expected.items():
        have = table.columns.get(column)
        if have is None and column in _REQUIRED[name]:
            raise ForeignSchema(
                f"table {where} has no column {column}: another application's table? "
                "the registry will not write into it"
            )
        if have is not None and have != cql_type:
            raise ForeignSchema(
                f"table {where} column {column} is {have}, not {cql_type}: another "
                "application's table? the registry will not write into it"
            )


async def _schema_version(connection: Connection) -> str | None:
    query = f"SELECT value FROM {connection.settings.keyspace}.{META} WHERE key = %s"

    def run() -> Any:
        rows = connection.session.execute(
            query, (SCHEMA_VERSION_KEY,), timeout=connection.settings.request_timeout
        )
        return rows.one()

    try:
        row = await asyncio.to_thread(run)
    except InvalidRequest:
        return None  # no registry_meta table (yet)
    except Exception as exc:
        if is_unavailable_error(exc):
            raise DatabaseUnavailable.from_error(exc, connection.settings.describe()) from None
        raise
    if row is None:
        return None
    return str(row["value"] if isinstance(row, dict) else row.value)


def _made_by_creation(tables: dict[str, _Table]) -> bool:
    """Could these tables be what a creation of v2 had made when it stopped? Each table is
    created whole (every v2 column) and v2 indexes nothing but `_INDEXED`; the demo's tables
    lack username_typed and writer_id until an adoption adds them, and keep their own index
    on user_registrations.email after it."""
    return all(
        set(_REQUIRED[name]) | set(_OPTIONAL[name]) <= set(table.columns)
        and table.indexed <= _INDEXED[name]
        for name, table in tables.items()
    )


async def _holds_rows(connection: Connection, tables: dict[str, _Table]) -> bool:
    """Does any registration, profile or claim exist? One row read per table present."""
    keyspace = connection.settings.keyspace
    queries = [
        f"SELECT {_KEYS[name]} FROM {keyspace}.{name} LIMIT 1"
        for name in (REGISTRATIONS, PROFILES, CLAIMS)
        if name in tables
    ]

    def run() -> bool:
        timeout = connection.settings.request_timeout
        return any(connection.session.execute(q, timeout=timeout).one() for q in queries)

    try:
        return await asyncio.to_thread(run)
    except Exception as exc:
        if is_unavailable_error(exc):
            raise DatabaseUnavailable.from_error(exc, connection.settings.describe()) from None
        raise


async def detect_layout(connection: Connection) -> Layout:
    """The keyspace's layout; ForeignSchema when its tables are not the registry's."""
    keyspace = connection.settings.keyspace
    tables = await asyncio.to_thread(_table_columns, connection)
    if tables is None:
        return Layout(Kind.MISSING, keyspace)
    # The version is read even when the driver's schema metadata has no registry_meta yet: that
    # metadata follows DDL made elsewhere (another process's adoption or creation, a statement
    # that timed out here but was applied) only after a moment. So before a table's absence
    # decides anything that leads to writing (v2, or a creation to finish), it is looked up.
    version = await _schema_version(connection)
    if not set(_REQUIRED) <= set(tables) and (version is not None or _made_by_creation(tables)):
        for name in set(_REQUIRED) - set(tables):
            # Without waiting for schema agreement: DDL sent from here was agreed on when it
            # was sent, and a cluster still disagreeing after a fault would fail the refresh
            # for as long as it lasts (a missing table then reads as missing: creation is
            # idempotent).
            await asyncio.to_thread(connection.cluster.refresh_table_metadata, keyspace, name, 0)
        tables = await asyncio.to_thread(_table_columns, connection) or {}
    for name, table in tables.items():
        _check_shape(name, table, keyspace)
    if not tables:
        return Layout(Kind.FRESH, keyspace)
    if version == SCHEMA_VERSION:
        missing = [t for t in (REGISTRATIONS, PROFILES, CLAIMS) if t not in tables]
        if missing:
            raise ForeignSchema(
                f"keyspace {keyspace} says schema version {version} but has no "
                f"{', '.join(missing)}: restore the table(s) or use another keyspace"
            )
        return Layout(Kind.V2, keyspace)
    if version is not None:
        raise ForeignSchema(
            f"keyspace {keyspace} records schema version {version}; this registry knows "
            f"version {SCHEMA_VERSION} only"
        )
    # No version: v2's creation stopped before its last step, or another layout. Creation
    # writes no row before the version, so rows mean the tables are not (only) its work: v1's,
    # the demo's, or an adoption's that stopped; those wait for `registry adopt`.
    if _made_by_creation(tables) and not await _holds_rows(connection, tables):
        return Layout(Kind.UNFINISHED, keyspace)
    if REGISTRATIONS not in tables:
        raise ForeignSchema(
            f"keyspace {keyspace} has {', '.join(sorted(tables))} but no {REGISTRATIONS}: "
            "not a layout the registry knows"
        )
    # Claims exist once this project (or an unfinished `registry adopt`) made them.
    if CLAIMS in tables:
        return Layout(Kind.V1, keyspace)
    return Layout(Kind.DEMO, keyspace)


async def create_v2(connection: Connection) -> None:
    """Create the keyspace (if missing) and the v2 tables, then record the version IF NOT
    EXISTS. Only for a keyspace found fresh, missing or unfinished: nothing here changes
    existing rows. Every step only adds what is not there (IF NOT EXISTS, ADD), in a fixed
    order with the version last, so a creation cut anywhere is finished by running it again."""
    settings = connection.settings
    if settings.keyspace not in connection.cluster.metadata.keyspaces:
        await create_keyspace(
            settings.keyspace, connection=connection.name, **keyspace_replication(connection)
        )
    await sync_v2_tables(connection)
    if not await record_schema_version(connection):
        raise ForeignSchema(
            f"keyspace {settings.keyspace} records another schema version; this registry "
            f"knows version {SCHEMA_VERSION} only"
        )


async def sync_v2_tables(connection: Connection) -> None:
    """CREATE TABLE IF NOT EXISTS / ALTER TABLE ADD for every v2 table and column: never drops
    or changes anything that is there."""
    models = connection.models
    for table in (models.registration, models.profile, models.email_claim, models.meta):
        await table.sync_table()


async def record_schema_version(connection: Connection) -> bool:
    """Write ('schema_version', '2') IF NOT EXISTS; True when it now says 2."""
    meta = connection.models.meta(key=SCHEMA_VERSION_KEY, value=SCHEMA_VERSION)
    result = await meta.insert(timeout=connection.settings.request_timeout)
    if result is None or result.applied:
        return True
    existing = result.existing or {}
    return str(existing.get("value")) == SCHEMA_VERSION


# ---------------------------------------------------------------------------------------------
# The layout each open connection found, so a write checks it without a round trip.

_layouts: dict[str, Layout] = {}
_creating: dict[str, asyncio.Lock] = {}


def known_layout(connection: Connection) -> Layout | None:
    """The layout `connection` last found (None: not looked at yet). No I/O."""
    return _layouts.get(connection.name)


def remember(connection: Connection, layout: Layout) -> None:
    _layouts[connection.name] = layout


async def _finish_creation(connection: Connection) -> Layout:
    """Create v2, or finish its creation; once per connection at a time."""
    lock = _creating.setdefault(connection.name, asyncio.Lock())
    async with lock:
        layout = _layouts.get(connection.name)
        if layout is None or layout.kind is not Kind.V2:
            await create_v2(connection)
            layout = Layout(Kind.V2, connection.settings.keyspace)
            remember(connection, layout)
        return layout


async def prepare(connection: Connection) -> Layout:
    """What `open_connection` does with a keyspace: create v2 when there is none, finish a
    creation that stopped part-way, leave every other layout as it is (reads work on all of
    them), refuse a foreign one."""
    layout = await detect_layout(connection)
    if layout.kind in (Kind.FRESH, Kind.MISSING, Kind.UNFINISHED):
        return await _finish_creation(connection)
    remember(connection, layout)
    return layout


def adopted(connection: Connection) -> bool:
    """This process has seen the keyspace at v2 (no read): `refuse_unless_adopted` would
    let a write through at once."""
    layout = _layouts.get(connection.name)
    return layout is not None and layout.kind is Kind.V2


async def refuse_unless_adopted(connection: Connection) -> None:
    """Raise NeedsAdoption unless the keyspace is at v2. Free once a connection saw v2; on a
    keyspace that needed adoption it looks again (one read), so an adoption made meanwhile
    elsewhere lets writes through without a restart. A keyspace with no registry tables yet,
    or whose creation stopped part-way, is created first (a connection opened without
    creating meets one): it never needs adoption."""
    if adopted(connection):
        return
    try:
        layout = await detect_layout(connection)
        if layout.kind in (Kind.FRESH, Kind.UNFINISHED):
            layout = await _finish_creation(connection)
    except (ForeignSchema, DatabaseUnavailable):
        raise
    except Exception as exc:
        raise DatabaseUnavailable(one_line(exc), connection.settings.describe()) from None
    remember(connection, layout)
    if layout.kind is not Kind.V2:
        raise NeedsAdoption(layout)


def keyspace_replication(connection: Connection) -> dict[str, Any]:
    """`create_keyspace` options for a keyspace this registry creates: the stated per-DC
    factors (SCYLLA_REPLICATION; every DC named must exist), else SimpleStrategy with
    SCYLLA_RF. SCYLLA_LOCAL_DC alone no longer narrows the keyspace to that one DC."""
    settings = connection.settings
    if not settings.replication:
        return {"replication_factor": settings.replication_factor}
    known = connection.data_centres()
    unknown = [dc for dc, _ in settings.replication if known and dc not in known]
    if unknown:
        raise ValidationError(
            "replication",
            f"SCYLLA_REPLICATION names {', '.join(unknown)}, not a data centre of this "
            f"cluster; its data centres: {', '.join(known)}",
        )
    return {
        "strategy": "NetworkTopologyStrategy",
        "dc_replication_map": dict(settings.replication),
    }
