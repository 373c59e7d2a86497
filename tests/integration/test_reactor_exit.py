"""A process that is done with the database ends at once: the driver's I/O thread does not
keep it alive (core/store.py, `end_reactor_promptly`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from registry_tui.core.store import Connection

pytestmark = pytest.mark.db

# What a CLI command does: connect, make a request, close; then the exit hook. The driver's
# own clean-up, which would run next, waits up to 5 s for the thread it reports on.
_COMMAND = """
import asyncio
import cassandra.io.libevreactor as reactor
from registry_tui.core.config import settings_from_env
from registry_tui.core.store import end_reactor_promptly, open_connection

async def command():
    connection = await open_connection(settings_from_env(), create_schema=False)
    connection.session.execute("SELECT release_version FROM system.local")
    connection.close()

asyncio.run(command())
end_reactor_promptly()
print("alive" if reactor._global_loop._thread.is_alive() else "ended")
"""


def test_the_driver_thread_ends_when_the_work_is_done(
    connection: Connection, keyspace_name: str
) -> None:
    pytest.importorskip("cassandra.io.libevreactor", reason="the driver runs another reactor")
    env = dict(os.environ, SCYLLA_KEYSPACE=keyspace_name)
    for _ in range(3):  # the timer left armed is the usual case, not a rare one
        proc = subprocess.run(
            [sys.executable, "-c", _COMMAND], env=env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "ended", proc.stderr
