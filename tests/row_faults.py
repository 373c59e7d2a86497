"""RowStores that wrap the real one to force a crash or an interleaving into `Registry`.

Every read and every write still reaches the database through `DatabaseRows`; a wrapper only
chooses when a request is sent, or stops a "process" before one.
"""

from __future__ import annotations

from typing import Any

from coodie.aio import Document
from coodie.results import LWTResult

from registry_tui.core.rows import ConditionalWrite, DatabaseRows, WriteStep
from registry_tui.core.store import Connection


class PassThroughRows:
    """The real rows, unchanged: the base of every wrapper below."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.rows = DatabaseRows(connection)

    async def read_one(self, model: type[Document], serial: bool = False, **key: Any) -> Any:
        return await self.rows.read_one(model, serial, **key)

    async def write(self, write: ConditionalWrite) -> LWTResult:
        return await self.rows.write(write)


class ProcessDied(Exception):
    """The process making a registration died at this point."""


class DiesBefore(PassThroughRows):
    """A process that dies just before its first write of `step`: whatever it wrote before
    stays in the database, nothing after is ever sent."""

    def __init__(self, connection: Connection, step: WriteStep) -> None:
        super().__init__(connection)
        self.step = step

    async def write(self, write: ConditionalWrite) -> LWTResult:
        if write.step is self.step:
            raise ProcessDied(f"died before: {write.step.value}")
        return await super().write(write)
