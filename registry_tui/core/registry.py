"""The registry's operations: the one implementation behind the CLI, the TUI and the races.

Every write here is conditional (IF NOT EXISTS / IF col = x / IF EXISTS). A write that fails
ambiguously (timeout, lost connection, CAS_WRITE_UNKNOWN) is resolved by a SERIAL read against
a token the write carried: the user_id made once per registration, or (version, writer_id) for
a profile update. Only when even that read fails is the outcome `Unknown`.

The registration path lives in registration.py; every request goes through a `RowStore`
(rows.py), the seam where tests inject a delayed write or a failed read.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from cassandra import InvalidRequest

from registry_tui.core.cursor import cursor_key, decode_cursor, encode_cursor
from registry_tui.core.errors import DatabaseUnavailable, is_unavailable_error, one_line
from registry_tui.core.models import utc_now
from registry_tui.core.outcomes import (
    CleanupFinished,
    Deleted,
    DeleteOutcome,
    EmailOwner,
    Invalid,
    NotFound,
    Page,
    ProfileRecord,
    RegisterOutcome,
    Unknown,
    Updated,
    UpdateOutcome,
    UserRecord,
    VersionConflict,
)
from registry_tui.core.registration import (
    FIRST_PROFILE,
    FirstProfile,
    Registrar,
    bury_profile_birth,
    claim_owner,
    email_key,
)
from registry_tui.core.rows import (
    WRITE_ATTEMPTS,
    AmbiguousWrite,
    ConditionalWrite,
    DatabaseRows,
    RowStore,
    WriteStep,
    profile_record,
    resolve,
    unavailable,
    user_record,
)
from registry_tui.core.schema import adopted, refuse_unless_adopted
from registry_tui.core.store import Connection, read_gate
from registry_tui.core.validation import (
    VERSION_MAX,
    ValidationError,
    normalize_bio,
    normalize_email,
    normalize_status,
    normalize_username,
    parse_profile_update,
    parse_user_id,
    parse_user_listing,
    typed_username,
    validate_registration,
)

__all__ = ["Registry", "profile_record", "user_record"]


class Registry:
    """The registry's operations on one connection.

    `store` makes every point read and conditional write (default: `DatabaseRows` on the
    connection); tests pass a wrapping one to force an interleaving or a lost answer.
    """

    def __init__(self, connection: Connection, store: RowStore | None = None) -> None:
        self.connection = connection
        self.models = connection.models
        self.timeout = connection.settings.request_timeout
        self._store: RowStore = store if store is not None else DatabaseRows(connection)
        self._registrar = Registrar(self._store, self.models, self.timeout)
        self._cursor_key: bytes | None = None

    @property
    def store(self) -> RowStore:
        return self._store

    @store.setter
    def store(self, store: RowStore) -> None:
        """Every request of every operation from now on goes through `store` (a test wraps
        the real one in a running app)."""
        self._store = self._registrar.store = store

    @property
    def cursor_key(self) -> bytes:
        """The key that signs this registry's list cursors (found on first use)."""
        if self._cursor_key is None:
            self._cursor_key = cursor_key(self.connection.settings.cursor_key)
        return self._cursor_key

    def unavailable(self, exc: BaseException) -> DatabaseUnavailable:
        """A driver failure as the one-line DatabaseUnavailable a person sees."""
        return unavailable(exc, self.connection.settings)

    # ----------------------------------------------------------------------------------------
    # Reads

    async def get_user(self, username: str) -> UserRecord | NotFound | Invalid:
        try:
            name = normalize_username(username)
            typed = typed_username(username)
        except ValidationError as exc:
            return Invalid(exc.field, exc.message)
        row = await self.store.read_one(self.models.registration, username=name)
        if row is None and typed != name:
            # The demo's layout keys rows by the name as typed (a keyspace not adopted yet, or
            # a case variant that adoption kept as a conflict): the exact name still finds it.
            row = await self.store.read_one(self.models.registration, username=typed)
        return user_record(row) if row is not None else NotFound("user", typed)

    async def get_user_serial(self, username: str) -> UserRecord | None:
        """The registration of `username` (any case) as Paxos sees it now (the read also
        completes any round in flight on it)."""
        try:
            key = normalize_username(username)
        except ValidationError:
            key = username  # not a name this registry would write: look it up as it is
        return await self._registrar.user_serial(key)

    async def get_profile(self, user_id: str | uuid.UUID) -> ProfileRecord | NotFound | Invalid:
        try:
            uid = parse_user_id(user_id)
        except ValidationError as exc:
            return Invalid(exc.field, exc.message)
        row = await self.store.read_one(self.models.profile, user_id=uid)
        return profile_record(row) if row is not None else NotFound("profile", str(uid))

    async def get_profile_serial(self, user_id: uuid.UUID) -> ProfileRecord | None:
        row = await self.store.read_one(self.models.profile, serial=True, user_id=user_id)
        return profile_record(row) if row is not None else None

    async def get_email_owner(self, email: str) -> EmailOwner | None:
        """Who holds the e-mail claim now, at SERIAL (None: no claim)."""
        return await self._registrar.email_owner(normalize_email(email))

    async def release_orphan_claim(self, email: str, user_id: uuid.UUID | None = None) -> bool:
        """Give back the claim on `email` if its registration does not hold it; with
        `user_id`, only that identity's claim (see Registrar.release_orphan_claim: only once
        no attempt on it can be in flight)."""
        return await self._registrar.release_orphan_claim(email_key(email), user_id)

    async def iter_email_claims(self, page_size: int = 500) -> AsyncIterator[EmailOwner]:
        """Every e-mail claim, one page in memory at a time (a clean-up looking for the
        claims a run left; never on a request path)."""
        model = self.models.email_claim
        state: bytes | None = None
        while True:
            query = model.find().fetch_size(page_size).page(state).timeout(self.timeout * 2)
            try:
                async with read_gate().paged_read():
                    result = await query.paged_all()
            except Exception as exc:
                if is_unavailable_error(exc):
                    raise self.unavailable(exc) from None
                raise
            for row in result.data:
                yield claim_owner(row)
            if not result.paging_state:
                return
            state = result.paging_state

    async def list_users(
        self, dimension: str | None = None, page_size: int = 100, cursor: str | None = None
    ) -> Page | Invalid:
        """One page of registrations and the cursor of the next; never a full scan."""
        try:
            listing = parse_user_listing(dimension, page_size)
            size, dim = listing.page_size, listing.dimension
            scope = f"{self.models.keyspace}|{dim or ''}"
            state = decode_cursor(cursor, scope, self.cursor_key)
        except ValidationError as exc:
            return Invalid(exc.field, exc.message)
        model = self.models.registration
        query = model.find(dimension=dim) if dim is not None else model.find()
        query = query.fetch_size(size).page(state).timeout(self.timeout * 2)
        try:
            async with read_gate().paged_read():
                result = await query.paged_all()
        except InvalidRequest as exc:
            if state is not None:
                return Invalid("cursor", f"the database refused this cursor: {one_line(exc)}")
            raise
        except Exception as exc:
            if is_unavailable_error(exc):
                raise self.unavailable(exc) from None
            raise
        users = [user_record(doc) for doc in result.data]
        following = encode_cursor(result.paging_state, scope, self.cursor_key)
        return Page(users=users, cursor=following, dimension=dim)

    async def iter_users(
        self, dimension: str | None = None, page_size: int = 500
    ) -> AsyncIterator[UserRecord]:
        """Every registration, one page in memory at a time."""
        cursor: str | None = None
        while True:
            page = await self.list_users(dimension, page_size, cursor)
            if isinstance(page, Invalid):
                raise ValidationError(page.field, page.message)
            for user in page.users:
                yield user
            if page.cursor is None:
                return
            cursor = page.cursor

    # ----------------------------------------------------------------------------------------
    # Register (the path itself: core/registration.py)

    async def register(
        self,
        username: str,
        email: str,
        display_name: str,
        dimension: str,
        *,
        user_id: uuid.UUID | None = None,
        bio: str | None = None,
        status: str = "active",
    ) -> RegisterOutcome:
        """Register a user; `bio` and `status` go into the profile's first version (written
        by the registration itself: no extra round)."""
        if not adopted(self.connection):  # known at v2 (no read), as nearly always
            await refuse_unless_adopted(self.connection)  # raises NeedsAdoption: nothing written
        try:
            req = validate_registration(username, email, display_name, dimension)
            if bio is None and status == "active":
                first = FIRST_PROFILE
            else:
                first = FirstProfile(
                    normalize_bio(bio) if bio is not None else None, normalize_status(status)
                )
        except ValidationError as exc:
            return Invalid(exc.field, exc.message)
        # The token every retry and every resolution checks.
        return await self._registrar.register(req, user_id or uuid.uuid4(), first)

    async def complete_registration(self, user: UserRecord) -> RegisterOutcome:
        """Finish a registration whose outcome was unknown and that a SERIAL read later showed
        to hold its name: write its profile's first version."""
        return await self._registrar.complete(user, resolved=True)

    # ----------------------------------------------------------------------------------------
    # Delete

    async def delete_user(
        self, username: str, *, user_id: uuid.UUID | None = None
    ) -> DeleteOutcome:
        """Delete the user holding `username`, by identity; with `user_id`, only that identity
        (a name held by anyone else answers not found and is left alone). With `user_id`, a
        case variant that adoption kept as a conflict (a row at the name exactly as typed, see
        core/adopt.py) can be deleted too: by name alone, the name means its holder."""
        await refuse_unless_adopted(self.connection)
        try:
            name = normalize_username(username)
            typed = typed_username(username)
        except ValidationError as exc:
            return Invalid(exc.field, exc.message)
        key = name
        current = await self.get_user_serial(name)
        if (
            user_id is not None
            and typed != name
            and (current is None or current.user_id != user_id)
        ):
            variant = await self._registrar.user_serial(typed)
            if variant is not None and variant.user_id == user_id:
                key, current = typed, variant
        if current is None or (user_id is not None and current.user_id != user_id):
            if user_id is not None:
                finished = await self._finish_cut_off_delete(user_id)
                if finished is not None:
                    return finished
            return NotFound("user", typed)
        uid = current.user_id
        row = self.models.registration(
            username=key, email="", display_name="", dimension="", user_id=uid
        )
        # The commit point: only this identity; a name re-registered meanwhile is not touched.
        # A delete carries no token of its own: once a try was ambiguous, "this identity is
        # gone" cannot tell our delete from a concurrent one, so it answers unknown (and still
        # cleans up: the identity is gone either way, its profile and claim must not stay).
        ambiguous = ""
        for _ in range(WRITE_ATTEMPTS):
            try:
                result = await self.store.write(
                    ConditionalWrite(
                        WriteStep.DELETE_REGISTRATION,
                        row,
                        lambda t: row.delete(if_conditions={"user_id": uid}, timeout=t),
                    )
                )
            except DatabaseUnavailable as exc:
                if not ambiguous:
                    raise
                reason = f"{ambiguous}; then {exc.message}"
                return Unknown("delete", typed, reason, user_id=uid)
            except AmbiguousWrite as exc:
                ambiguous = ambiguous or str(exc)
                decided = await self._decide_delete(key, current, ambiguous)
                if decided is None:
                    continue  # still there: our delete has not applied (yet); again
                return decided
            if result.applied:
                leftovers = await self._cleanup_after_delete(current)
                return Deleted(current, leftovers, resolved_after_timeout=bool(ambiguous))
            if ambiguous:
                # Refused after an ambiguous try: the refusal may be our own delete, landed.
                decided = await self._decide_delete(key, current, ambiguous)
                if decided is None:
                    continue
                return decided
            # Refused with no try of ours in doubt: someone else deleted this identity (and
            # cleans up after it) or the name changed hands. Not ours to report as done.
            return NotFound("user", typed)
        return Unknown("delete", typed, f"the delete kept timing out ({ambiguous})", user_id=uid)

    async def _finish_cut_off_delete(self, uid: uuid.UUID) -> CleanupFinished | None:
        """An identity that holds no name but still has a profile: a delete's clean-up was
        cut off after its commit point. Remove the profile now (the same idempotent steps);
        None when there is nothing to finish. A profile exists only once its registration
        committed, and a delete's tombstone outranks a late first version, so this is safe
        whenever the identity no longer holds its name. Its e-mail claim, if left too, holds
        no name and is released after its grace period by whoever meets it."""
        profile = await self.get_profile_serial(uid)
        if profile is None:
            return None
        if await self._registrar.holds_name(profile.username, uid):
            return None  # it holds its name: not a left-over, and not this delete's
        left = await self._cleanup_profile(uid, profile.username)
        return CleanupFinished(uid, profile.username, left)

    async def _decide_delete(self, key: str, user: UserRecord, ambiguous: str) -> Unknown | None:
        """After an ambiguous try of `DELETE ... IF user_id = user's`: a SERIAL read of the
        name. None: the identity still holds it, ours has not applied, the same delete may be
        sent again. Otherwise the identity is gone, by us or by a concurrent delete, which
        cannot be told: unknown, with its profile and claim removed either way."""
        now = await resolve(lambda: self._registrar.user_serial(key))
        if isinstance(now, Unknown):
            reason = f"{ambiguous}; {now.reason}"
            return Unknown("delete", user.username, reason, user_id=user.user_id)
        if now is not None and now.user_id == user.user_id:
            return None
        leftovers = await self._cleanup_after_delete(user)
        reason = f"{ambiguous}; @{user.username} ({user.user_id}) is gone, by this delete or "
        reason += "a concurrent one"
        if now is not None:
            reason += f"; the name is held by {now.user_id} now"
        if leftovers:
            reason += f"; not confirmed: {', '.join(leftovers)}"
        return Unknown(
            "delete", user.username, reason, current=now, current_read=True, user_id=user.user_id
        )

    async def _cleanup_after_delete(self, user: UserRecord) -> tuple[str, ...]:
        uid = user.user_id
        claim = self.models.email_claim(
            email=email_key(user.email), user_id=uid, username=user.username
        )
        release = ConditionalWrite(
            WriteStep.RELEASE_CLAIM,
            claim,
            lambda t: claim.delete(if_conditions={"user_id": uid}, timeout=t),
        )
        left = await self._cleanup_profile(uid, user.username)
        return left + await self._cleanup_steps((("e-mail claim", release),))

    async def _cleanup_profile(self, uid: uuid.UUID, username: str) -> tuple[str, ...]:
        profile = self.models.profile(user_id=uid, username=username)
        steps = (
            (
                "profile",
                ConditionalWrite(
                    WriteStep.DELETE_PROFILE,
                    profile,
                    lambda t: profile.delete(if_exists=True, timeout=t),
                ),
            ),
            ("profile", bury_profile_birth(profile)),
        )
        return await self._cleanup_steps(steps)

    async def _cleanup_steps(
        self, steps: tuple[tuple[str, ConditionalWrite], ...]
    ) -> tuple[str, ...]:
        leftovers: list[str] = []
        for label, write in steps:
            for _ in range(WRITE_ATTEMPTS):
                try:
                    await self.store.write(write)
                    break
                except (AmbiguousWrite, DatabaseUnavailable):
                    continue
            else:
                if label not in leftovers:
                    leftovers.append(label)
        return tuple(leftovers)

    # ----------------------------------------------------------------------------------------
    # Update a profile under optimistic locking

    async def update_profile(
        self,
        user_id: str | uuid.UUID,
        bio: str | None = None,
        status: str | None = None,
        expected_version: int | str | None = None,
    ) -> UpdateOutcome:
        await refuse_unless_adopted(self.connection)
        try:
            request = parse_profile_update(user_id, bio, status, expected_version)
        except ValidationError as exc:
            return Invalid(exc.field, exc.message)
        uid, expected = request.user_id, request.expected_version
        changes: dict[str, Any] = request.changes
        if expected is None:
            # No version given: read it, then make the same conditional write (never blind).
            current = await self.get_profile_serial(uid)
            if current is None:
                return NotFound("profile", str(uid))
            expected = current.version
        if expected >= VERSION_MAX:
            return Invalid("expected_version", "this profile cannot take another version")

        writer = uuid.uuid4()
        target = self.models.profile(user_id=uid, username="")
        values = dict(changes, version=expected + 1, updated_at=utc_now(), writer_id=writer)
        ambiguous = ""  # the first ambiguous failure: from then on only proof decides
        for _ in range(WRITE_ATTEMPTS):
            try:
                # coodie 1.9.3 copies the values into `target` even when not applied; we never
                # read `target` back, the database's answer is the only truth.
                result = await self.store.write(
                    ConditionalWrite(
                        WriteStep.UPDATE_PROFILE,
                        target,
                        lambda _: target.update(if_conditions={"version": expected}, **values),
                    )
                )
            except AmbiguousWrite as exc:
                ambiguous = ambiguous or str(exc)
                decided = await self._decide_update(uid, expected, writer, ambiguous)
                if decided is None:
                    continue  # still at `expected`: ours has not applied; the same write again
                return decided
            except DatabaseUnavailable as exc:
                if not ambiguous:
                    raise  # nothing of ours can have applied: the database is unavailable
                # This try surely did not apply; an earlier one may have.
                return Unknown("update", str(uid), f"{ambiguous}; then {exc.message}")
            if result.applied:
                return await self._updated(uid, expected, changes, values, bool(ambiguous))
            if ambiguous:
                # Refused after an ambiguous try: the refusal may be our own earlier write.
                decided = await self._decide_update(uid, expected, writer, ambiguous)
                if decided is None:
                    continue
                return decided
            # Refused, and no try of ours can have applied: a definite answer. The write saw
            # the condition column (no row: nothing, or nulls on ScyllaDB); the SERIAL read
            # after it gives the whole row to show.
            if (result.existing or {}).get("version") is None:
                return NotFound("profile", str(uid))
            row = await self._profile_row_serial(uid)
            if row is None:
                return NotFound("profile", str(uid))
            if row.version == expected:
                continue  # a first version written since the refusal: try again
            return VersionConflict(profile_record(row), expected)
        reason = f"the update kept timing out ({ambiguous})" if ambiguous else "no answer"
        return Unknown("update", str(uid), reason)

    async def _decide_update(
        self, uid: uuid.UUID, expected: int, writer: uuid.UUID, ambiguous: str
    ) -> UpdateOutcome | None:
        """After an ambiguous try of `UPDATE ... SET version = expected+1, writer_id = writer IF
        version = expected`: a SERIAL read (which also completes a round in flight), and an
        answer only where it proves one. None: the row is still at `expected`, ours has not
        applied, the same write may be sent again (versions only grow, so it cannot have
        applied and been undone)."""
        row = await resolve(lambda: self._profile_row_serial(uid))
        if isinstance(row, Unknown):
            return Unknown("update", str(uid), f"{ambiguous}; {row.reason}")
        if row is None:
            # Ours may have applied and the profile been deleted since.
            return Unknown(
                "update",
                str(uid),
                f"{ambiguous}; the profile is gone now (deleted, perhaps after this edit)",
                current=None,
                current_read=True,
            )
        if row.version == expected:
            return None
        if row.version == expected + 1 and row.writer_id == writer:
            return Updated(profile_record(row), resolved_after_timeout=True)
        if row.version <= expected + 1:
            # Another writer took `expected` -> expected+1 (or the row never reached
            # `expected`): ours, conditional on `expected`, can never apply.
            return VersionConflict(profile_record(row), expected, resolved_after_timeout=True)
        # Above expected+1: ours may have been expected+1 before a later edit replaced it.
        return Unknown(
            "update",
            str(uid),
            f"{ambiguous}; the profile is at version {row.version} now, so whether this "
            f"edit was version {expected + 1} before it cannot be told",
            current=profile_record(row),
            current_read=True,
        )

    async def _updated(
        self,
        uid: uuid.UUID,
        expected: int,
        changes: dict[str, Any],
        values: dict[str, Any],
        resolved: bool,
    ) -> Updated:
        """An applied update, with the row to show (a plain read; what we wrote if the read
        fails or already sees a later version)."""
        fresh = await resolve(lambda: self.get_profile(uid))
        if isinstance(fresh, ProfileRecord) and fresh.version == expected + 1:
            return Updated(fresh, resolved_after_timeout=resolved)
        return Updated(
            ProfileRecord(
                uid,
                getattr(fresh, "username", ""),
                changes.get("bio", getattr(fresh, "bio", None)),
                changes.get("status", getattr(fresh, "status", "active")),
                expected + 1,
                values["updated_at"],
            ),
            resolved_after_timeout=resolved,
        )

    async def _profile_row_serial(self, uid: uuid.UUID) -> Any:
        return await self.store.read_one(self.models.profile, serial=True, user_id=uid)
