"""After the audit: remove what the race registered, so a race leaves the registry as it found
it. Each name is deleted by identity (`DELETE ... IF user_id = ?` the holder the audit found),
with its profile and e-mail claim, through the registry's own delete: a name that someone
outside the race holds by then is never touched."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from registry_tui.core.errors import DatabaseUnavailable
from registry_tui.core.outcomes import Deleted, NotFound, Unknown, UserRecord
from registry_tui.core.registry import Registry
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
