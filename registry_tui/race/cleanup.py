"""After the audit: remove what the race registered, so a race leaves the registry as it found
it. Each name is deleted by identity (`DELETE ... IF user_id = ?` the holder the audit found),
with its profile and e-mail claim, through the registry's own delete: a name that someone
outside the race holds by then is never touched. Attempts whose outcome was unknown may have
left a name or an e-mail claim of their own: both are released by that attempt's identity.

`registry race --cleanup RUN_ID` does the same afterwards for a run that could not (stopped
hard, killed, kept), finding what it left by reading every registration and claim page by
page: the run id is in every name and e-mail a race writes."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.outcomes import (
    CleanupFinished,
    Deleted,
    EmailOwner,
    NotFound,
    Unknown,
    UserRecord,
)
from registry_tui.core.registry import Registry
from registry_tui.core.validation import ValidationError
from registry_tui.race.plan import Contender
from registry_tui.race.report import Cleanup

CLEANUP_CONCURRENCY = 16
PAGE_SIZE = 500  # rows per page when `cleanup_run` reads every registration and claim


async def remove_registrations(
    registry: Registry, held: dict[int, UserRecord], username: Callable[[int], str]
) -> Cleanup:
    gate = asyncio.Semaphore(CLEANUP_CONCURRENCY)
    removed = gone = 0
    failed: list[str] = []

    async def remove(race: int, holder: UserRecord) -> None:
        nonlocal removed, gone
        name = username(race)
        async with gate:
            try:
                outcome = await registry.delete_user(name, user_id=holder.user_id)
            except DatabaseUnavailable as exc:
                failed.append(f"{name}: {exc.message}")
                return
        if isinstance(outcome, Deleted) and not outcome.leftovers:
            removed += 1
        elif isinstance(outcome, Deleted):
            failed.append(f"{name}: not confirmed: {', '.join(outcome.leftovers)}")
        elif isinstance(outcome, (NotFound, CleanupFinished)):
            gone += 1  # deleted since the audit (by identity: another holder is left alone)
        elif isinstance(outcome, Unknown) and outcome.gone:
            # Gone, with its profile and claim, but after an ambiguous try: whether by this
            # clean-up or by another delete cannot be told, so it is not counted as removed.
            gone += 1
        else:
            failed.append(f"{name}: {type(outcome).__name__}")

    await asyncio.gather(*(remove(race, holder) for race, holder in held.items()))
    return Cleanup(kept=False, removed=removed, already_gone=gone, failed=tuple(sorted(failed)))


async def release_in_doubt(
    registry: Registry, in_doubt: Sequence[Contender], not_before: float = 0.0
) -> Cleanup:
    """What attempts whose outcome was unknown may have left, removed by their identity:
    the name, should one of them hold it after all (`DELETE ... IF user_id = ?`, with its
    profile and claim), and the e-mail claim it may have taken (released only while that
    identity holds it and its registration does not). A name or a claim that another
    identity holds is never touched.

    `not_before` (time.monotonic()): when no request of these attempts can still be running
    on a server; the clean-up waits for it, so a late write cannot land after it."""
    wait = not_before - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)
    gate = asyncio.Semaphore(CLEANUP_CONCURRENCY)
    removed = released = 0
    failed: list[str] = []

    async def release(c: Contender) -> None:
        nonlocal removed, released
        async with gate:
            try:
                outcome = await registry.delete_user(c.username, user_id=c.user_id)
                if isinstance(outcome, Deleted) or (isinstance(outcome, Unknown) and outcome.gone):
                    removed += 1
                elif not isinstance(outcome, (NotFound, CleanupFinished)):
                    failed.append(f"{c.username} ({c.label}): {type(outcome).__name__}")
                # Not `released += await ...`: that reads the count before the await.
                freed = await registry.release_orphan_claim(c.email, user_id=c.user_id)
                released += freed
            except DatabaseUnavailable as exc:
                failed.append(f"{c.username} ({c.label}): {exc.message}")

    await asyncio.gather(*(release(c) for c in in_doubt))
    return Cleanup(
        kept=False, removed=removed, failed=tuple(sorted(failed)), claims_released=released
    )


def merged(first: Cleanup, second: Cleanup) -> Cleanup:
    """Two clean-ups of one run as one."""
    return Cleanup(
        kept=first.kept and second.kept,
        removed=first.removed + second.removed,
        already_gone=first.already_gone + second.already_gone,
        failed=tuple(sorted(first.failed + second.failed)),
        claims_released=first.claims_released + second.claims_released,
    )


# ------------------------------------------------------------------------------------------
# After a run that could not clean up (stopped hard, killed, kept): `registry race --cleanup`.

RACE_RUN_ID = re.compile(r"^[0-9a-f]{8}$")  # Roster.run_id: land-grab and siege names
CHURN_RUN_ID = re.compile(r"^[0-9a-f]{6}$")  # Churn.run_id


def parse_run_id(run_id: str) -> str:
    """A race's run id (8 hex digits) or a churn's (6), as the run printed it."""
    value = run_id.strip().lower()
    if not (RACE_RUN_ID.match(value) or CHURN_RUN_ID.match(value)):
        raise ValidationError(
            "cleanup",
            "a run id is the 8 hex digits of a race (race-ID-… / siege-ID-…) "
            "or the 6 of a churn (chID-n…)",
        )
    return value


def race_registration(user: UserRecord | EmailOwner, run_id: str) -> bool:
    """Whether `user` (a registration, or an e-mail claim) is one a race of `run_id` made:
    its name carries the run id and its e-mail is the one that race gives its hero or a
    clone for that very name."""
    name = user.username.lower()
    if not (name.startswith(f"race-{run_id}-") or name.startswith(f"siege-{run_id}-")):
        return False
    email = user.email.lower()
    hero = email.startswith(f"{name}@coodie-corps.")
    clone = email.startswith("doppel9-") and f".{name}@clones." in email
    return hero or clone


async def cleanup_run(
    registry: Registry,
    run_id: str,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> Cleanup:
    """Remove, by identity, what the run `run_id` left registered (and, for a churn, the
    e-mail claims its unknowns left). A race's names are found by reading every
    registration one page at a time (its row count is not known afterwards); a churn's
    are its few fixed names, read one by one."""
    run_id = parse_run_id(run_id)
    if CHURN_RUN_ID.match(run_id):
        return await _cleanup_churn(registry, run_id)
    held: dict[int, UserRecord] = {}
    names: list[str] = []
    seen = 0
    async for user in registry.iter_users(page_size=PAGE_SIZE):
        seen += 1
        if on_progress is not None and seen % 1000 == 0:
            on_progress(seen)
        if race_registration(user, run_id):
            held[len(names)] = user
            names.append(user.username)
    done = await remove_registrations(registry, held, names.__getitem__)
    # Then the e-mail claims the run's unknown attempts left (their registrations never held
    # a name): each released only while its own identity holds it and holds no name.
    released = 0
    failed = list(done.failed)
    async for claim in registry.iter_email_claims(PAGE_SIZE):
        if not race_registration(claim, run_id):
            continue
        try:
            released += await registry.release_orphan_claim(claim.email, user_id=claim.user_id)
        except DatabaseUnavailable as exc:
            failed.append(f"{claim.email}: {exc.message}")
    return replace(done, failed=tuple(sorted(failed)), claims_released=released)


async def _cleanup_churn(registry: Registry, run_id: str) -> Cleanup:
    # The churn's names and addresses (see race/churn.py); it never uses more than KEYS_MAX.
    from registry_tui.race.churn import KEYS_MAX

    held: dict[int, UserRecord] = {}
    names: list[str] = []
    for i in range(KEYS_MAX):
        name = f"ch{run_id}-n{i}"
        holder = await registry.get_user_serial(name)
        if holder is not None and holder.email.lower().startswith(f"ch{run_id}.e"):
            held[len(names)] = holder
            names.append(name)
    done = await remove_registrations(registry, held, names.__getitem__)
    released = 0
    failed = list(done.failed)
    for i in range(KEYS_MAX):
        email = f"ch{run_id}.e{i}@example.org"
        try:
            released += await registry.release_orphan_claim(email)
        except DatabaseUnavailable as exc:
            failed.append(f"{email}: {exc.message}")
    return Cleanup(
        kept=False,
        removed=done.removed,
        already_gone=done.already_gone,
        failed=tuple(sorted(failed)),
        claims_released=released,
    )
