"""After the audit: remove what the race registered, so a race leaves the registry as it found
it. Each name is deleted by identity (`DELETE ... IF user_id = ?` the holder the audit found),
with its profile and e-mail claim, through the registry's own delete: a name that someone
outside the race holds by then is never touched."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.outcomes import Deleted, NotFound, Unknown, UserRecord
from registry_tui.core.registry import Registry
from registry_tui.core.validation import ValidationError
from registry_tui.race.report import Cleanup

CLEANUP_CONCURRENCY = 16


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
        elif isinstance(outcome, NotFound):
            gone += 1  # deleted since the audit (by identity: another holder is left alone)
        elif isinstance(outcome, Unknown) and outcome.gone:
            # Gone, with its profile and claim, but after an ambiguous try: whether by this
            # clean-up or by another delete cannot be told, so it is not counted as removed.
            gone += 1
        else:
            failed.append(f"{name}: {type(outcome).__name__}")

    await asyncio.gather(*(remove(race, holder) for race, holder in held.items()))
    return Cleanup(kept=False, removed=removed, already_gone=gone, failed=tuple(sorted(failed)))


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


def race_registration(user: UserRecord, run_id: str) -> bool:
    """Whether `user` is one a race of `run_id` registered: its name carries the run id and
    its e-mail is the one that race gives its hero or a clone for that very name."""
    name = user.username
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
    async for user in registry.iter_users():
        seen += 1
        if on_progress is not None and seen % 1000 == 0:
            on_progress(seen)
        if race_registration(user, run_id):
            held[len(names)] = user
            names.append(user.username)
    return await remove_registrations(registry, held, names.__getitem__)


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
