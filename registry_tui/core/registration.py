"""The registration path: claim the e-mail, commit the name, then make the registration whole.

Two unique keys cannot be one statement. A registration first claims its e-mail (a pending
claim row carrying the user_id made once per attempt), then inserts its registration (the
commit point), then creates its profile and makes the claim permanent. On the way it settles
what an interrupted registration left behind: a claim whose registration holds the name is
completed, one that never committed is released once it is older than PENDING_CLAIM_TTL_S.
"""

from __future__ import annotations

import contextlib
import enum
import uuid
from datetime import datetime
from typing import Any

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
    RowStore,
    WriteStep,
    aware,
    resolve,
    user_record,
)
from registry_tui.core.validation import Registration

# A pending e-mail claim is never taken over before this many seconds (far longer than any
# registration attempt: client and server timeouts are seconds). After that, the next
# registration that meets it settles it: completes it when its registration holds the name
# (the process died after the commit point), releases it when it never committed.
PENDING_CLAIM_TTL_S = 300


class _ClaimGone(enum.Enum):
    """Internal: a SERIAL read found no e-mail claim where ours was."""

    GONE = "gone"


class Registrar:
    """Registers users for one `Registry`, through its RowStore."""

    def __init__(self, store: RowStore, models: Models, timeout: float) -> None:
        self.store = store
        self.models = models
        self.timeout = timeout  # a pending claim older than twice this was interrupted

    async def user_serial(self, username: str) -> UserRecord | None:
        """The registration as Paxos sees it now (also completes any in-flight round)."""
        row = await self.store.read_one(self.models.registration, serial=True, username=username)
        return user_record(row) if row is not None else None

    async def email_owner(self, email: str) -> EmailOwner | None:
        row = await self.store.read_one(self.models.email_claim, serial=True, email=email)
        if row is None:
            return None
        return EmailOwner(row.email, row.username, row.user_id, row.state)

    async def register(self, req: Registration, uid: uuid.UUID) -> RegisterOutcome:
        """Register a validated request; `uid` is the token every retry and every
        resolution checks."""
        now = utc_now()

        claim = await self._claim_email(req.email, uid, req.username)
        if isinstance(claim, EmailTaken):
            # The name is the registry's primary key: when it is taken too, say that first
            # (re-registering the same name and e-mail answers username_taken, as in the demo).
            holder = await self.store.read_one(self.models.registration, username=req.username)
            if holder is None:
                return claim
            await self._repair_holder(user_record(holder))
            return UsernameTaken(user_record(holder))
        if isinstance(claim, Unknown):
            return claim

        row = self.models.registration(
            username=req.username,
            email=req.email,
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
            return won  # the claim stays pending and expires unless the registration holds
        if isinstance(won, UserRecord):
            await self._release_claim(req.email, uid)
            await self._repair_holder(won)
            return UsernameTaken(won, resolved_after_timeout=resolved)
        return await self.complete(user_record(row), resolved)

    async def complete(self, user: UserRecord, resolved: bool) -> RegisterOutcome:
        """Make a registration that holds its name whole: its profile, its claim made
        permanent; undo it only when its e-mail claim was released meanwhile."""
        profile_ok = await self._create_profile(user.user_id, user.username, user.registered_at)
        confirmed = await self._confirm_claim(
            user.email, user.user_id, user.username, user.registered_at
        )
        if confirmed is _ClaimGone.GONE or (
            isinstance(confirmed, EmailOwner) and confirmed.user_id != user.user_id
        ):
            # Our pending claim was released as stale (it met a SERIAL read that did not see
            # this registration yet) and the address may now belong to someone else: undo
            # this registration rather than share an e-mail.
            await self._undo_registration(user.username, user.user_id)
            if isinstance(confirmed, EmailOwner):
                return EmailTaken(confirmed)
            return Unknown("register", user.username, "the e-mail claim was released")
        # Undecided (the confirmation timed out and no SERIAL read answered): never undo. The
        # name is ours and the pending claim carries our user_id, which no one can release
        # while this registration holds the name (see _settle_claim); whoever meets it next
        # makes it active. Undoing here could race the confirmation still in flight and
        # leave an active claim with no registration.
        incomplete: tuple[str, ...] = () if profile_ok else ("profile",)
        if confirmed is not True:
            incomplete += ("e-mail claim",)
        return Registered(user, resolved_after_timeout=resolved, incomplete=incomplete)

    async def _claim_email(
        self, email: str, uid: uuid.UUID, username: str
    ) -> bool | EmailTaken | Unknown:
        claim = self.models.email_claim(
            email=email, user_id=uid, username=username, state="pending", claimed_at=utc_now()
        )
        for _ in range(WRITE_ATTEMPTS):
            try:
                # No TTL: a claim whose registration committed must never expire under it.
                result = await self.store.write(
                    ConditionalWrite(
                        WriteStep.CLAIM_EMAIL, claim, lambda t: claim.insert(timeout=t)
                    )
                )
            except AmbiguousWrite as exc:
                owner = await resolve(lambda: self.email_owner(email))
                if isinstance(owner, Unknown):
                    return Unknown("register", email, f"e-mail claim: {exc}; {owner.reason}")
                if owner is None:
                    continue  # nothing committed: try again with the same token
                if owner.user_id == uid:
                    return True
                return EmailTaken(owner)
            if result.applied:
                return True
            existing = result.existing or {}
            if existing.get("user_id") == uid:
                return True  # our own earlier attempt
            settled = await self._settle_claim(email)
            if settled is None:
                continue  # free now (a dead attempt's claim was released): try again
            if settled.user_id == uid:
                return True
            return EmailTaken(settled)
        return Unknown("register", email, "the e-mail claim kept timing out")

    async def _settle_claim(self, email: str) -> EmailOwner | None:
        """Who holds `email` now, after settling a pending claim left by an interrupted
        registration: completed (profile, claim made active) when its registration holds the
        name, released when it is older than PENDING_CLAIM_TTL_S and never committed."""
        row = await self.store.read_one(self.models.email_claim, serial=True, email=email)
        if row is None:
            return None
        owner = EmailOwner(row.email, row.username, row.user_id, row.state)
        if owner.state != "pending":
            return owner
        holder = await self.user_serial(owner.username)
        if holder is not None and holder.user_id == owner.user_id:
            if await self._finish(holder):
                return EmailOwner(owner.email, owner.username, owner.user_id, "active")
            return owner
        claimed_at = aware(row.claimed_at)
        if claimed_at is None or (utc_now() - claimed_at).total_seconds() < PENDING_CLAIM_TTL_S:
            return owner  # a registration may still be on its way
        stale = self.models.email_claim(email=email, user_id=owner.user_id, username="")
        try:
            result = await self.store.write(
                ConditionalWrite(
                    WriteStep.RELEASE_CLAIM,
                    stale,
                    lambda t: stale.delete(
                        if_conditions={"user_id": owner.user_id, "state": "pending"}, timeout=t
                    ),
                )
            )
        except AmbiguousWrite:
            return owner
        return None if result.applied else owner

    async def _finish(self, holder: UserRecord) -> bool:
        """Make a committed registration whole (profile, active claim) without ever undoing
        it: it may be someone else's, met by this registration on its way."""
        await self._create_profile(holder.user_id, holder.username, holder.registered_at)
        confirmed = await self._confirm_claim(
            holder.email, holder.user_id, holder.username, holder.registered_at
        )
        if confirmed is True:
            return True
        # A delete may have removed the holder between our SERIAL read and the profile we
        # just wrote (its cleanup then found no profile yet): remove what would be an orphan.
        try:
            current = await self.user_serial(holder.username)
        except DatabaseUnavailable:
            return False
        if current is None or current.user_id != holder.user_id:
            profile = self.models.profile(user_id=holder.user_id, username=holder.username)
            with contextlib.suppress(AmbiguousWrite, DatabaseUnavailable):
                await self.store.write(
                    ConditionalWrite(
                        WriteStep.DELETE_PROFILE,
                        profile,
                        lambda t: profile.delete(if_exists=True, timeout=t),
                    )
                )
        return False

    async def _repair_holder(self, holder: UserRecord) -> None:
        """A name is taken: if its holder was interrupted after its commit point (its claim
        still pending well after any attempt would have ended), finish it now, so that
        re-running an interrupted command repairs it. A plain read first: racing losers pay
        no SERIAL round on a winner that is still confirming its own claim."""
        try:
            row = await self.store.read_one(self.models.email_claim, email=holder.email)
            if row is None or row.user_id != holder.user_id or row.state != "pending":
                return
            claimed_at = aware(row.claimed_at)
            if claimed_at and (utc_now() - claimed_at).total_seconds() > 2 * self.timeout:
                await self._finish(holder)
        except DatabaseUnavailable:
            pass  # whoever meets it next will

    async def _insert_registration(
        self, row: Any, uid: uuid.UUID
    ) -> tuple[bool | UserRecord | Unknown, bool]:
        """(True, resolved): we hold the name; (UserRecord, resolved): taken by that user.

        `resolved` is True when a SERIAL read had to decide after an ambiguous failure.
        """
        resolved = False
        for _ in range(WRITE_ATTEMPTS):
            try:
                result = await self.store.write(
                    ConditionalWrite(
                        WriteStep.INSERT_REGISTRATION, row, lambda t: row.insert(timeout=t)
                    )
                )
            except AmbiguousWrite as exc:
                resolved = True
                current = await resolve(lambda: self.user_serial(row.username))
                if isinstance(current, Unknown):
                    return Unknown("register", row.username, f"{exc}; {current.reason}"), True
                if current is None:
                    continue  # nothing committed: try again with the same token
                return (True if current.user_id == uid else current), True
            if result.applied:
                return True, resolved
            existing = result.existing or {}
            if existing.get("user_id") == uid:
                return True, resolved  # our own earlier, timed-out attempt had applied
            if existing.get("user_id") is None:  # a shape we did not expect: ask Paxos
                current = await self.user_serial(row.username)
                if current is None:
                    continue
                return (True if current.user_id == uid else current), resolved
            return user_record(existing), resolved
        return Unknown("register", row.username, "the registration kept timing out"), resolved

    async def _release_claim(self, email: str, uid: uuid.UUID) -> bool:
        """Give a claim back, only if it is still ours. A failure leaves it to expire."""
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

    async def _create_profile(self, uid: uuid.UUID, username: str, now: datetime) -> bool:
        profile = self.models.profile(
            user_id=uid,
            username=username,
            bio=None,
            status="active",
            version=1,
            updated_at=now,
            writer_id=uid,
        )
        for _ in range(WRITE_ATTEMPTS):
            try:
                await self.store.write(
                    ConditionalWrite(
                        WriteStep.CREATE_PROFILE, profile, lambda t: profile.insert(timeout=t)
                    )
                )
                return True  # applied, or already there from our own earlier attempt
            except AmbiguousWrite:
                continue
            except DatabaseUnavailable:
                return False
        return False

    async def _confirm_claim(
        self, email: str, uid: uuid.UUID, username: str, now: datetime
    ) -> bool | EmailOwner | _ClaimGone | None:
        """Make the pending claim permanent (TTL 0), only while it is still ours.

        True: confirmed. An EmailOwner: the row as a SERIAL read found it, not ours or not
        active. _ClaimGone.GONE: a SERIAL read found no claim at all. None: undecided."""
        claim = self.models.email_claim(email=email, user_id=uid, username=username)
        for _ in range(WRITE_ATTEMPTS):
            try:
                result = await self.store.write(
                    ConditionalWrite(
                        WriteStep.CONFIRM_CLAIM,
                        claim,
                        lambda _: claim.update(
                            if_conditions={"user_id": uid},
                            ttl=0,
                            user_id=uid,
                            username=username,
                            state="active",
                            claimed_at=now,
                        ),
                    )
                )
            except (AmbiguousWrite, DatabaseUnavailable):
                try:
                    owner = await self.email_owner(email)
                except DatabaseUnavailable:
                    continue
                if owner is None:
                    return _ClaimGone.GONE  # an UPDATE ... IF never deletes: released
                if owner.user_id == uid and owner.state == "active":
                    return True
                if owner.user_id != uid:
                    return owner
                continue  # still ours and pending: not applied, try again
            if result.applied:
                return True
            try:
                owner = await self.email_owner(email)
            except DatabaseUnavailable:
                return None
            if owner is None:
                return _ClaimGone.GONE
            return True if owner.user_id == uid and owner.state == "active" else owner
        return None

    async def _undo_registration(self, username: str, uid: uuid.UUID) -> None:
        row = self.models.registration(
            username=username, email="", display_name="", dimension="", user_id=uid
        )
        profile = self.models.profile(user_id=uid, username=username)
        for write in (
            ConditionalWrite(
                WriteStep.DELETE_REGISTRATION,
                row,
                lambda t: row.delete(if_conditions={"user_id": uid}, timeout=t),
            ),
            ConditionalWrite(
                WriteStep.DELETE_PROFILE,
                profile,
                lambda t: profile.delete(if_exists=True, timeout=t),
            ),
        ):
            with contextlib.suppress(AmbiguousWrite, DatabaseUnavailable):
                await self.store.write(write)
