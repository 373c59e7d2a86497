"""The one lazily-connecting handle on the database, shared by the REST API and the TUI.

It opens the connection on first need (and again on demand while none could be opened yet),
hands out the `Registry` on it, and closes everything at the end. Once a connection is open the
driver itself reconnects to hosts that come back; this class only covers an app started while
no host answered. The TUI also opens Doppel-9's second, write-only connection here.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from registry_tui.core.config import Settings
from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.registry import Registry
from registry_tui.core.store import Connection, open_connection

Connect = Callable[[Settings], Awaitable[Connection]]


class NotConnected(DatabaseUnavailable):
    """The registry was asked for before a connection was open, or while closing."""


class Database:
    """`connect` opens a connection (injected by tests). After a failed attempt, the next ones
    within `reconnect_interval` seconds fail at once with the same message instead of each
    waiting for its own connect timeout. `log`, when given, hears of connecting and of a
    failed start (the REST API passes the server's log; the TUI none, its screen says it)."""

    def __init__(
        self,
        settings: Settings,
        connect: Connect = open_connection,
        *,
        reconnect_interval: float = 0.0,
        log: logging.Logger | None = None,
    ) -> None:
        self.settings = settings
        self._connect = connect
        self._reconnect_interval = reconnect_interval
        self._log = log
        self._main: Connection | None = None
        self._registry: Registry | None = None
        self._lock = asyncio.Lock()
        self._failed_at = -math.inf
        self._failure = ""
        self._doppel_connection: Connection | None = None
        self._doppel: Registry | None = None
        self._doppel_lock = asyncio.Lock()
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._registry is not None

    @property
    def registry(self) -> Registry:
        """The registry on the open connection; NotConnected before the first success."""
        if self._registry is None:
            raise NotConnected("not connected yet", self.settings.describe())
        return self._registry

    @property
    def connection(self) -> Connection | None:
        """The main connection (reads and writes), once open."""
        return self._main

    @property
    def doppel_connection(self) -> Connection | None:
        """Doppel-9's write-only connection, once opened by `doppel()`."""
        return self._doppel_connection

    async def start(self) -> None:
        """Connect now if the database answers; if not, carry on (the next `connect` tries
        again). A bad setting (keyspace name, TLS files) raises ValidationError."""
        self._closed = False
        try:
            await self.connect()
        except DatabaseUnavailable as exc:
            if self._log is not None:
                self._log.warning("%s; answering 503 until the database is reachable", exc.message)

    async def connect(self) -> Registry:
        """The registry, opening the connection (keyspace and tables included) if needed."""
        if self._registry is not None:
            return self._registry
        async with self._lock:  # one attempt at a time; the others wait for its result
            if self._registry is not None:
                return self._registry
            if time.monotonic() - self._failed_at < self._reconnect_interval:
                raise DatabaseUnavailable(self._failure, self.settings.describe())
            try:
                connection = await self._connect(self.settings)
            except DatabaseUnavailable as exc:
                self._failed_at, self._failure = time.monotonic(), exc.message
                raise
            if self._closed:  # closed while we were connecting
                await asyncio.to_thread(connection.close)
                raise NotConnected("the app is closing", self.settings.describe())
            self._main, self._registry = connection, Registry(connection)
            if self._log is not None:
                self._log.info("connected to %s", self.settings.describe())
            return self._registry

    async def doppel(self) -> Registry:
        """Doppel-9's registry: a second, write-only connection, so its edits truly come
        from elsewhere (another session) while reads stay on the main connection."""
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
