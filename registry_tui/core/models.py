"""The registry's tables as coodie documents.

Documents are built per (connection, keyspace) by `build_models`, so one process can hold
the main connection, a second one (Doppel-9 editing "from elsewhere") and test keyspaces side
by side; coodie routes a document's writes through its `Settings.connection`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any

from coodie.aio import Document
from coodie.fields import Indexed, PrimaryKey
from pydantic import Field


def utc_now() -> datetime:
    # Cassandra stores milliseconds; truncate so a value read back equals the one written.
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Models:
    # Classes built at run time per connection: typed loosely so their fields type-check.
    registration: type[Any]
    profile: type[Any]
    email_claim: type[Any]
    meta: type[Any]
    keyspace: str
    connection: str


def build_models(connection: str, keyspace: str) -> Models:
    class UserRegistration(Document):
        username: Annotated[str, PrimaryKey()]
        email: str
        display_name: str
        dimension: Annotated[str, Indexed()]
        registered_at: datetime = Field(default_factory=utc_now)
        user_id: uuid.UUID = Field(default_factory=uuid.uuid4)
        # The name as the person typed it (the key above is its canonical form); None on rows
        # written before schema v2, which show their key.
        username_typed: str | None = None

        class Settings:
            name = "user_registrations"

    class UserProfile(Document):
        user_id: Annotated[uuid.UUID, PrimaryKey()]
        username: str
        bio: str | None = None
        status: str = "active"
        version: int = 1
        updated_at: datetime = Field(default_factory=utc_now)
        # Who wrote this version: lets an ambiguous (timed-out) update tell its own write apart.
        writer_id: uuid.UUID | None = None

        class Settings:
            name = "user_profiles"

    class EmailClaim(Document):
        """One row per e-mail address: the address is unique because this row can exist once."""

        email: Annotated[str, PrimaryKey()]
        user_id: uuid.UUID
        username: str
        state: str = "pending"  # pending (expires) -> active (permanent)
        claimed_at: datetime = Field(default_factory=utc_now)
        email_typed: str | None = None  # the address as typed (the key is its canonical form)

        class Settings:
            name = "email_claims"

    class RegistryMeta(Document):
        """Facts about the keyspace itself, e.g. ('schema_version', '2')."""

        key: Annotated[str, PrimaryKey()]
        value: str

        class Settings:
            name = "registry_meta"

    for cls in (UserRegistration, UserProfile, EmailClaim, RegistryMeta):
        settings: Any = cls.Settings
        settings.keyspace = keyspace
        settings.connection = connection
    return Models(UserRegistration, UserProfile, EmailClaim, RegistryMeta, keyspace, connection)
