"""The two-data-centre layout (`make test-dcs` starts it): dc1 on 127.0.0.1 and dc2 on
127.0.0.2, CQL port 9342, each test module in a keyspace replicated dc1:1, dc2:1."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from registry_tui.core.config import Settings, settings_from_env
from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.store import Connection, open_connection

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from cassandra_local import cql_answers  # noqa: E402

DCS_PORT = int(os.environ.get("REGISTRY_DCS_PORT", "9342"))


def launcher(*args: str) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "cassandra_local.py"), *args],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def dcs_settings() -> Settings:
    if not (cql_answers("127.0.0.1", DCS_PORT) and cql_answers("127.0.0.2", DCS_PORT)):
        pytest.fail(
            f"the two-DC layout does not answer on 127.0.0.1/.2:{DCS_PORT}; start it with "
            "`python3 scripts/cassandra_local.py up --layout dcs` (`make test-dcs` does)",
            pytrace=False,
        )
    return settings_from_env({}).with_overrides(
        hosts="127.0.0.1",
        port=DCS_PORT,
        keyspace=f"t_dcs_{uuid.uuid4().hex[:8]}",
        replication="dc1:1,dc2:1",
        request_timeout=4.0,
    )


# A layout started a moment ago may not create a keyspace within one request's timeout.
SCHEMA_BUDGET_S = 180.0


@pytest.fixture(scope="module")
async def dc1(dcs_settings: Settings) -> AsyncIterator[Connection]:
    """A connection local to dc1 (global guarantee), whose keyspace every test shares; it
    creates the keyspace, again while a just-started layout is too slow to, and drops it."""
    deadline = time.monotonic() + SCHEMA_BUDGET_S
    while True:
        try:
            connection = await open_connection(dcs_settings.with_overrides(local_dc="dc1"))
            break
        except DatabaseUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(3)
    yield connection
    try:
        connection.session.execute(f"DROP KEYSPACE IF EXISTS {dcs_settings.keyspace}", timeout=60)
    finally:
        connection.close()
