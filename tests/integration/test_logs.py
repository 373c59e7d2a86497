"""Driver and coodie log records never reach a person: the entry points quiet them.

The scenario that makes coodie warn: a keyspace whose registration table carries a column the
model does not know, and tables missing, so adopting it (`registry adopt`) runs coodie's table
sync (which logs "Schema drift detected" at WARNING). Importing the core configures nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from registry_tui.core.store import Connection

pytestmark = pytest.mark.db

REGISTRY = str(Path(sys.executable).parent / "registry")

# The same adoption, without any entry point: what a person would see if no one quieted the logs.
BARE_OPEN = """
import asyncio
from registry_tui.core.adopt import adopt
from registry_tui.core.config import settings_from_env
from registry_tui.core.store import open_connection

async def main():
    connection = await open_connection(settings_from_env(), create_schema=False)
    await adopt(connection)
    connection.close()

asyncio.run(main())
"""


@pytest.fixture
def drifted_keyspace(connection: Connection) -> Iterator[Callable[[], dict[str, str]]]:
    """Makes keyspaces that make coodie warn once adopted (each can be adopted once: adopting
    creates the missing tables), and yields the environment pointing at one."""
    session = connection.session
    made: list[str] = []

    def make() -> dict[str, str]:
        keyspace = f"t_logs_drift_{uuid.uuid4().hex[:8]}"
        made.append(keyspace)
        session.execute(
            f"CREATE KEYSPACE {keyspace} WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}",
            timeout=60,
        )
        session.execute(
            f"CREATE TABLE {keyspace}.user_registrations (username text PRIMARY KEY, "
            "email text, display_name text, dimension text, registered_at timestamp, "
            "user_id uuid, legacy_note text)",
            timeout=60,
        )
        return dict(os.environ, SCYLLA_KEYSPACE=keyspace)

    try:
        yield make
    finally:
        for keyspace in made:
            session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)


def test_coodie_warnings_reach_no_one_through_the_cli(
    drifted_keyspace: Callable[[], dict[str, str]],
) -> None:
    bare = subprocess.run(
        [sys.executable, "-c", BARE_OPEN],
        env=drifted_keyspace(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bare.returncode == 0, bare.stderr
    assert "Schema drift detected" in bare.stderr, "coodie did not warn: this proved nothing"

    done = subprocess.run(
        [REGISTRY, "adopt", "--json"],
        env=drifted_keyspace(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # Only the adoption's own progress lines: no log record.
    assert "Schema drift detected" not in done.stderr and "WARNING" not in done.stderr
    assert done.stderr.splitlines()[-1] == "schema version 2 recorded"
