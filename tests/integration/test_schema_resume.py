"""A keyspace whose creation stopped part-way is finished by the next start, never taken for
the coodie demo's layout; the demo's layout (with rows or without) still needs adoption.

Creation is cut for real: the registry's own creation runs against the node with a driver
whose k-th schema statement (or the version record) is applied and then answers as a client
timeout, exactly what a short SCYLLA_REQUEST_TIMEOUT does to DDL. Nothing is mocked: each
test has a keyspace of its own, dropped at the end.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cassandra import OperationTimedOut
from coodie.drivers import register_driver

from registry_tui.core.config import Settings
from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.outcomes import Registered
from registry_tui.core.registry import Registry
from registry_tui.core.schema import Kind, NeedsAdoption, detect_layout, known_layout, prepare
from registry_tui.core.store import Connection, LoopFriendlyDriver, open_connection
from tests.conftest import unique
from tests.integration.test_adopt import demo_models, write_demo_rows

pytestmark = pytest.mark.db

# What the registry's creation sends, in order (the schema-changing statements and the
# version record; the reads between them are not steps).
CREATION = [
    "CREATE KEYSPACE",
    "CREATE TABLE user_registrations",
    "CREATE INDEX user_registrations (dimension)",
    "CREATE TABLE user_profiles",
    "CREATE TABLE email_claims",
    "CREATE TABLE registry_meta",
    "INSERT registry_meta",
]
OUR_COLUMNS = {
    "user_registrations": {
        "username",
        "email",
        "display_name",
        "dimension",
        "registered_at",
        "user_id",
        "username_typed",
    },
    "user_profiles": {
        "user_id",
        "username",
        "bio",
        "status",
        "version",
        "updated_at",
        "writer_id",
    },
    "email_claims": {"email", "user_id", "username", "state", "claimed_at", "email_typed"},
    "registry_meta": {"key", "value"},
}


def step_of(statement: str) -> str:
    """The CREATION entry a statement is (its verb and the object it names)."""
    words = re.findall(r"\w+", statement)
    for entry in CREATION:
        verb, *names = re.findall(r"\w+", entry)
        if words[0].upper() == verb and all(n in words[1:] for n in names):
            return entry
    return f"unexpected: {statement}"


class TimesOutAfter(LoopFriendlyDriver):
    """The registry's driver, except that its `n`-th step reaches the node, is applied, and
    then answers as a client-side timeout: the creation stops right after that step."""

    def __init__(self, connection: Connection, n: int) -> None:
        super().__init__(session=connection.session, default_keyspace=connection.settings.keyspace)
        self.left = n
        self.sent: list[str] = []

    def _after(self, statement: str) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            return
        self.sent.append(step_of(statement))
        self.left -= 1
        if self.left == 0:
            raise OperationTimedOut(f"cut after {self.sent[-1]} (test)")

    async def execute_async(  # type: ignore[override]
        self, stmt: str, params: list[Any], **options: Any
    ) -> list[dict[str, Any]]:
        rows = await super().execute_async(stmt, params, **options)
        self._after(stmt)
        return rows

    async def _execute_cql_async(self, cql: str) -> Any:
        result = await super()._execute_cql_async(cql)
        self._after(cql)
        return result


async def cql(connection: Connection, statement: str, *params: Any) -> list[Any]:
    def run() -> list[Any]:
        return list(connection.session.execute(statement, params or None, timeout=60))

    return await asyncio.to_thread(run)


@pytest.fixture
async def keyspace(base_settings: Settings) -> AsyncIterator[tuple[Settings, Connection]]:
    """A keyspace name nobody has used, and a connection that drops it at the end (it never
    creates anything itself)."""
    name = f"t_resume_{uuid.uuid4().hex[:8]}"
    settings = base_settings.with_overrides(keyspace=name)
    admin = await open_connection(settings, create_schema=False, serve_reads=False)
    try:
        yield settings, admin
    finally:
        try:
            admin.session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=60)
        finally:
            admin.close()


async def cut_creation(settings: Settings, after: int) -> list[str]:
    """Run the registry's creation of `settings.keyspace` as a start does, stopped by a
    timeout right after its `after`-th step; the steps it sent."""
    cut = await open_connection(settings, create_schema=False, serve_reads=False)
    try:
        driver = TimesOutAfter(cut, after)
        register_driver(cut.name, driver)
        with pytest.raises(OperationTimedOut):
            await prepare(cut)
        return driver.sent
    finally:
        cut.close()


async def registers(connection: Connection) -> None:
    name = unique("resumed")
    outcome = await Registry(connection).register(name, f"{name}@example.org", "R", "Dimension-6")
    assert isinstance(outcome, Registered), outcome


async def assert_complete(admin: Connection) -> None:
    """Every table with every column, the dimension index, and version 2 recorded."""
    ks = admin.settings.keyspace
    await asyncio.to_thread(admin.cluster.refresh_schema_metadata)
    tables = admin.cluster.metadata.keyspaces[ks].tables
    for table, columns in OUR_COLUMNS.items():
        assert set(tables[table].columns) == columns, table
    targets = [i.index_options.get("target") for i in tables["user_registrations"].indexes.values()]
    assert targets == ["dimension"]
    meta = await cql(admin, f"SELECT value FROM {ks}.registry_meta WHERE key = 'schema_version'")
    assert [m.value for m in meta] == ["2"]


@pytest.mark.parametrize("after", range(1, len(CREATION) + 1), ids=CREATION)
async def test_creation_cut_after_each_step_is_finished_by_the_next_start(
    keyspace: tuple[Settings, Connection], after: int
) -> None:
    settings, admin = keyspace
    assert await cut_creation(settings, after) == CREATION[:after]

    started = await open_connection(settings)  # a normal start
    try:
        layout = known_layout(started)
        assert layout is not None and layout.kind is Kind.V2, layout
        await registers(started)
        await assert_complete(admin)
    finally:
        started.close()

    again = await open_connection(settings)  # and the start after that finds it finished
    try:
        assert (await detect_layout(again)).kind is Kind.V2
        await registers(again)
    finally:
        again.close()


async def test_a_write_on_a_connection_that_did_not_create_finishes_the_creation(
    keyspace: tuple[Settings, Connection],
) -> None:
    """A connection opened without creating (as a second, write-only one is) that meets an
    unfinished creation finishes it on its first write instead of asking for an adoption."""
    settings, admin = keyspace
    await cut_creation(settings, CREATION.index("CREATE TABLE user_profiles") + 1)
    writer = await open_connection(settings, create_schema=False)
    try:
        layout = await detect_layout(writer)
        assert not layout.needs_adoption, layout
        assert layout.kind is Kind.UNFINISHED, layout
        await registers(writer)
        assert (await detect_layout(writer)).kind is Kind.V2
        await assert_complete(admin)
    finally:
        writer.close()


async def test_a_tiny_request_timeout_then_a_normal_start_registers(
    keyspace: tuple[Settings, Connection],
) -> None:
    """SCYLLA_REQUEST_TIMEOUT=0.02 on a fresh keyspace: its starts time out part-way through
    the creation (each one a step further); a start with the default timeout finishes it."""
    settings, admin = keyspace
    tiny = settings.with_overrides(request_timeout=0.02)
    for _ in range(4):
        try:
            hurried = await open_connection(tiny, serve_reads=False)
        except DatabaseUnavailable as exc:
            assert "did not answer in time" in exc.message or "cannot" in exc.message, exc
            continue
        # A start that got through: it either finished the creation or found it finished.
        layout = known_layout(hurried)
        hurried.close()
        assert layout is not None and layout.kind is Kind.V2, layout
        break

    started = await open_connection(settings)
    try:
        layout = known_layout(started)
        assert layout is not None and layout.kind is Kind.V2, layout
        await registers(started)
        await assert_complete(admin)
    finally:
        started.close()


async def test_rows_without_a_schema_version_are_not_an_unfinished_creation(
    keyspace: tuple[Settings, Connection],
) -> None:
    """Creation writes no row before the version: our tables holding a registration but no
    version were written by something else (this project's v1, an adoption cut short), so
    writes wait for `registry adopt`."""
    settings, admin = keyspace
    await cut_creation(settings, CREATION.index("CREATE TABLE email_claims") + 1)
    await cql(
        admin,
        f"INSERT INTO {settings.keyspace}.user_registrations (username, email, display_name, "
        "dimension, registered_at, user_id) VALUES ('old-timer', 'o@example.org', 'O', 'D', "
        "toTimestamp(now()), uuid()) IF NOT EXISTS",
    )
    started = await open_connection(settings)
    try:
        layout = known_layout(started)
        assert layout is not None and layout.needs_adoption, layout
        with pytest.raises(NeedsAdoption, match="registry adopt"):
            await registers(started)
        await asyncio.to_thread(admin.cluster.refresh_schema_metadata)
        tables = admin.cluster.metadata.keyspaces[settings.keyspace].tables
        assert "registry_meta" not in tables  # nothing was created beside it
    finally:
        started.close()


async def make_demo_tables(admin: Connection) -> None:
    """The demo's two tables, created as the demo creates them (its documents' sync_table)."""
    await cql(
        admin,
        f"CREATE KEYSPACE IF NOT EXISTS {admin.settings.keyspace} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}",
    )
    registration, profile = demo_models(admin.name, admin.settings.keyspace)
    await registration.sync_table()
    await profile.sync_table()


async def assert_needs_adoption(settings: Settings, kind: Kind) -> None:
    started = await open_connection(settings)
    try:
        layout = known_layout(started)
        assert layout is not None and layout.kind is kind, layout
        with pytest.raises(NeedsAdoption, match="registry adopt"):
            await registers(started)
    finally:
        started.close()


@pytest.mark.parametrize("rows", [True, False], ids=["with its rows", "without rows"])
async def test_the_demo_s_layout_still_needs_adoption(
    keyspace: tuple[Settings, Connection], rows: bool
) -> None:
    """The demo's columns say it is the demo's, rows or no rows: a start creates nothing in it
    and writes are refused until `registry adopt`."""
    settings, admin = keyspace
    await make_demo_tables(admin)
    if rows:
        await write_demo_rows(admin)
    await assert_needs_adoption(settings, Kind.DEMO)
    await asyncio.to_thread(admin.cluster.refresh_schema_metadata)
    tables = admin.cluster.metadata.keyspaces[settings.keyspace].tables
    assert set(tables) == {"user_registrations", "user_profiles"}
    assert "username_typed" not in tables["user_registrations"].columns


@pytest.mark.parametrize(
    "synced", [1, 4], ids=["after adding username_typed", "after every table and column"]
)
async def test_an_empty_demo_keyspace_whose_adoption_stopped_still_needs_adoption(
    keyspace: tuple[Settings, Connection], synced: int
) -> None:
    """An adoption that stopped in its DDL leaves the demo's tables with the registry's columns
    added: the demo's own index on user_registrations.email still tells it apart from an
    unfinished creation of ours, even without a row."""
    settings, admin = keyspace
    await make_demo_tables(admin)
    models = admin.models
    for table in (models.registration, models.profile, models.email_claim, models.meta)[:synced]:
        await table.sync_table()  # what `registry adopt` adds first
    await assert_needs_adoption(settings, Kind.DEMO if synced < 3 else Kind.V1)
