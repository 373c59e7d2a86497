"""`registry adopt`: bring a keyspace of the coodie demo's layout, or of this project's v1, to v2.

Every data write is conditional and every step is decided from what the database holds now, so
a run that stops anywhere (killed, database gone) leaves rows a re-run finishes:
1. DDL that only adds: CREATE TABLE IF NOT EXISTS (email_claims, registry_meta), ALTER TABLE ADD
   (username_typed, writer_id, email_typed).
2. Every registration is read (paged) and grouped by the canonical form of its name. The
   earliest registration (registered_at, then user_id) of a group keeps the name: when its row
   is keyed by the name as typed (the demo's layout), it is copied to the canonical key
   (INSERT IF NOT EXISTS, same user_id and registered_at, the typed name kept in
   username_typed), then its old row is removed (DELETE IF user_id = it). The others are
   conflicts: never deleted, they stay readable where they are and are listed.
3. Every e-mail is claimed (INSERT IF NOT EXISTS) for the earliest registration holding it;
   the later ones are conflicts.
4. A registration that keeps its name and has no profile gets one at version 1 (INSERT IF NOT
   EXISTS); an existing profile is never touched: it keeps its version.
5. ('schema_version', '2') is written IF NOT EXISTS: writes are allowed from then on, since the
   conflicts that remain can no longer make a second identity (their names and e-mails are held).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeVar

from cassandra.query import SimpleStatement

from registry_tui.core.errors import DatabaseUnavailable, is_unavailable_error
from registry_tui.core.models import utc_now
from registry_tui.core.registration import PENDING_CLAIM_TTL_S
from registry_tui.core.rows import (
    AmbiguousWrite,
    ConditionalWrite,
    DatabaseRows,
    RowStore,
    WriteStep,
    aware,
)
from registry_tui.core.schema import (
    CLAIMS,
    REGISTRATIONS,
    Kind,
    Layout,
    detect_layout,
    record_schema_version,
    remember,
    sync_v2_tables,
)
from registry_tui.core.store import Connection
from registry_tui.core.validation import ValidationError, normalize_email, normalize_username

SCAN_PAGE = 500
# Rows adopted at once. Every step of a row is decided from what the database holds and
# touches only that row's name, e-mail or profile, so rows are independent within a phase.
ADOPT_CONCURRENCY = 32

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Conflict:
    """A registration that could not be adopted as it is; it stays readable where it is."""

    kind: str  # username | email | invalid
    username: str  # as shown (typed)
    user_id: uuid.UUID | None
    value: str  # the name or e-mail in dispute
    kept_by: str  # the registration that keeps it (or why none can)

    def as_document(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "username": self.username,
            "user_id": str(self.user_id) if self.user_id else None,
            "value": self.value,
            "kept_by": self.kept_by,
        }


@dataclass
class AdoptionReport:
    keyspace: str
    layout: str
    dry_run: bool
    rows_seen: int = 0
    adopted: int = 0
    already_current: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    schema_version: str | None = None

    def as_document(self) -> dict[str, Any]:
        return {
            "keyspace": self.keyspace,
            "layout": self.layout,
            "dry_run": self.dry_run,
            "rows_seen": self.rows_seen,
            "adopted": self.adopted,
            "already_current": self.already_current,
            "conflicts": [c.as_document() for c in self.conflicts],
            "schema_version": self.schema_version,
        }


class AdoptionRefused(Exception):
    """Nothing to adopt here (the keyspace is missing): one line, nothing written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Row:
    key: str  # the partition key as stored
    typed: str  # the name as typed (username_typed, else the key)
    email: str
    display_name: str
    dimension: str
    registered_at: datetime
    user_id: uuid.UUID

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.registered_at, str(self.user_id))


Progress = Callable[[str], None]


def _ignore(*_: object) -> None:
    return None


@dataclass
class Watch:
    """How a caller follows an adoption: `steps` hears each phase begin and end (a few lines),
    `rows` each change made to a row (a line per write: `registry adopt --verbose`), and
    `phase(name, total)` then `advance(count)` drive one progress bar, phase by phase."""

    steps: Progress = _ignore
    rows: Progress = _ignore
    phase: Callable[[str, int], None] = _ignore
    advance: Callable[[int], None] = _ignore


