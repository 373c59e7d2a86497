"""RowStores that wrap the real one to force a crash or an interleaving into `Registry`.

Every read and every write still reaches the database through `DatabaseRows`; a wrapper only
chooses when a request is sent, or stops a "process" before one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from coodie.aio import Document
from coodie.results import LWTResult

from registry_tui.core.rows import AmbiguousWrite, ConditionalWrite, DatabaseRows, WriteStep
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


class AppliedThenLost(PassThroughRows):
    """The first write of `step` reaches the node and is applied (or refused) for real; then
    `meanwhile` runs (another client's operations); then the answer is lost, as with a
    timeout. Every other request passes through."""

    def __init__(
        self, connection: Connection, step: WriteStep, meanwhile: Callable[[], Awaitable[Any]]
    ) -> None:
        super().__init__(connection)
        self.step = step
        self.meanwhile = meanwhile
        self.sent: list[Any] = []  # what the node answered the lost write

    async def write(self, write: ConditionalWrite) -> Any:
        if write.step is not self.step or self.sent:
            return await super().write(write)
        self.sent.append(await super().write(write))
        await self.meanwhile()
        raise AmbiguousWrite("the answer was lost")


class MeanwhileFirst(PassThroughRows):
    """Like AppliedThenLost, but `meanwhile` runs before the write reaches the node."""

    def __init__(
        self, connection: Connection, step: WriteStep, meanwhile: Callable[[], Awaitable[Any]]
    ) -> None:
        super().__init__(connection)
        self.step = step
        self.meanwhile = meanwhile
        self.sent: list[Any] = []

    async def write(self, write: ConditionalWrite) -> Any:
        if write.step is not self.step or self.sent:
            return await super().write(write)
        await self.meanwhile()
        self.sent.append(await super().write(write))
        raise AmbiguousWrite("the answer was lost")
