"""The registry's operations: the one implementation behind the CLI, the TUI and the races.

Every write here is conditional (IF NOT EXISTS / IF col = x / IF EXISTS). A write that fails
ambiguously (timeout, lost connection, CAS_WRITE_UNKNOWN) is resolved by a SERIAL read against
a token the write carried: the user_id made once per registration, or (version, writer_id) for
a profile update. Only when even that read fails is the outcome `Unknown`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import hashlib
import hmac
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cassandra import InvalidRequest, Unavailable
from coodie.aio import Document
from coodie.results import LWTResult

from registry_tui.core.errors import (
    DatabaseUnavailable,
    is_ambiguous_write_error,
    is_unavailable_error,
    one_line,
)
from registry_tui.core.models import utc_now
from registry_tui.core.outcomes import (
    Deleted,
    DeleteOutcome,
    EmailOwner,
    EmailTaken,
    Invalid,
    NotFound,
    Page,
    ProfileRecord,
    Registered,
    RegisterOutcome,
    Unknown,
    Updated,
    UpdateOutcome,
    UsernameTaken,
    UserRecord,
    VersionConflict,
)
from registry_tui.core.store import Connection, read_gate
from registry_tui.core.validation import (
    ValidationError,
    normalize_email,
    normalize_username,
    parse_profile_update,
    parse_user_id,
    parse_user_listing,
    validate_registration,
)

# A pending e-mail claim is never taken over before this many seconds (far longer than any
# registration attempt: client and server timeouts are seconds). After that, the next
# registration that meets it settles it: completes it when its registration holds the name
# (the process died after the commit point), releases it when it never committed.
PENDING_CLAIM_TTL_S = 300
WRITE_ATTEMPTS = 3
_CURSOR_PREFIX = "c1."
_CURSOR_MAC_BYTES = 16


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _getter(row: Any) -> Any:
    """Field access for a driver row (dict) and a coodie document alike."""
    return row.get if isinstance(row, dict) else lambda key: getattr(row, key)


def user_record(row: Any) -> UserRecord:
    get = _getter(row)
    return UserRecord(
        username=get("username"),
        email=get("email"),
        display_name=get("display_name"),
        dimension=get("dimension"),
        registered_at=_aware(get("registered_at")),  # type: ignore[arg-type]  # never null
        user_id=get("user_id"),
    )


def profile_record(row: Any) -> ProfileRecord:
    get = _getter(row)
    return ProfileRecord(
        user_id=get("user_id"),
        username=get("username"),
        bio=get("bio"),
        status=get("status"),
        version=get("version"),
        updated_at=_aware(get("updated_at")),
    )


def _cursor_key() -> bytes:
    """The key that signs list cursors: REGISTRY_CURSOR_KEY, else one kept per user on disk
    (so a cursor printed by one CLI run works in the next), else one per process."""
    global _cursor_key_cache
    if _cursor_key_cache is not None:
        return _cursor_key_cache
    configured = os.environ.get("REGISTRY_CURSOR_KEY")
    if configured:
        key = hashlib.sha256(configured.encode()).digest()
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        path = path / "registry-tui" / "cursor.key"
        try:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(secrets.token_bytes(32))
            key = path.read_bytes()
            if len(key) < 16:
                raise OSError("cursor key too short")
        except OSError:
            key = secrets.token_bytes(32)
    _cursor_key_cache = key
    return key


_cursor_key_cache: bytes | None = None


def _cursor_mac(paging_state: bytes, scope: str) -> bytes:
    message = scope.encode() + b"\x00" + paging_state
    return hmac.new(_cursor_key(), message, hashlib.sha256).digest()[:_CURSOR_MAC_BYTES]


def encode_cursor(paging_state: bytes | None, scope: str = "") -> str | None:
    """An opaque, signed cursor. `scope` (keyspace and filter) binds it to one listing: the
    server never sees a paging state this registry did not hand out for that same listing."""
    if not paging_state:
        return None
    body = _cursor_mac(paging_state, scope) + paging_state
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(body).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str = "") -> bytes | None:
    if not cursor:
        return None
    refused = ValidationError("cursor", "is not a cursor this registry handed out for this list")
    if not cursor.startswith(_CURSOR_PREFIX) or len(cursor) > 4096:
        raise refused
    body = cursor[len(_CURSOR_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise refused from None
    mac, state = raw[:_CURSOR_MAC_BYTES], raw[_CURSOR_MAC_BYTES:]
    if not state or not hmac.compare_digest(mac, _cursor_mac(state, scope)):
        raise refused
    return state


class _ClaimGone(enum.Enum):
    """Internal: a SERIAL read found no e-mail claim where ours was."""

    GONE = "gone"


class _Ambiguous(Exception):
    """Internal: a conditional write whose fate a SERIAL read must decide."""


class Registry:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.models = connection.models
        self.timeout = connection.settings.request_timeout

    # ----------------------------------------------------------------------------------------
    # Low-level helpers

    def _unavailable(self, exc: BaseException) -> DatabaseUnavailable:
        return DatabaseUnavailable(one_line(exc), self.connection.settings.describe())

    async def _read_one(self, model: type[Document], serial: bool = False, **key: Any) -> Any:
        query = model.find(**key).timeout(self.timeout)
        if serial:
            query = query.consistency("LOCAL_SERIAL")
        try:
            async with read_gate().point_read():
                return await query.first()
        except Exception as exc:
            if is_unavailable_error(exc):
                raise self._unavailable(exc) from None
            raise

    async def _write(self, write: Any) -> LWTResult:
        """Run one conditional write; raise _Ambiguous or DatabaseUnavailable on failure."""
        try:
            result = await write()
        except Unavailable as exc:  # decided before any replica wrote anything
            raise self._unavailable(exc) from None
        except InvalidRequest:
            raise
        except Exception as exc:
            if is_ambiguous_write_error(exc):
                raise _Ambiguous(one_line(exc)) from None
            raise
        if result is None:  # coodie returns None only for batched writes; we never batch
            raise RuntimeError("conditional write returned no result")
        return result

    # ----------------------------------------------------------------------------------------
    # Reads

    async def get_user(self, username: str) -> UserRecord | NotFound | Invalid:
        try:
            name = normalize_username(username)
        except ValidationError as exc:
            return Invalid(exc.field, exc.message)
        row = await self._read_one(self.models.registration, username=name)
        return user_record(row) if row is not None else NotFound("user", name)

    async def get_user_serial(self, username: str) -> UserRecord | None:
        """The registration as Paxos sees it now (also completes any in-flight round)."""
        row = await self._read_one(self.models.registration, serial=True, username=username)
        return user_record(row) if row is not None else None

    async def get_profile(self, user_id: str | uuid.UUID) -> ProfileRecord | NotFound | Invalid:
        try:
            uid = parse_user_id(user_id)
        except ValidationError as exc:
            return Invalid(exc.field, exc.message)
        row = await self._read_one(self.models.profile, user_id=uid)
        return profile_record(row) if row is not None else NotFound("profile", str(uid))

    async def get_profile_serial(self, user_id: uuid.UUID) -> ProfileRecord | None:
        row = await self._read_one(self.models.profile, serial=True, user_id=user_id)
        return profile_record(row) if row is not None else None

    async def get_email_owner(self, email: str) -> EmailOwner | None:
        row = await self._read_one(
            self.models.email_claim, serial=True, email=normalize_email(email)
        )
        if row is None:
            return None
        return EmailOwner(row.email, row.username, row.user_id, row.state)

    async def list_users(
        self, dimension: str | None = None, page_size: int = 100, cursor: str | None = None
    ) -> Page | Invalid:
        """One page of registrations and the cursor of the next; never a full scan."""
        try:
            listing = parse_user_listing(dimension, page_size)
            size, dim = listing.page_size, listing.dimension
            scope = f"{self.models.keyspace}|{dim or ''}"
            state = decode_cursor(cursor, scope)
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
                raise self._unavailable(exc) from None
            raise
        users = [user_record(doc) for doc in result.data]
        return Page(users=users, cursor=encode_cursor(result.paging_state, scope), dimension=dim)

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
    # Register

    async def register(
        self,
        username: str,
        email: str,
        display_name: str,
        dimension: str,
        *,
        user_id: uuid.UUID | None = None,
    ) -> RegisterOutcome:
        try:
            req = validate_registration(username, email, display_name, dimension)
        except ValidationError as exc:
            return Invalid(exc.field, exc.message)
        uid = user_id or uuid.uuid4()  # the token every retry and every resolution checks
        now = utc_now()

        claim = await self._claim_email(req.email, uid, req.username)
        if isinstance(claim, EmailTaken):
            # The name is the registry's primary key: when it is taken too, say that first
            # (re-registering the same name and e-mail answers username_taken, as in the demo).
            holder = await self._read_one(self.models.registration, username=req.username)
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
        return await self._complete(user_record(row), resolved)

    async def complete_registration(self, user: UserRecord) -> RegisterOutcome:
        """Finish a registration whose outcome was unknown and that a SERIAL read later showed
        to hold its name: create its profile and make its e-mail claim permanent."""
        return await self._complete(user, resolved=True)

    async def _complete(self, user: UserRecord, resolved: bool) -> RegisterOutcome:
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
                result = await self._write(lambda: claim.insert(timeout=self.timeout))
            except _Ambiguous as exc:
                owner = await self._resolve(lambda: self.get_email_owner(email))
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
        row = await self._read_one(self.models.email_claim, serial=True, email=email)
        if row is None:
            return None
        owner = EmailOwner(row.email, row.username, row.user_id, row.state)
        if owner.state != "pending":
            return owner
        holder = await self.get_user_serial(owner.username)
        if holder is not None and holder.user_id == owner.user_id:
            if await self._finish(holder):
                return EmailOwner(owner.email, owner.username, owner.user_id, "active")
            return owner
        claimed_at = _aware(row.claimed_at)
        if claimed_at is None or (utc_now() - claimed_at).total_seconds() < PENDING_CLAIM_TTL_S:
            return owner  # a registration may still be on its way
        stale = self.models.email_claim(email=email, user_id=owner.user_id, username="")
        try:
            result = await self._write(
                lambda: stale.delete(
                    if_conditions={"user_id": owner.user_id, "state": "pending"},
                    timeout=self.timeout,
                )
            )
        except _Ambiguous:
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
            current = await self.get_user_serial(holder.username)
        except DatabaseUnavailable:
            return False
        if current is None or current.user_id != holder.user_id:
            profile = self.models.profile(user_id=holder.user_id, username=holder.username)
            with contextlib.suppress(_Ambiguous, DatabaseUnavailable):
                await self._write(lambda: profile.delete(if_exists=True, timeout=self.timeout))
        return False

    async def _repair_holder(self, holder: UserRecord) -> None:
        """A name is taken: if its holder was interrupted after its commit point (its claim
        still pending well after any attempt would have ended), finish it now, so that
        re-running an interrupted command repairs it. A plain read first: racing losers pay
        no SERIAL round on a winner that is still confirming its own claim."""
        try:
            row = await self._read_one(self.models.email_claim, email=holder.email)
            if row is None or row.user_id != holder.user_id or row.state != "pending":
                return
            claimed_at = _aware(row.claimed_at)
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
                result = await self._write(lambda: row.insert(timeout=self.timeout))
            except _Ambiguous as exc:
                resolved = True
                current = await self._resolve(lambda: self.get_user_serial(row.username))
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
                current = await self.get_user_serial(row.username)
                if current is None:
                    continue
                return (True if current.user_id == uid else current), resolved
            return user_record(existing), resolved
        return Unknown("register", row.username, "the registration kept timing out"), resolved

    async def _resolve(self, read: Any) -> Any:
        try:
            return await read()
        except DatabaseUnavailable as exc:
            return Unknown("resolve", "", f"the SERIAL read failed too ({exc.message})")

    async def _release_claim(self, email: str, uid: uuid.UUID) -> bool:
        """Give a claim back, only if it is still ours. A failure leaves it to expire."""
        claim = self.models.email_claim(email=email, user_id=uid, username="")
        for _ in range(WRITE_ATTEMPTS):
            try:
                await self._write(
                    lambda: claim.delete(if_conditions={"user_id": uid}, timeout=self.timeout)
                )
                return True
            except _Ambiguous:
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
                await self._write(lambda: profile.insert(timeout=self.timeout))
                return True  # applied, or already there from our own earlier attempt
            except _Ambiguous:
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
                result = await self._write(
                    lambda: claim.update(
                        if_conditions={"user_id": uid},
                        ttl=0,
                        user_id=uid,
                        username=username,
                        state="active",
                        claimed_at=now,
                    )
                )
            except (_Ambiguous, DatabaseUnavailable):
                try:
                    owner = await self.get_email_owner(email)
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
                owner = await self.get_email_owner(email)
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
            lambda: row.delete(if_conditions={"user_id": uid}, timeout=self.timeout),
            lambda: profile.delete(if_exists=True, timeout=self.timeout),
        ):
            with contextlib.suppress(_Ambiguous, DatabaseUnavailable):
                await self._write(write)

    # ----------------------------------------------------------------------------------------
    # Delete

    async def delete_user(self, username: str) -> DeleteOutcome:
        try:
            name = normalize_username(username)
        except ValidationError as exc:
            return Invalid(exc.field, exc.message)
        current = await self.get_user_serial(name)
        if current is None:
            return NotFound("user", name)
        uid = current.user_id
        row = self.models.registration(
            username=name, email="", display_name="", dimension="", user_id=uid
        )
        # The commit point: only this identity; a name re-registered meanwhile is not touched.
        deleted = timed_out = False
        for _ in range(WRITE_ATTEMPTS):
            try:
                result = await self._write(
                    lambda: row.delete(if_conditions={"user_id": uid}, timeout=self.timeout)
                )
            except _Ambiguous as exc:
                timed_out = True
                now = await self._resolve(lambda: self.get_user_serial(name))
                if isinstance(now, Unknown):
                    return Unknown("delete", name, f"{exc}; {now.reason}")
                if now is not None and now.user_id == uid:
                    continue  # still there: our delete has not applied (yet)
                deleted = True  # this identity is gone (by us or a concurrent delete)
                break
            if not result.applied:
                # This identity is gone. After a timed-out attempt that is most likely our own
                # delete landing late; either way its profile and claim must not be orphaned.
                leftovers = await self._cleanup_after_delete(current)
                return Deleted(current, leftovers) if timed_out else NotFound("user", name)
            deleted = True
            break
        if not deleted:
            return Unknown("delete", name, "the delete kept timing out")
        leftovers = await self._cleanup_after_delete(current)
        return Deleted(current, leftovers)

    async def _cleanup_after_delete(self, user: UserRecord) -> tuple[str, ...]:
        uid = user.user_id
        profile = self.models.profile(user_id=uid, username=user.username)
        claim = self.models.email_claim(email=user.email, user_id=uid, username=user.username)
        leftovers = []
        steps = (
            ("profile", lambda: profile.delete(if_exists=True, timeout=self.timeout)),
            (
                "e-mail claim",
                lambda: claim.delete(if_conditions={"user_id": uid}, timeout=self.timeout),
            ),
        )
        for label, write in steps:
            for _ in range(WRITE_ATTEMPTS):
                try:
                    await self._write(write)
                    break
                except (_Ambiguous, DatabaseUnavailable):
                    continue
            else:
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
        if expected >= 2**31 - 1:
            return Invalid("expected_version", "this profile cannot take another version")

        writer = uuid.uuid4()
        target = self.models.profile(user_id=uid, username="")
        values = dict(changes, version=expected + 1, updated_at=utc_now(), writer_id=writer)
        resolved = False
        for _ in range(WRITE_ATTEMPTS):
            try:
                # coodie 1.9.3 copies the values into `target` even when not applied; we never
                # read `target` back, the database's answer is the only truth.
                result = await self._write(
                    lambda: target.update(if_conditions={"version": expected}, **values)
                )
            except _Ambiguous as exc:
                row = await self._resolve(lambda: self._profile_row_serial(uid))
                if isinstance(row, Unknown):
                    return Unknown("update", str(uid), f"{exc}; {row.reason}")
                if row is None:
                    return NotFound("profile", str(uid))
                if row.version == expected + 1 and row.writer_id == writer:
                    return Updated(profile_record(row), resolved_after_timeout=True)
                if row.version == expected:
                    resolved = True
                    continue  # not applied: try again
                return VersionConflict(profile_record(row), expected)
            if result.applied:
                fresh = await self._resolve(lambda: self.get_profile(uid))
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
            # Refused. `existing` holds only the condition column (or nothing for a missing
            # row, and nulls on ScyllaDB): read the whole row at SERIAL to say why. After a
            # timed-out attempt the refusal may be our own earlier write, landed late.
            row = await self._profile_row_serial(uid)
            if row is None:
                return NotFound("profile", str(uid))
            if row.version == expected + 1 and row.writer_id == writer:
                return Updated(profile_record(row), resolved_after_timeout=True)
            return VersionConflict(profile_record(row), expected)
        return Unknown("update", str(uid), "the update kept timing out")

    async def _profile_row_serial(self, uid: uuid.UUID) -> Any:
        return await self._read_one(self.models.profile, serial=True, user_id=uid)
