"""The control run's scratch table: the registration's columns without any of its rules.

The control run (`AttackPlan.protected=False`) replays the same races with plain INSERTs on
this table, which is never one of the registry's: every writer is acknowledged, the last write
wins, and the audit counts the acknowledged identities that silently vanished.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from coodie.aio import Document
from coodie.fields import PrimaryKey

from registry_tui.core.errors import DatabaseUnavailable, ErrorKind, classify
from registry_tui.core.models import utc_now
from registry_tui.core.outcomes import UserRecord
from registry_tui.core.registry import Registry, user_record
from registry_tui.core.store import Connection
from registry_tui.race.plan import Contender

CONTROL_TABLE = "race_control_registrations"
# Control rows prove a point and then have no use: they expire by themselves.
CONTROL_ROW_TTL_S = 24 * 3600


def build_control_model(connection: Connection) -> type[Document]:
    """The scratch table of the control run: the registration's columns, none of its rules.

    Built per connection like `models.build_models`, so its writes use this connection's
    driver. Its name is checked against every registry table: a plain write can never land on
    registry data.
    """

    class RaceControlRegistration(Document):
        username: Annotated[str, PrimaryKey()]
        email: str
        display_name: str
        dimension: str
        registered_at: datetime
        user_id: uuid.UUID

        class Settings:
            name = CONTROL_TABLE

    models = connection.models
    registry_tables = {m.table_name() for m in (models.registration, models.profile)}
    registry_tables.add(models.email_claim.table_name())
    if CONTROL_TABLE in registry_tables:  # pragma: no cover - a guard against a rename
        raise RuntimeError(f"the control table {CONTROL_TABLE} must not be a registry table")
    RaceControlRegistration.Settings.keyspace = models.keyspace  # type: ignore[attr-defined]
    RaceControlRegistration.Settings.connection = models.connection  # type: ignore[attr-defined]
    return RaceControlRegistration


class ControlTable:
    """The scratch table as the engine uses it; every database failure is DatabaseUnavailable."""

    def __init__(self, connection: Connection, registry: Registry) -> None:
        self.model = build_control_model(connection)
        self._registry = registry  # reads through the Registry's row store (gate, timeout)
        self._timeout = connection.settings.request_timeout
        self._hosts = connection.settings.describe()

    async def create(self) -> None:
        with self._database_failures():
            await self.model.sync_table()

    async def write(self, c: Contender) -> None:
        """A plain INSERT: acknowledged whatever the name held before."""
        row = self.model.model_validate(
            {
                "username": c.username,
                "email": c.email,
                "display_name": c.display_name,
                "dimension": c.dimension,
                "registered_at": utc_now(),
                "user_id": c.user_id,
            }
        )
        with self._database_failures():
            # The one plain write of the project, on the scratch table only (see CONTROL_TABLE).
            await row.save(ttl=CONTROL_ROW_TTL_S, timeout=self._timeout)

    async def read(self, username: str) -> UserRecord | None:
        row = await self._registry.store.read_one(self.model, username=username)
        return user_record(row) if row is not None else None

    @contextlib.contextmanager
    def _database_failures(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            if classify(exc) is ErrorKind.OTHER:
                raise  # a bug of ours, not the database's
            raise DatabaseUnavailable.from_error(exc, self._hosts) from None