async def _each(
    items: Sequence[T],
    concurrency: int,
    step: Callable[[T], Awaitable[R]],
    advance: Callable[[int], None],
) -> list[R]:
    """step(item) for every item, at most `concurrency` at once; the results in the items'
    order (so reports do not depend on timing). After a failure no item is started; the ones
    in flight end, then the first failure is raised: a re-run decides every step again."""
    results: list[Any] = [None] * len(items)
    position = 0
    failures: list[Exception] = []

    async def worker() -> None:
        nonlocal position
        while not failures and position < len(items):
            index = position
            position += 1
            try:
                results[index] = await step(items[index])
            except Exception as exc:
                failures.append(exc)
                return
            advance(1)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(items)))))
    if failures:
        raise failures[0]
    return results


async def _scan(connection: Connection) -> list[_Row]:
    """Every registration row, read page by page through the driver (a maintenance scan)."""
    query = f"SELECT * FROM {connection.settings.keyspace}.{REGISTRATIONS}"
    timeout = connection.settings.request_timeout * 2

    def run() -> list[_Row]:
        statement = SimpleStatement(query, fetch_size=SCAN_PAGE)
        rows = []
        for row in connection.session.execute(statement, timeout=timeout):

            def get(name: str, row: Any = row) -> Any:
                return row.get(name) if isinstance(row, dict) else getattr(row, name, None)

            rows.append(
                _Row(
                    key=get("username"),
                    typed=get("username_typed") or get("username"),
                    email=get("email") or "",
                    display_name=get("display_name") or "",
                    dimension=get("dimension") or "",
                    registered_at=aware(get("registered_at")) or utc_now(),
                    user_id=get("user_id"),
                )
            )
        return rows

    try:
        return await asyncio.to_thread(run)
    except Exception as exc:
        if is_unavailable_error(exc):
            raise DatabaseUnavailable.from_error(exc, connection.settings.describe()) from None
        raise


