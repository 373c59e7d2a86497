"""Connecting reads the schema of the registry's keyspace and tables only (core/store.py,
`_load_own_schema`), and the driver still follows that keyspace and routes by its tokens."""

from __future__ import annotations

import asyncio

from registry_tui.core.config import Settings
from registry_tui.core.schema import TABLES
from registry_tui.core.store import Connection, open_connection


def test_only_the_registry_keyspace_is_read(connection: Connection) -> None:
    metadata = connection.cluster.metadata
    keyspace = connection.settings.keyspace
    # Not the system keyspaces (another keyspace created meanwhile is followed, as it should)
    assert keyspace in metadata.keyspaces
    assert not [name for name in metadata.keyspaces if name.startswith("system")]
    assert set(TABLES) <= set(metadata.keyspaces[keyspace].tables)


def test_replicas_are_known_for_token_aware_routing(connection: Connection) -> None:
    metadata = connection.cluster.metadata
    statement = connection.session.prepare(
        f"SELECT username FROM {connection.settings.keyspace}.user_registrations WHERE username = ?"
    )
    routing_key = statement.bind(("someone",)).routing_key
    assert metadata.get_replicas(connection.settings.keyspace, routing_key)


async def test_a_keyspace_created_after_connecting_is_followed(
    base_settings: Settings, keyspace_name: str
) -> None:
    later = f"{keyspace_name}_later"[:48]
    first = await open_connection(base_settings.with_overrides(keyspace=later), create_schema=False)
    try:
        assert later not in first.cluster.metadata.keyspaces
        await asyncio.to_thread(
            first.session.execute,
            f"CREATE KEYSPACE {later} WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}",
        )
        await asyncio.to_thread(
            first.session.execute,
            f"CREATE TABLE {later}.user_registrations (username text PRIMARY KEY)",
        )
        assert "user_registrations" in first.cluster.metadata.keyspaces[later].tables
    finally:
        first.session.execute(f"DROP KEYSPACE IF EXISTS {later}", timeout=60)
        first.close()
