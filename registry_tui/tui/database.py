"""The app's handle on the database: the main connection and Doppel-9's second one.

No Textual here. Screens reach the registry through `Database.registry`; the app opens the
main connection from a worker and closes everything when it exits.
"""

from __future__ import annotations

import asyncio

from registry_tui.core.config import Settings
from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection, open_connection


class NotConnected(DatabaseUnavailable):
    """A screen asked for the registry before the first connection succeeded."""


class Database:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._main: Connection | None = None
        self._registry: Registry | None = None
        self._doppel_connection: Connection | None = None
        self._doppel: Registry | None = None
        self._doppel_lock: asyncio.Lock | None = None
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._registry is not None

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            raise NotConnected("not connected yet", self.settings.describe())
        return self._registry

    async def connect(self) -> Registry:
        """Open the main connection (creating the keyspace and tables if missing)."""
        if self._registry is None:
            connection = await open_connection(self.settings)
            if self._closed:  # the app quit while we were connecting
                await asyncio.to_thread(connection.close)
                raise NotConnected("the app is closing", self.settings.describe())
            self._main = connection
            self._registry = Registry(connection)
        return self._registry

    async def doppel(self) -> Registry:
        """Doppel-9's registry: a second, write-only connection, so its edits truly come
        from elsewhere (another session) while reads stay on the main connection."""
        if self._doppel_lock is None:
            self._doppel_lock = asyncio.Lock()
        async with self._doppel_lock:
            if self._doppel is None:
                if not self.connected:  # Doppel-9 strikes a registry the app can read
                    raise NotConnected("not connected yet", self.settings.describe())
                connection = await open_connection(
                    self.settings, create_schema=False, serve_reads=False
                )
                if self._closed:
                    await asyncio.to_thread(connection.close)
                    raise NotConnected("the app is closing", self.settings.describe())
                self._doppel_connection = connection
                self._doppel = Registry(connection)
            return self._doppel

    def hosts_up(self) -> list[str]:
        """Hosts the driver currently holds a live connection to (no I/O: driver state)."""
        return self._main.hosts_up() if self._main is not None else []

    async def close(self) -> None:
        """Close every connection; `Cluster.shutdown` blocks, so it runs in a thread."""
        self._closed = True
        connections = [c for c in (self._doppel_connection, self._main) if c is not None]
        self._doppel_connection = self._main = None
        self._doppel = self._registry = None
        for connection in connections:
            await asyncio.to_thread(connection.close)