class _Adoption:
    def __init__(
        self, connection: Connection, store: RowStore, dry_run: bool, progress: Progress
    ) -> None:
        # `progress`: one line per change to a row.
        self.connection = connection
        self.models = connection.models
        self.store = store
        self.dry_run = dry_run
        # A dry run tells what it would do, in the same words.
        self.progress = (lambda line: progress(f"would: {line}")) if dry_run else progress
        self.changed: set[uuid.UUID] = set()  # identities this run wrote (or would write)
        self.has_claims = True

    async def write(self, write: ConditionalWrite) -> Any:
        """One conditional write; None in a dry run. An ambiguous failure stops the run: every
        step is decided from the rows again on the next run, so stopping is always safe."""
        if self.dry_run:
            return None
        try:
            return await self.store.write(write)
        except AmbiguousWrite as exc:
            raise DatabaseUnavailable(
                f"a write did not answer ({exc}); run `registry adopt` again to finish",
                self.connection.settings.describe(),
            ) from None

    async def place_name(self, key: str, holder: _Row, copies: list[_Row]) -> bool:
        """Make `holder` reachable at its canonical `key` and remove its other copies.
        False when the canonical key turned out to hold someone else."""
        if not any(r.key == key for r in copies):
            self.changed.add(holder.user_id)
            self.progress(f"moving {holder.typed} to its canonical key {key}")
            row = self.models.registration(
                username=key,
                email=holder.email,
                display_name=holder.display_name,
                dimension=holder.dimension,
                registered_at=holder.registered_at,
                user_id=holder.user_id,
                username_typed=holder.typed,
            )
            result = await self.write(
                ConditionalWrite(
                    WriteStep.INSERT_REGISTRATION, row, lambda t: row.insert(timeout=t)
                )
            )
            if result is not None and not result.applied:
                existing = result.existing or {}
                if existing.get("user_id") not in (None, holder.user_id):
                    return False
        for old in copies:
            if old.key == key:
                continue
            self.changed.add(holder.user_id)
            self.progress(f"removing the old row {old.key} (now at {key})")
            stale = self.models.registration(
                username=old.key, email="", display_name="", dimension="", user_id=old.user_id
            )
            uid = old.user_id
            await self.write(
                ConditionalWrite(
                    WriteStep.DELETE_REGISTRATION,
                    stale,
                    lambda t, stale=stale, uid=uid: stale.delete(  # type: ignore[misc]
                        if_conditions={"user_id": uid}, timeout=t
                    ),
                )
            )
        return True

    async def claim_email(self, email: str, owner: _Row, home: str) -> uuid.UUID | None:
        """Claim `email` for `owner` (registered at key `home`). Returns the user_id that
        holds the claim afterwards (None: undecided, e.g. a dry run on a demo keyspace)."""
        claim = self.models.email_claim(
            email=email,
            user_id=owner.user_id,
            username=home,
            state="active",
            claimed_at=owner.registered_at,
            email_typed=owner.email,
        )
        current: Any = None
        if not self.dry_run:
            # The claim first: on an address nobody claimed (the common case) it is the only
            # round; refused, it answers the claim that holds the address, as a read would.
            result = await self.write(self._claim(claim))
            if result.applied:
                self.changed.add(owner.user_id)
                self.progress(f"claimed {email} for {owner.typed}")
                return owner.user_id
            existing = result.existing or {}
            if existing.get("user_id") is None:  # an answer without the row: read it
                current = await self.store.read_one(
                    self.models.email_claim, serial=True, email=email
                )
            else:
                current = SimpleNamespace(
                    user_id=existing["user_id"],
                    username=existing.get("username") or "",
                    claimed_at=existing.get("claimed_at"),
                )
        elif self.has_claims:
            current = await self.store.read_one(self.models.email_claim, serial=True, email=email)
        if current is not None and current.user_id == owner.user_id:
            return owner.user_id
        if current is not None:
            holder = await self.store.read_one(
                self.models.registration, serial=True, username=current.username
            )
            if holder is not None and holder.user_id == current.user_id:
                return current.user_id  # a valid claim: it was there first
            claimed_at = aware(current.claimed_at)
            if claimed_at and (utc_now() - claimed_at).total_seconds() < PENDING_CLAIM_TTL_S:
                return current.user_id  # may still be a registration in flight
            self.progress(f"releasing a stale claim on {email}")
            stale = self.models.email_claim(email=email, user_id=current.user_id, username="")
            other = current.user_id
            await self.write(
                ConditionalWrite(
                    WriteStep.RELEASE_CLAIM,
                    stale,
                    lambda t: stale.delete(if_conditions={"user_id": other}, timeout=t),
                )
            )
        self.changed.add(owner.user_id)
        self.progress(f"claiming {email} for {owner.typed}")
        result = await self.write(self._claim(claim))
        if result is None:
            return owner.user_id  # dry run: it would be claimed
        if result.applied:
            return owner.user_id
        existing = result.existing or {}
        holder_id = existing.get("user_id")
        return holder_id if isinstance(holder_id, uuid.UUID) else None

    @staticmethod
    def _claim(claim: Any) -> ConditionalWrite:
        return ConditionalWrite(WriteStep.CLAIM_EMAIL, claim, lambda t: claim.insert(timeout=t))

    async def ensure_profile(self, owner: _Row) -> None:
        found = await self.store.read_one(self.models.profile, user_id=owner.user_id)
        if found is not None:
            return  # kept as it is, with its version
        self.changed.add(owner.user_id)
        self.progress(f"creating the missing profile of {owner.typed}")
        profile = self.models.profile(
            user_id=owner.user_id,
            username=owner.typed,
            bio=None,
            status="active",
            version=1,
            updated_at=owner.registered_at,
            writer_id=owner.user_id,
        )
        await self.write(
            ConditionalWrite(WriteStep.CREATE_PROFILE, profile, lambda t: profile.insert(timeout=t))
        )


async def adopt(
    connection: Connection,
    *,
    dry_run: bool = False,
    store: RowStore | None = None,
    progress: Progress | None = None,
    watch: Watch | None = None,
    concurrency: int = ADOPT_CONCURRENCY,
) -> AdoptionReport:
    """Bring the connection's keyspace to schema v2 (see the module's docstring). `progress`
    hears every line (phases and rows); `watch` tells them apart and drives a progress bar."""
    if watch is None:
        watch = Watch(steps=progress, rows=progress) if progress is not None else Watch()
    try:
        return await _adopt(connection, dry_run, store, watch, max(1, concurrency))
    except DatabaseUnavailable as exc:
        if "registry adopt" in exc.message:
            raise
        raise DatabaseUnavailable(
            f"{exc.message}; what was done stays done: run `registry adopt` again to finish",
            exc.hosts,
        ) from None


