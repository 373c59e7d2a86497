"""The registration path: claim the e-mail, commit the name, write the first profile.

Two unique keys need two conditional writes, and a registration makes exactly those two plus
one plain write on its success path:
1. the e-mail claim, `INSERT ... IF NOT EXISTS` on the canonical address, carrying the user_id
   made once per attempt and the name it is for;
2. the registration, `INSERT ... IF NOT EXISTS` on the canonical name: the commit point;
3. the profile's first version, a plain INSERT stamped with PROFILE_BIRTH_TIMESTAMP.
A claim is valid while the registration of its name holds its user_id: no third round confirms
it. A claim whose registration does not hold (it lost the name, or the process died before its
commit point) is respected for PENDING_CLAIM_TTL_S, long after any attempt has ended, and then
released `IF user_id = ?` by the next registration that meets it, after a SERIAL read showed
that its name is not held by it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cassandra import InvalidRequest
from coodie.results import LWTResult

from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.models import Models, utc_now
from registry_tui.core.outcomes import (
    EmailOwner,
    EmailTaken,
    Registered,
    RegisterOutcome,
    Unknown,
    UsernameTaken,
    UserRecord,
)
from registry_tui.core.rows import (
    WRITE_ATTEMPTS,
    AmbiguousWrite,
    ConditionalWrite,
    Insert,
    RowStore,
    WriteStep,
    aware,
    resolve,
    user_record,
)
from registry_tui.core.validation import Registration, ValidationError, normalize_email
from registry_tui.core.validation import normalize_username as name_key

# A claim whose registration does not hold it is never released before this many seconds: far
# longer than any registration attempt (client and server timeouts are seconds, and an attempt
# retries at most WRITE_ATTEMPTS times), so its registration can no longer commit after it.
PENDING_CLAIM_TTL_S = 300
# The write timestamp (microseconds) of a profile's first version. Only the registration that
# holds the name writes it, to a partition keyed by that registration's fresh user_id, so it
# needs no Paxos round: it is a plain INSERT. Stamped older than anything, every later
# conditional write (an edit, a delete) wins over it whatever the clocks say, so re-sending it
# (a retry, or another client finishing an interrupted registration) can neither undo an edit
# nor bring a deleted profile back.
PROFILE_BIRTH_TIMESTAMP = 1
# A registration found without its profile this long after it committed was interrupted (its
# own attempt has long ended): whoever meets it writes the profile.
REPAIR_AFTER_S = 15


@dataclass(frozen=True, slots=True)
class FirstProfile:
    """What a registration writes into its profile's first version."""

    bio: str | None = None
    status: str = "active"


FIRST_PROFILE = FirstProfile()  # no bio, active: what most registrations write


def email_key(email: str) -> str:
    """The claim key of a stored address (rows written before v2 hold it canonical already)."""
    try:
        return normalize_email(email)
    except ValidationError:
        return email.strip().lower()


def claim_owner(row: Any) -> EmailOwner:
    return EmailOwner(
        getattr(row, "email_typed", None) or row.email, row.username, row.user_id, row.state
    )


