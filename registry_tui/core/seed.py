"""The demo's seed story, run concurrently: heroes register, Doppel-9's clones try to take
their names, and every hero's profile is checked at version 1. No Rich, no Textual: the
figures come from real outcomes, and a view renders the events."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from registry_tui.core.outcomes import EmailTaken, Registered, Unknown, UsernameTaken, UserRecord
from registry_tui.core.registry import Registry
from registry_tui.core.story import (
    BIO_TEMPLATES,
    CLONE_DIMENSION,
    HERO_PREFIXES,
    HERO_SUFFIXES,
    STATUS_POOL,
    STORY_DIMENSIONS,
    clone_count,
    clone_display_name,
)

Phase = Literal["heroes", "clones", "profiles"]


@dataclass(frozen=True)
class Hero:
    username: str
    email: str
    display_name: str
    dimension: str
    bio: str
    status: str


def hero(rng: random.Random) -> Hero:
    """A hero as the demo's seed draws one: `Agent-Cipher-007`, of one of its 12 dimensions,
    with an address made from the name, a bio from its templates and a status from its pool."""
    name = f"{rng.choice(HERO_PREFIXES)}-{rng.choice(HERO_SUFFIXES)}-{rng.randint(1, 999):03d}"
    dimension = rng.choice(STORY_DIMENSIONS)
    return Hero(
        username=name,
        email=f"{name.lower()}@coodie-corps.{dimension.lower()}.galaxy",
        display_name=f"{rng.choice(HERO_PREFIXES)} {rng.choice(HERO_SUFFIXES)}",
        dimension=dimension,
        bio=rng.choice(BIO_TEMPLATES).replace("{dim}", dimension),
        status=rng.choice(STATUS_POOL),
    )


@dataclass(frozen=True)
class SeedEvent:
    phase: Phase
    name: str
    result: str  # registered | collision | unknown | blocked | slipped | profile | missing


@dataclass
class SeedReport:
    registered: int = 0
    collisions: int = 0
    unknown: int = 0
    clones_attempted: int = 0
    clones_blocked: int = 0
    clones_slipped: int = 0
    profiles: int = 0
    dimensions: int = 0
    seconds: float = 0.0
    duels: list[tuple[str, str, str]] = field(default_factory=list)  # (name, hero, clone)

    def as_document(self) -> dict[str, object]:
        return {
            "registered": self.registered,
            "collisions": self.collisions,
            "unknown": self.unknown,
            "clones_attempted": self.clones_attempted,
            "clones_blocked": self.clones_blocked,
            "clones_slipped": self.clones_slipped,
            "profiles": self.profiles,
            "dimensions": self.dimensions,
            "seconds": round(self.seconds, 3),
        }


async def run_seed(
    registry: Registry,
    count: int = 40,
    concurrency: int = 32,
    on_event: Callable[[SeedEvent], None] = lambda event: None,
    random_seed: int | None = None,
) -> SeedReport:
    """`random_seed` makes the heroes, their bios and the clones' targets the same on every
    run (tests); without it each run draws new heroes, as the demo's seed does."""
    rng = random.Random(random_seed)
    heroes = [hero(rng) for _ in range(count)]
    report = SeedReport()
    started = time.perf_counter()
    gate = asyncio.Semaphore(concurrency)
    registered: dict[str, uuid.UUID] = {}
    held: dict[str, str] = {}  # username -> who holds it (display name)
    dimensions: set[str] = set()

    async def register_hero(h: Hero) -> None:
        async with gate:
            outcome = await registry.register(
                h.username, h.email, h.display_name, h.dimension, bio=h.bio, status=h.status
            )
        if isinstance(outcome, Registered):
            report.registered += 1
            registered[outcome.user.username] = outcome.user.user_id
            held[outcome.user.username] = outcome.user.display_name
            dimensions.add(outcome.user.dimension)
            on_event(SeedEvent("heroes", h.username, "registered"))
        elif isinstance(outcome, UsernameTaken):
            report.collisions += 1
            held[outcome.existing.username] = outcome.existing.display_name
            on_event(SeedEvent("heroes", h.username, "collision"))
        elif isinstance(outcome, EmailTaken):
            # The e-mail is claimed before the name, so a re-run collides here first; the
            # name may still be held (by this hero from an earlier seed): clones will try it.
            report.collisions += 1
            async with gate:
                holder = await registry.get_user(h.username)
            if isinstance(holder, UserRecord):
                held[holder.username] = holder.display_name
            on_event(SeedEvent("heroes", h.username, "collision"))
        else:
            report.unknown += 1
            on_event(SeedEvent("heroes", h.username, "unknown"))

    await asyncio.gather(*(register_hero(h) for h in heroes))

    # Phase 2: Doppel-9 clones the names heroes hold; IF NOT EXISTS must block every one.
    targets = sorted(held)
    clones = clone_count(count) if targets else 0
    picks = rng.sample(targets, min(clones, len(targets))) if targets else []
    run = f"{rng.getrandbits(32):08x}"

    async def send_clone(number: int, target: str) -> None:
        async with gate:
            outcome = await registry.register(
                target,
                f"doppel9.clone-{number:04d}.{run}@mirror.void",
                clone_display_name(number),
                CLONE_DIMENSION,
            )
        report.clones_attempted += 1
        if isinstance(outcome, UsernameTaken):
            report.clones_blocked += 1
            result = "blocked"
        elif isinstance(outcome, Registered):
            report.clones_slipped += 1  # the guarantee failed: must never happen
            result = "slipped"
            await registry.delete_user(target)
        elif isinstance(outcome, Unknown):
            report.unknown += 1
            result = "unknown"
        else:
            result = type(outcome).__name__
        if len(report.duels) < 10:
            report.duels.append((target, held[target], result))
        on_event(SeedEvent("clones", target, result))

    await asyncio.gather(*(send_clone(n + 1, t) for n, t in enumerate(picks)))

    # Phase 3: every hero registered has its profile at version 1 (written by its registration
    # with its bio and status), read back to prove it.
    async def check_profile(username: str, user_id: uuid.UUID) -> None:
        async with gate:
            profile = await registry.get_profile(user_id)
        ok = getattr(profile, "version", None) == 1
        report.profiles += ok
        on_event(SeedEvent("profiles", username, "profile" if ok else "missing"))

    await asyncio.gather(*(check_profile(u, uid) for u, uid in registered.items()))
    report.dimensions = len(dimensions)
    report.seconds = time.perf_counter() - started
    return report