async def _adopt(
    connection: Connection,
    dry_run: bool,
    store: RowStore | None,
    watch: Watch,
    concurrency: int,
) -> AdoptionReport:
    layout = await detect_layout(connection)  # ForeignSchema: refused, nothing written
    keyspace = connection.settings.keyspace
    if layout.kind is Kind.MISSING:
        raise AdoptionRefused(f"keyspace {keyspace} does not exist: nothing to adopt")
    report = AdoptionReport(keyspace, layout.kind.value, dry_run)
    if layout.kind is Kind.FRESH:
        raise AdoptionRefused(f"keyspace {keyspace} holds no registry tables: nothing to adopt")
    job = _Adoption(connection, store or DatabaseRows(connection), dry_run, watch.rows)
    progress = watch.steps
    if not dry_run and layout.kind is not Kind.V2:
        progress("adding the v2 tables and columns (nothing is removed)")
        await sync_v2_tables(connection)
    tables = connection.cluster.metadata.keyspaces[keyspace].tables
    job.has_claims = CLAIMS in tables

    progress(f"reading every registration of {keyspace}")
    rows = await _scan(connection)
    report.rows_seen = len(rows)
    progress(f"{len(rows)} registration rows read")

    # Group by the canonical name; copies of one identity (a move cut short) stay together.
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        try:
            key = normalize_username(row.key)
        except ValidationError as exc:
            report.conflicts.append(
                Conflict("invalid", row.key, row.user_id, row.key, f"not adoptable: {exc.message}")
            )
            continue
        groups.setdefault(key, []).append(row)

    async def place(key: str) -> tuple[list[Conflict], list[tuple[str, _Row]]]:
        """One canonical name: who keeps it, and every identity that stays readable."""
        group = groups[key]
        identities: dict[uuid.UUID, list[_Row]] = {}
        for row in group:
            identities.setdefault(row.user_id, []).append(row)
        first = {uid: min(copies, key=lambda r: r.order) for uid, copies in identities.items()}
        at_key = next((r for r in group if r.key == key), None)
        earliest = min(first.values(), key=lambda r: r.order)
        # A later registration already at the canonical key keeps it: moving it away would
        # mean deleting it. The earlier one is listed, as every loser is.
        winner = first[at_key.user_id] if at_key is not None else earliest
        if not await job.place_name(key, winner, identities[winner.user_id]):
            conflict = Conflict(
                "username", winner.key, winner.user_id, key, "held by another user_id"
            )
            return [conflict], []
        conflicts, kept = [], [(key, winner)]
        for uid, row in first.items():
            if uid == winner.user_id:
                continue
            conflicts.append(Conflict("username", row.typed, uid, key, winner.typed))
            kept.append((row.key, row))  # stays readable at its key; its e-mail is held too
        return conflicts, kept

    names = sorted(groups)
    progress(f"names: {len(names)} to place at their canonical keys")
    watch.phase("names", len(names))
    holders: list[tuple[str, _Row]] = []  # (home key, row) of every identity kept readable
    for conflicts, kept in await _each(names, concurrency, place, watch.advance):
        report.conflicts.extend(conflicts)
        holders.extend(kept)

    # E-mails: the earliest registration holding an address claims it.
    by_email: dict[str, list[tuple[str, _Row]]] = {}
    for home, row in holders:
        try:
            email = normalize_email(row.email)
        except ValidationError as exc:
            report.conflicts.append(
                Conflict("invalid", row.key, row.user_id, row.email, f"e-mail: {exc.message}")
            )
            continue
        by_email.setdefault(email, []).append((home, row))

    async def claim(email: str) -> list[Conflict]:
        claimants = sorted(by_email[email], key=lambda hr: hr[1].order)
        home, first_row = claimants[0]
        holder_id = await job.claim_email(email, first_row, home)
        kept_by = next((r.typed for _, r in claimants if r.user_id == holder_id), "another user")
        return [
            Conflict("email", row.typed, row.user_id, email, kept_by)
            for _, row in claimants
            if row.user_id != holder_id
        ]

    emails = sorted(by_email)
    progress(f"e-mails: {len(emails)} to claim")
    watch.phase("e-mails", len(emails))
    for conflicts in await _each(emails, concurrency, claim, watch.advance):
        report.conflicts.extend(conflicts)

    name_losers = {c.user_id for c in report.conflicts if c.kind == "username"}
    owners = [row for _home, row in holders if row.user_id not in name_losers]
    progress(f"profiles: {len(owners)} to check")
    watch.phase("profiles", len(owners))
    await _each(owners, concurrency, job.ensure_profile, watch.advance)

    identities_seen = {row.user_id for _, row in holders}
    conflicted = {c.user_id for c in report.conflicts}
    report.adopted = len(job.changed & identities_seen)
    report.already_current = len(identities_seen - job.changed - conflicted)
    if not dry_run:
        await record_schema_version(connection)
        report.schema_version = "2"
        remember(connection, Layout(Kind.V2, keyspace))
        progress("schema version 2 recorded")
    else:
        report.schema_version = "2" if layout.kind is Kind.V2 else None
    return report
