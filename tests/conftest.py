"""Shared fixtures. Integration tests run against a real node (`make test` starts one) and
each test module gets a keyspace of its own, dropped at the end."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from registry_tui.core.config import Settings, settings_from_env
from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection, open_connection

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from cassandra_local import cql_answers  # noqa: E402


def unique(prefix: str = "u") -> str:
    """A fresh, valid username (or name part) so tests never collide with each other."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    settings = settings_from_env()
    host = settings.hosts[0]
    if not cql_answers(host, settings.port):
        pytest.fail(
            f"no database answers CQL on {host}:{settings.port}; start one with `make db-up` "
            "(`make test` does it for you)",
            pytrace=False,
        )
    return settings


@pytest.fixture(scope="module")
def keyspace_name(request: pytest.FixtureRequest) -> str:
    module = Path(str(request.node.fspath)).stem.replace("test_", "")[:20]
    return f"t_{module}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def connection(base_settings: Settings, keyspace_name: str) -> AsyncIterator[Connection]:
    conn = await open_connection(base_settings.with_overrides(keyspace=keyspace_name))
    yield conn
    try:
        conn.session.execute(f"DROP KEYSPACE IF EXISTS {keyspace_name}", timeout=60)
    finally:
        conn.close()


@pytest.fixture(scope="module")
async def registry(connection: Connection) -> Registry:
    return Registry(connection)


@pytest.fixture(scope="module")
def cli_env(base_settings: Settings, keyspace_name: str) -> dict[str, str]:
    """Environment for running the `registry` CLI against this module's keyspace."""
    env = dict(os.environ)
    env["SCYLLA_KEYSPACE"] = keyspace_name
    return env