class Registrar:
    """Registers users for one `Registry`, through its RowStore."""

    def __init__(self, store: RowStore, models: Models, timeout: float) -> None:
        self.store = store
        self.models = models
        self.timeout = timeout

    # The three statements of a registration's success path, built once, on first use.
    @functools.cached_property
    def _claim_insert(self) -> Insert:
        return Insert(self.models.email_claim, if_not_exists=True)

    @functools.cached_property
    def _registration_insert(self) -> Insert:
        return Insert(self.models.registration, if_not_exists=True)

    @functools.cached_property
    def _birth_insert(self) -> Insert:
        return Insert(self.models.profile, timestamp=PROFILE_BIRTH_TIMESTAMP)

    async def user_serial(self, username: str) -> UserRecord | None:
        """The registration stored under the key `username`, as Paxos sees it now (the read
        also completes any round in flight on it)."""
        row = await self.store.read_one(self.models.registration, serial=True, username=username)
        return user_record(row) if row is not None else None

    async def email_owner(self, email: str) -> EmailOwner | None:
        """The claim on the canonical address `email`, read at SERIAL."""
        row = await self.store.read_one(self.models.email_claim, serial=True, email=email)
        return claim_owner(row) if row is not None else None

    async def register(
        self, req: Registration, uid: uuid.UUID, first: FirstProfile | None = None
    ) -> RegisterOutcome:
        """Register a validated request; `uid` is the token every retry and every
        resolution checks."""
        now = utc_now()
        typed = req.username_typed or req.username
        claim, late = await self._claim_email(req, uid, now)
        if isinstance(claim, EmailTaken):
            # The name is the registry's primary key: when it is taken too, say that first
            # (re-registering the same name and e-mail answers username_taken, as in the demo).
            # Decided at the serial level like every answer: a plain read may be stale.
            holder = await self.user_serial(req.username)
            if holder is None:
                return claim
            await self.repair_holder(holder)
            return UsernameTaken(holder)
        if isinstance(claim, Unknown):
            return claim

        row = self._registration_insert.Row(
            username=req.username,
            username_typed=typed,
            email=req.email_typed or req.email,
            display_name=req.display_name,
            dimension=req.dimension,
            registered_at=now,
            user_id=uid,
        )
        try:
            won, resolved = await self._insert_registration(row, uid)
        except DatabaseUnavailable:
            await self._release_claim(req.email, uid)
            raise
        if isinstance(won, Unknown):
            if isinstance(won.current, UserRecord) and won.current.user_id != uid:
                # Another identity's registration is committed at the name: a Paxos commit at
                # a higher ballot than ours, so ours can never apply from now on (whether it
                # applied before and was deleted cannot be told). The claim is not valid and
                # need not wait out its grace period.
                await self._release_claim(req.email, uid)
            # Otherwise the claim is respected until the grace period has passed; retrying
            # with this user_id continues this attempt (the claim is already its own).
            return won
        if isinstance(won, UserRecord):
            released = await self._release_claim(req.email, uid)
            await self.repair_holder(won)
            return UsernameTaken(
                won,
                resolved_after_timeout=resolved,
                claim_released=released,
                claim_may_return=late,
            )
        return await self.complete(user_record(row), resolved, first, claim_may_return=late)

    async def complete(
        self,
        user: UserRecord,
        resolved: bool,
        first: FirstProfile | None = None,
        *,
        claim_may_return: bool = False,
    ) -> RegisterOutcome:
        """A registration that holds its name: write its profile's first version."""
        profile_ok = await self.create_profile(user, first)
        incomplete: tuple[str, ...] = () if profile_ok else ("profile",)
        return Registered(
            user,
            resolved_after_timeout=resolved,
            incomplete=incomplete,
            claim_may_return=claim_may_return,
        )

    async def _claim_email(
        self, req: Registration, uid: uuid.UUID, now: datetime
    ) -> tuple[bool | EmailTaken | Unknown, bool]:
        """The claim's outcome, and whether a try of it timed out (its request may then still
        land late, even after the claim is given back)."""
        email = req.email
        claim = self._claim_insert.Row(
            email=email,
            email_typed=req.email_typed or email,
            user_id=uid,
            username=req.username_typed or req.username,
            state="active",
            claimed_at=now,
        )
        late = False
        for _ in range(WRITE_ATTEMPTS):
            try:
                result = await self.store.write(
                    ConditionalWrite(
                        WriteStep.CLAIM_EMAIL,
                        claim,
                        functools.partial(self._claim_insert.send, claim),
                    )
                )
            except AmbiguousWrite as exc:
                late = True
                owner = await resolve(lambda: self.email_owner(email))
                if isinstance(owner, Unknown):
                    reason = f"e-mail claim: {exc}; {owner.reason}"
                    return Unknown("register", email, reason, user_id=uid), late
                if owner is None:
                    # Nothing committed: try again with the same token. Unlike a name, a claim
                    # cannot have applied and been removed meanwhile: only the registration
                    # holding it releases it, or anyone once PENDING_CLAIM_TTL_S has passed.
                    # The timed-out try may still land later, though (`late`).
                    continue
                if owner.user_id == uid:
                    return True, late
                return EmailTaken(owner, claim_may_return=late), late
            if result.applied:
                return True, late
            existing = result.existing or {}
            if existing.get("user_id") == uid:
                return True, late  # our own earlier attempt
            settled = await self._settle_claim(email)
            if settled is None:
                continue  # free now (a dead attempt's claim was released): try again
            if settled.user_id == uid:
                return True, late
            return EmailTaken(settled, claim_may_return=late), late
        return Unknown("register", email, "the e-mail claim kept timing out", user_id=uid), late

    async def _settle_claim(self, email: str) -> EmailOwner | None:
        """Who holds `email` now: the claim's owner while its registration holds the name or
        may still be on its way; None once a claim that never became valid was released."""
        row = await self.store.read_one(self.models.email_claim, serial=True, email=email)
        if row is None:
            return None
        owner = claim_owner(row)
        if await self._claim_is_valid(owner):
            return owner
        claimed_at = aware(row.claimed_at)
        if claimed_at is None or (utc_now() - claimed_at).total_seconds() < PENDING_CLAIM_TTL_S:
            return owner  # its registration may still be on its way
        return None if await self._release_orphan(email, owner) else owner

    async def _claim_is_valid(self, owner: EmailOwner) -> bool:
        """The claim's registration holds its name (read at SERIAL); a name this registry
        would not write counts as valid: such a claim is never released."""
        try:
            name_key(owner.username)
        except ValidationError:
            return True
        return await self.holds_name(owner.username, owner.user_id)

    async def holds_name(self, username: str, uid: uuid.UUID) -> bool:
        """Identity `uid` holds `username` (read at SERIAL): at its canonical key, or at the
        key as typed, where adoption keeps a registration with a case conflict."""
        try:
            key = name_key(username)
        except ValidationError:
            key = username
        holder = await self.user_serial(key)
        if (holder is None or holder.user_id != uid) and username != key:
            holder = await self.user_serial(username)
        return holder is not None and holder.user_id == uid

    async def release_orphan_claim(self, email: str, user_id: uuid.UUID | None = None) -> bool:
        """Release the claim on `email` now if its registration does not hold it, whatever
        its age; with `user_id`, only a claim that identity holds (`IF user_id = ?`). Only
        for a caller that knows no registration attempt on this address can still be in
        flight (a race's clean-up, after its attempts ended and settled)."""
        row = await self.store.read_one(self.models.email_claim, serial=True, email=email)
        if row is None:
            return False
        owner = claim_owner(row)
        if user_id is not None and owner.user_id != user_id:
            return False  # another identity's claim: never ours to touch
        if await self._claim_is_valid(owner):
            return False
        return await self._release_orphan(email, owner)

    async def _release_orphan(self, email: str, owner: EmailOwner) -> bool:
        stale = self.models.email_claim(email=email, user_id=owner.user_id, username="")
        try:
            result = await self.store.write(
                ConditionalWrite(
                    WriteStep.RELEASE_CLAIM,
                    stale,
                    lambda t: stale.delete(if_conditions={"user_id": owner.user_id}, timeout=t),
                )
            )
        except AmbiguousWrite:
            return False
        return bool(result.applied)

    async def repair_holder(self, holder: UserRecord) -> None:
        """A name is taken: if its holder was interrupted after its commit point (no profile
        yet, well after any attempt would have ended), write its profile now, so that running
        an interrupted command again repairs it. A plain read, on the refused path only."""
        registered_at = aware(holder.registered_at)
        if registered_at and (utc_now() - registered_at).total_seconds() < REPAIR_AFTER_S:
            return  # its own registration may still be writing it
        try:
            row = await self.store.read_one(self.models.profile, user_id=holder.user_id)
            if row is None:
                await self.create_profile(holder)
        except DatabaseUnavailable:
            pass  # whoever meets it next will

    async def _insert_registration(
        self, row: Any, uid: uuid.UUID
    ) -> tuple[bool | UserRecord | Unknown, bool]:
        """(True, resolved): we hold the name; (UserRecord, False): taken by that user;
        (Unknown, True): the database cannot prove either.

        `resolved` is True when a SERIAL read had to decide after an ambiguous failure.
        """
        for _ in range(WRITE_ATTEMPTS):
            try:
                result = await self.store.write(
                    ConditionalWrite(
                        WriteStep.INSERT_REGISTRATION,
                        row,
                        functools.partial(self._registration_insert.send, row),
                    )
                )
            except AmbiguousWrite as exc:
                # Only our own user_id at the name proves an outcome. A free name, or another
                # holder, does not: ours may have applied and been deleted by its identity
                # since (a retry would then register it a second time). No retry: unknown.
                current = await resolve(lambda: self.user_serial(row.username))
                if isinstance(current, Unknown):
                    reason = f"{exc}; {current.reason}"
                    return Unknown("register", typed_name(row), reason, user_id=uid), True
                if current is not None and current.user_id == uid:
                    return True, True
                return self._unknown_registration(row, uid, str(exc), current), True
            if result.applied:
                return True, False
            existing = result.existing or {}
            if existing.get("user_id") == uid:
                return True, False  # an earlier attempt with this token had applied
            if existing.get("user_id") is not None:
                return user_record(existing), False
            # A shape we did not expect (no holder in the answer): ask Paxos.
            current = await self.user_serial(row.username)
            if current is not None:
                return (True if current.user_id == uid else current), False
        return Unknown("register", typed_name(row), "no answer", user_id=uid), False

    @staticmethod
    def _unknown_registration(
        row: Any, uid: uuid.UUID, ambiguous: str, current: UserRecord | None
    ) -> Unknown:
        name = typed_name(row)
        if current is None:
            now = f"@{name} is free now"
        else:
            now = f"@{name} is held by @{current.username} ({current.user_id}) now"
        reason = (
            f"{ambiguous}; {now}, which does not show whether this registration applied "
            f"(retry with user_id {uid} to continue it)"
        )
        return Unknown("register", name, reason, current=current, current_read=True, user_id=uid)

    async def _release_claim(self, email: str, uid: uuid.UUID) -> bool:
        """Give a claim back, only if it is still ours. A failure leaves it to the grace
        period (it is not valid: our registration does not hold the name)."""
        claim = self.models.email_claim(email=email, user_id=uid, username="")
        for _ in range(WRITE_ATTEMPTS):
            try:
                await self.store.write(
                    ConditionalWrite(
                        WriteStep.RELEASE_CLAIM,
                        claim,
                        lambda t: claim.delete(if_conditions={"user_id": uid}, timeout=t),
                    )
                )
                return True
            except AmbiguousWrite:
                continue
            except DatabaseUnavailable:
                return False
        return False

    def create_profile(
        self, user: UserRecord, first: FirstProfile | None = None
    ) -> Coroutine[Any, Any, bool]:
        """The profile's first version: one plain INSERT stamped PROFILE_BIRTH_TIMESTAMP
        (idempotent: the same cells at the same timestamp every time). A server whose
        minimum-timestamp guardrail refuses that stamp gets `INSERT ... IF NOT EXISTS`.
        (The coroutine of `write_first_profile`: one coroutine fewer per registration.)"""
        first = first or FIRST_PROFILE
        profile = self._birth_insert.Row(
            user_id=user.user_id,
            username=user.username,
            bio=first.bio,
            status=first.status,
            version=1,
            updated_at=user.registered_at,
            writer_id=user.user_id,
        )
        return self.write_first_profile(profile)

    async def write_first_profile(self, profile: Any) -> bool:
        """Write a profile's first version (a row of `_birth_insert`)."""
        plain = ConditionalWrite(
            WriteStep.CREATE_PROFILE, profile, functools.partial(self._birth_insert.send, profile)
        )
        for _ in range(WRITE_ATTEMPTS):
            try:
                await self.store.write(plain)
                return True
            except AmbiguousWrite:
                continue  # the same write again is harmless
            except DatabaseUnavailable:
                return False
            except InvalidRequest as exc:
                if "timestamp" not in str(exc).lower():
                    raise
                plain = ConditionalWrite(
                    WriteStep.CREATE_PROFILE,
                    profile,
                    functools.partial(_insert_document, self._birth_insert.document(profile)),
                )
        return False


def _insert_document(document: Any, timeout: float) -> Awaitable[LWTResult | None]:
    """`Document.insert()` with a write's timeout (a `ConditionalWrite`'s statement)."""
    return document.insert(timeout=timeout)  # type: ignore[no-any-return]


def typed_name(row: Any) -> str:
    """The name of a registration row as its person typed it."""
    return getattr(row, "username_typed", None) or row.username


def bury_profile_birth(profile: Any) -> ConditionalWrite:
    """A tombstone one microsecond after the birth timestamp: it shadows the first version
    (sent before or after it, any number of times) and nothing a conditional write made. A
    delete leaves it behind, so a first version still on its way when the user was deleted can
    never become an orphan profile."""
    return ConditionalWrite(
        WriteStep.BURY_PROFILE_BIRTH,
        profile,
        lambda t: _saved(profile.delete(timestamp=PROFILE_BIRTH_TIMESTAMP + 1, timeout=t)),
    )


async def _saved(save: Any) -> LWTResult:
    """A plain write's answer in the shape the row store expects of every write."""
    await save
    return LWTResult(applied=True)
