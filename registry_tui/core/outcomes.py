"""Typed outcomes of registry operations: what the database decided, never a guess."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class UserRecord:
    username: str  # as typed: what every screen and document shows
    email: str  # as typed
    display_name: str
    dimension: str
    registered_at: datetime
    user_id: uuid.UUID
    # The registration's key (the canonical name) when it differs from what is shown.
    username_key: str = ""

    @property
    def key(self) -> str:
        """The name the registration row is stored under."""
        return self.username_key or self.username


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    user_id: uuid.UUID
    username: str
    bio: str | None
    status: str
    version: int
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class EmailOwner:
    email: str
    username: str
    user_id: uuid.UUID
    state: str


@dataclass(frozen=True, slots=True)
class Registered:
    user: UserRecord
    resolved_after_timeout: bool = False
    # Steps after the commit point that could not be confirmed, e.g. ("profile",).
    incomplete: tuple[str, ...] = ()
    # A try of the e-mail claim timed out before another settled it: that try's request may
    # still reach a replica late (a coordinator runs a request however late it reads it), so
    # the claim may come back after this registration's claim is given back or deleted. Such
    # a claim holds no name and is released after its grace period by whoever meets it.
    claim_may_return: bool = False


@dataclass(frozen=True, slots=True)
class UsernameTaken:
    existing: UserRecord
    resolved_after_timeout: bool = False
    # What became of this attempt's e-mail claim: None, never taken (the address was taken
    # too); True, taken and given back; False, taken and left to its grace period.
    claim_released: bool | None = None
    # As Registered.claim_may_return: a late copy of a timed-out claim try may bring the
    # claim back after it was given back.
    claim_may_return: bool = False


@dataclass(frozen=True, slots=True)
class EmailTaken:
    owner: EmailOwner
    # As Registered.claim_may_return: a late copy of a timed-out claim try may still take the
    # address once its owner gives it back.
    claim_may_return: bool = False


@dataclass(frozen=True, slots=True)
class Invalid:
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class NotFound:
    what: str  # "user" or "profile"
    key: str


@dataclass(frozen=True, slots=True)
class Deleted:
    user: UserRecord
    # Clean-up steps after the commit point that could not be confirmed (normally empty).
    leftovers: tuple[str, ...] = ()
    resolved_after_timeout: bool = False


@dataclass(frozen=True, slots=True)
class CleanupFinished:
    """A delete by identity found that identity gone from every name, its profile still there:
    an earlier delete's clean-up had been cut off (`Deleted.leftovers`). Its profile was
    removed now (`leftovers`: still not confirmed)."""

    user_id: uuid.UUID
    username: str  # as its profile shows it
    leftovers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Updated:
    profile: ProfileRecord
    resolved_after_timeout: bool = False


@dataclass(frozen=True, slots=True)
class VersionConflict:
    current: ProfileRecord
    expected_version: int
    resolved_after_timeout: bool = False


@dataclass(frozen=True, slots=True)
class Unknown:
    """The write may or may not have applied, and the database cannot prove which.

    After an ambiguous failure (timeout, lost connection, CAS_WRITE_UNKNOWN) a SERIAL read
    decides only when what it finds proves the outcome (docs/guarantees.md lists, per
    operation, the readings that do). Otherwise the answer is this, with what the read found.
    """

    operation: str
    key: str
    reason: str
    # What the resolving SERIAL read found, when it answered (`current_read`): the row as it
    # is now, or None for no row. Shown beside the answer so a person can decide what to do.
    current: UserRecord | ProfileRecord | None = None
    current_read: bool = False
    # The identity the write carried: a registration's token (retrying with this user_id
    # continues the same attempt, whose e-mail claim is already its own), a delete's target.
    user_id: uuid.UUID | None = None

    @property
    def gone(self) -> bool:
        """A delete's identity is no longer there, by this request or a concurrent one."""
        if self.operation != "delete" or not self.current_read:
            return False
        return self.current is None or getattr(self.current, "user_id", None) != self.user_id


@dataclass(frozen=True, slots=True)
class Page:
    users: list[UserRecord]
    cursor: str | None  # opaque; None when this was the last page
    dimension: str | None = None


RegisterOutcome = Registered | UsernameTaken | EmailTaken | Invalid | Unknown
DeleteOutcome = Deleted | CleanupFinished | NotFound | Invalid | Unknown
UpdateOutcome = Updated | VersionConflict | NotFound | Invalid | Unknown
